/**
 * Workload identity federation: trusted external issuers (Entra managed and
 * workload identities, GitHub Actions, Kubernetes service accounts, any OIDC
 * issuer), their keys, and the mapping from their claims to a Tollgate
 * service principal (docs/services.md).
 */
export * from './model.js';
export { PRESETS, type PresetSpec } from './presets.js';
export { mapClaims, rulesProblem, starMatch } from './mapping.js';
export { fetchJson, publicKeys, remoteJwks, type FetchLike, type JwksCacheOptions, type KeyResolver, type RemoteJwks } from './jwks.js';
export { discoverJwksUri, type DiscoveryOptions } from './discovery.js';
export { verifyExternalToken, type ExternalIdentity } from './verify.js';
export { createIssuerRegistry, type IssuerRegistry, type IssuerRegistryOptions, type IssuerSource, type RegisteredIssuer } from './registry.js';
export { isLoopbackHost, urlProblem, type InsecureIssuers, type UrlPolicy } from './url-guard.js';
