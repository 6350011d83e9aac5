/**
 * CONTRACT STUB — the session helper replaces the bodies; signatures are fixed.
 * Session model and the sealed-cookie codec (jose JWE, dir + A256GCM, key per purpose via HKDF).
 */

/** All times are epoch seconds. */
export interface SessionClaims {
  /** Session id (128 random bits, base64url). */
  sid: string;
  /** Tollgate subject "user:<h>:<sub>". */
  sub: string;
  /** IdP issuer and raw `sub`. */
  iss: string;
  idpSub: string;
  email?: string;
  name?: string;
  groups: string[];
  amr?: string[];
  acr?: string;
  authTime: number;
  createdAt: number;
  /** Last activity recorded in the cookie (idle timeout). */
  seenAt: number;
  /** Absolute expiry. */
  expiresAt: number;
  /** The host (authority) this cookie was issued for; a cookie is refused on any other host. */
  host: string;
}

export type CookiePurpose = 'session' | 'auth-tx' | 'nonce';

export interface CookieCodec {
  /** Seal a JSON payload; `ttlSeconds` bounds its life independently of the payload. */
  seal(purpose: CookiePurpose, payload: object, ttlSeconds: number, nowSeconds: number): Promise<string>;
  /** Open a sealed value; null for anything tampered, expired, malformed or of another purpose. Never throws. */
  open<T extends object>(purpose: CookiePurpose, value: string, nowSeconds: number): Promise<T | null>;
}

/** `secret`: base64url, at least 32 bytes. Throws TollgateError('config-invalid') otherwise. */
export async function createCookieCodec(_secret: string): Promise<CookieCodec> {
  throw new Error('not implemented');
}

export interface CookieNames {
  session: string;
  nonce: string;
  authTx: string;
}

/** `__Host-` prefixed names when served over https, plain names over http. */
export function cookieNames(secure: boolean): CookieNames {
  return secure
    ? { session: '__Host-tg_session', nonce: '__Host-tg_nonce', authTx: '__Host-tg_auth' }
    : { session: 'tg_session', nonce: 'tg_nonce', authTx: 'tg_auth' };
}

/** Every cookie name the gateway owns (both variants), for stripping before forwarding. */
export const GATEWAY_COOKIE_NAMES: readonly string[] = [
  ...Object.values(cookieNames(true)),
  ...Object.values(cookieNames(false)),
];

export interface SessionTimeouts {
  idleSeconds: number;
  maxSeconds: number;
}

export type SessionState = 'valid' | 'refresh' | 'idle-expired' | 'expired' | 'wrong-host';

/**
 * Classify a session at `now` on `host`. 'refresh' = valid, but seenAt is older than
 * min(idle/4, 300 s): re-issue the cookie with seenAt = now.
 */
export function sessionState(_claims: SessionClaims, _host: string, _now: number, _timeouts: SessionTimeouts): SessionState {
  throw new Error('not implemented');
}
