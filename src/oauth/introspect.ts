/**
 * Token introspection (RFC 7662) at `POST /oauth/introspect`, for:
 *
 * - admins: `Authorization: Bearer <admin access token>` whose principal
 *   holds `auditor` or `admin` (the admin API's rule) — any Tollgate token;
 * - the token's own client: a service account authenticated as at the token
 *   endpoint — only tokens whose `client_id` is that client; any other token
 *   is reported as `{"active": false}`, like an unknown one (no oracle).
 *
 * Active means: a Tollgate access token (at+jwt) this gateway signed, not
 * expired, of a principal that is neither disabled nor revoked since the
 * token was issued. Assertions, external tokens and garbage are inactive.
 */
import { decodeJwt } from 'jose';
import type { GatewaySnapshot } from '../catalog/index.js';
import { accessTokenKeys, verifyAccessToken, type KeyRing } from '../token/index.js';
import type { AuthenticatedClient } from './client-auth.js';
import { MAX_SERVICE_TOKEN_LIFETIME } from './config.js';
import type { OAuthService } from './service.js';

export interface IntrospectionContext {
  oauth: OAuthService;
  origin: string;
  keyRing: KeyRing;
  snapshot: GatewaySnapshot;
  /** Epoch ms. */
  now: number;
}

export type Introspector = { kind: 'admin'; subject: string } | { kind: 'client'; client: AuthenticatedClient };

export async function introspect(token: string, who: Introspector, ctx: IntrospectionContext): Promise<Record<string, unknown>> {
  const inactive = { active: false };
  if (token.length === 0 || token.length > 16 * 1024) return inactive;
  let aud: unknown;
  try {
    ({ aud } = decodeJwt(token));
  } catch {
    return inactive;
  }
  // Every audience this gateway issues for: itself, the admin API, each workload.
  const audiences = [ctx.origin, `${ctx.origin}/admin/v1`];
  for (const a of Array.isArray(aud) ? aud : [aud]) if (typeof a === 'string' && ctx.snapshot.catalog.byId(a)) audiences.push(a);
  let claims;
  try {
    claims = await verifyAccessToken(token, accessTokenKeys(ctx.keyRing), { issuer: ctx.origin, audience: audiences, now: ctx.now });
  } catch {
    return inactive;
  }
  if (who.kind === 'client' && claims.client_id !== who.client.account.id) return inactive;
  const isService = claims.sub.startsWith('service:');
  if (isService) {
    if (claims.exp - claims.iat > MAX_SERVICE_TOKEN_LIFETIME) return inactive;
    if (!(await ctx.oauth.principals.usable(claims.sub, claims.iat))) return inactive;
  }
  const out: Record<string, unknown> = {
    active: true,
    iss: claims.iss,
    sub: claims.sub,
    aud: claims.aud,
    client_id: claims.client_id,
    token_type: 'Bearer',
    iat: claims.iat,
    exp: claims.exp,
    jti: claims.jti,
  };
  if (claims.act) out.act = claims.act;
  if (claims.email) out.email = claims.email;
  if (claims.groups.length > 0) out.groups = claims.groups;
  return out;
}
