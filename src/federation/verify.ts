/**
 * Verifying a token from a trusted external issuer and mapping it to a
 * Tollgate service principal. Uses jose's `jwtVerify` with:
 *
 * - `algorithms` = the issuer's allow-list (asymmetric only: `none` and HMAC
 *   can never be configured, so HS256 signed with the issuer's public key —
 *   the classic algorithm confusion — is refused before any key is touched);
 * - keys from the issuer's JWKS only (`jku`, `x5u`, `jwk`, `x5c` headers are
 *   never used), matched by `kid`/`alg`/`kty`;
 * - `iss` exactly the configured issuer; `aud` containing one of its audiences;
 *   `exp` required, `nbf`/`iat` honoured, 30 s clock tolerance; lifetime
 *   (exp − iat, or exp − now without iat) at most `maxLifetimeSeconds`;
 * - `typ` must not be Tollgate's own assertion or access token type.
 *
 * Failures are `TollgateError('unauthenticated')` with a reason code in
 * `details.tokenProblem` (for logs), never the token or its claims.
 */
import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { TollgateError } from '../errors.js';
import type { KeyResolver } from './jwks.js';
import { mapClaims } from './mapping.js';
import type { TrustedIssuer } from './model.js';

const TOLERANCE = 30;
const MAX_TOKEN_LENGTH = 16 * 1024;
const FORBIDDEN_TYP = new Set(['tollgate-assertion+jwt', 'at+jwt', 'application/at+jwt']);

export interface ExternalIdentity {
  /** The mapped service id (principal `service:<service>`). */
  service: string;
  issuerId: string;
  /** The token's `sub`, if any (audit). */
  externalSubject?: string;
  iat?: number;
  exp: number;
  payload: JWTPayload;
}

function refuse(why: string, cause?: unknown): TollgateError {
  const c = cause instanceof Error ? Object.assign(new Error((cause as { code?: string }).code ?? cause.name), { name: cause.name }) : undefined;
  return new TollgateError('unauthenticated', 'the bearer token is not valid', { cause: c, details: { tokenProblem: why } });
}

/** Verify `token` as issued by `issuer` at `now` (epoch ms) and map it to a service. */
export async function verifyExternalToken(token: string, issuer: TrustedIssuer, keys: KeyResolver, now: number): Promise<ExternalIdentity> {
  if (issuer.disabled) throw refuse('issuer-disabled');
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) throw refuse('malformed');
  let payload: JWTPayload;
  let typ: string | undefined;
  try {
    const r = await jwtVerify(token, keys, {
      algorithms: issuer.algorithms,
      issuer: issuer.issuer,
      audience: issuer.audiences,
      currentDate: new Date(now),
      clockTolerance: TOLERANCE,
      requiredClaims: ['exp'],
    });
    payload = r.payload;
    typ = r.protectedHeader.typ;
  } catch (cause) {
    const why = cause instanceof joseErrors.JWTExpired ? 'expired' : cause instanceof joseErrors.JOSEError ? cause.code : 'invalid';
    throw refuse(why, cause);
  }
  if (typ !== undefined && FORBIDDEN_TYP.has(typ.toLowerCase())) throw refuse('typ');
  const nowS = Math.floor(now / 1000);
  const exp = payload.exp!;
  const iat = typeof payload.iat === 'number' && Number.isFinite(payload.iat) ? payload.iat : undefined;
  if (iat !== undefined && iat > nowS + TOLERANCE) throw refuse('issued-in-future');
  if (exp - (iat ?? nowS) > issuer.maxLifetimeSeconds) throw refuse('lifetime');
  const service = mapClaims(issuer.preset, issuer.rules, payload);
  if (service === null) throw refuse('no-mapping');
  const out: ExternalIdentity = { service, issuerId: issuer.id, exp, payload };
  if (iat !== undefined) out.iat = iat;
  if (typeof payload.sub === 'string') out.externalSubject = payload.sub.slice(0, 256);
  return out;
}
