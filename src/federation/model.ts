/** Trusted external token issuers (workload identity federation; docs/services.md). */
import type { JWK } from 'jose';

export type IssuerPreset = 'generic-oidc' | 'entra' | 'github-actions' | 'kubernetes';
export const ISSUER_PRESETS: readonly IssuerPreset[] = ['generic-oidc', 'entra', 'github-actions', 'kubernetes'];

/** Asymmetric JWS algorithms only: never `none`, never HMAC (a public key must never work as an HMAC secret). */
export const EXTERNAL_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type ExternalAlgorithm = (typeof EXTERNAL_ALGORITHMS)[number];

/** Claim patterns → a Tollgate service principal. Every listed claim must match; first matching rule wins. */
export interface MappingRule {
  /** The service id; the principal is `service:<service>`. */
  service: string;
  /** Claim name (or preset alias such as `namespace`) → pattern; `*` matches any run of characters. */
  claims: Record<string, string>;
}

export interface TrustedIssuer {
  id: string;
  preset: IssuerPreset;
  /** Compared with the token's `iss` exactly. */
  issuer: string;
  description: string;
  /** Where the keys are (given, or discovered from `<issuer>/.well-known/openid-configuration` at registration). */
  jwksUri?: string;
  /** Inline public keys (e.g. a Kubernetes cluster whose JWKS is not reachable from the edge). */
  jwks?: { keys: JWK[] };
  /** `aud` must contain at least one of these. */
  audiences: string[];
  algorithms: ExternalAlgorithm[];
  /** Longest accepted token lifetime (exp − iat), seconds. */
  maxLifetimeSeconds: number;
  rules: MappingRule[];
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
  version: number;
}
