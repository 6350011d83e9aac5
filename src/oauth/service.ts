/** Everything the token endpoint, introspection, the bearer path and the admin routes of service identity share. */
import { createIssuerRegistry, type FetchLike, type IssuerRegistry, type UrlPolicy } from '../federation/index.js';
import type { Clock, Logger } from '../platform/index.js';
import type { ClientLimiterClient } from '../ratelimit/ports.js';
import type { PrincipalStatus } from '../revocation/principals.js';
import type { ServiceStores } from '../store/services-ports.js';
import type { OAuthConfig } from './config.js';

export interface OAuthService {
  config: OAuthConfig;
  accounts: ServiceStores['accounts'];
  issuers: ServiceStores['issuers'];
  /** The hot path's cached view of the trusted issuers. */
  registry: IssuerRegistry;
  limiter: ClientLimiterClient;
  principals: PrincipalStatus;
  /** Which issuer / JWKS URLs may be fetched (ALLOW_INSECURE_ISSUERS). */
  urlPolicy: UrlPolicy;
  /** Outbound fetch for discovery and JWKS (never for upstreams). */
  fetch: FetchLike;
}

export interface OAuthServiceOptions {
  config: OAuthConfig;
  stores: ServiceStores;
  limiter: ClientLimiterClient;
  principals: PrincipalStatus;
  fetch: FetchLike;
  clock: Clock;
  logger: Logger;
  /** How often an isolate checks the trusted-issuer version (POLICY_REFRESH_SECONDS). */
  refreshSeconds: number;
}

export function createOAuthService(o: OAuthServiceOptions): OAuthService {
  const urlPolicy: UrlPolicy = { allowInsecure: o.config.allowInsecureIssuers };
  return {
    config: o.config,
    accounts: o.stores.accounts,
    issuers: o.stores.issuers,
    registry: createIssuerRegistry({
      source: o.stores.issuers,
      clock: o.clock,
      logger: o.logger,
      refreshSeconds: o.refreshSeconds,
      jwks: { fetch: o.fetch, clock: o.clock, urlPolicy, cooldownSeconds: o.config.jwksCooldownSeconds },
    }),
    limiter: o.limiter,
    principals: o.principals,
    urlPolicy,
    fetch: o.fetch,
  };
}
