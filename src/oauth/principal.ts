/**
 * Tokens that name a service principal, whichever issued them:
 *
 * - Tollgate's own access tokens (`iss` = TOLLGATE_ORIGIN, typ at+jwt, the
 *   gateway's keys, `sub` = `service:<id>`, lifetime ≤ 15 min) —
 *   `verifyAccessToken` from src/token;
 * - JWTs of a registered trusted issuer (`iss` = its issuer exactly) —
 *   `verifyExternalToken` from src/federation, mapped to `service:<id>`.
 *
 * The `iss` is read before verification only to choose between the two; it is
 * never trusted on its own. Revocation (RevocationLedger) is the caller's
 * next step, with the `iat` returned here.
 */
import { decodeJwt } from 'jose';
import { verifyExternalToken, type IssuerRegistry } from '../federation/index.js';
import { TollgateError } from '../errors.js';
import { accessTokenKeys, verifyAccessToken, type ActClaim, type KeyRing } from '../token/index.js';
import { MAX_SERVICE_TOKEN_LIFETIME } from './config.js';
import { SERVICE_ID } from './model.js';

export interface ServicePrincipal {
  /** `service:<id>` */
  subject: string;
  /** The service id (policy bindings of kind `service`). */
  service: string;
  source: 'tollgate' | 'external';
  /** Epoch seconds; undefined when an external token carries none. */
  iat?: number;
  exp: number;
  /** The token's audiences (Tollgate tokens). */
  aud: string[];
  /** Tollgate tokens: the client it was issued to. */
  clientId?: string;
  jti?: string;
  act?: ActClaim;
  /** External tokens: the trusted issuer's id and the token's own `sub`. */
  issuerId?: string;
  externalSubject?: string;
}

export interface PrincipalVerifyOptions {
  keyRing: KeyRing;
  /** TOLLGATE_ORIGIN */
  issuer: string;
  registry: IssuerRegistry | undefined;
  /** Tollgate tokens: accepted audiences (any one). External tokens are checked against their issuer's audiences. */
  audiences: string[];
  /** Epoch ms. */
  now: number;
}

function refuse(why: string): TollgateError {
  return new TollgateError('unauthenticated', 'the bearer token is not valid', { details: { tokenProblem: why } });
}

const SERVICE_SUB = /^service:(.+)$/s;

/** Verify a bearer / subject / actor token and name its service principal. Throws `TollgateError('unauthenticated')`. */
export async function verifyServiceToken(token: string, o: PrincipalVerifyOptions): Promise<ServicePrincipal> {
  if (typeof token !== 'string' || token.length === 0 || token.length > 16 * 1024) throw refuse('malformed');
  let iss: unknown;
  try {
    ({ iss } = decodeJwt(token));
  } catch {
    throw refuse('malformed');
  }
  if (typeof iss !== 'string') throw refuse('no-iss');
  if (iss === o.issuer) {
    const claims = await verifyAccessToken(token, accessTokenKeys(o.keyRing), {
      issuer: o.issuer,
      audience: o.audiences,
      now: o.now,
      maxLifetimeSeconds: MAX_SERVICE_TOKEN_LIFETIME,
    });
    const m = SERVICE_SUB.exec(claims.sub);
    if (!m || !SERVICE_ID.test(m[1]!)) throw refuse('not-a-service');
    const p: ServicePrincipal = {
      subject: claims.sub,
      service: m[1]!,
      source: 'tollgate',
      iat: claims.iat,
      exp: claims.exp,
      aud: Array.isArray(claims.aud) ? claims.aud : [claims.aud],
      clientId: claims.client_id,
      jti: claims.jti,
    };
    if (claims.act) p.act = claims.act;
    return p;
  }
  const registered = await o.registry?.lookup(iss);
  if (!registered) throw refuse('unknown-issuer');
  const id = await verifyExternalToken(token, registered.issuer, registered.keys, o.now);
  const p: ServicePrincipal = {
    subject: `service:${id.service}`,
    service: id.service,
    source: 'external',
    exp: id.exp,
    aud: [],
    issuerId: id.issuerId,
  };
  if (id.iat !== undefined) p.iat = id.iat;
  if (id.externalSubject !== undefined) p.externalSubject = id.externalSubject;
  return p;
}

/** The actor chain as a list of subjects, outermost (current actor) first. */
export function actChain(act: ActClaim | undefined): string[] {
  const out: string[] = [];
  for (let a = act; a !== undefined; a = a.act) out.push(a.sub);
  return out;
}
