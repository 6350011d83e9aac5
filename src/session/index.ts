/**
 * Session model and the sealed-cookie codec (jose JWE, dir + A256GCM, key per purpose via HKDF).
 */
import { CompactEncrypt, compactDecrypt } from 'jose';
import { TollgateError } from '../errors.js';

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
  /**
   * Open a sealed value; null for anything tampered, expired, malformed or of another purpose. Never throws.
   * A `session` payload is deep-frozen (it is shared with later requests that send the same cookie).
   */
  open<T extends object>(purpose: CookiePurpose, value: string, nowSeconds: number): Promise<T | null>;
}

/**
 * Browsers drop cookies whose name=value exceeds 4096 bytes; `open` refuses
 * longer values unopened. `seal` does not check: callers compare the result
 * with their own budget (name and attributes included).
 */
export const MAX_SEALED_LENGTH = 4096;

const PURPOSES: readonly CookiePurpose[] = ['session', 'auth-tx', 'nonce'];
const JWE_HEADER = { alg: 'dir', enc: 'A256GCM' } as const;
const DECRYPT_OPTIONS = { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] };
// header . (empty encrypted key for "dir") . iv . ciphertext . tag
const COMPACT_DIR_RE = /^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/;
const B64URL_VALUE: Record<string, number> = Object.fromEntries(
  [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'].map((c, i) => [c, i]),
);
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const utf8 = new TextEncoder();

/**
 * base64url decoders ignore the unused low bits of the last character, so two
 * spellings decode to the same bytes. Refusing the non-canonical one makes every
 * change to a sealed value detectable, not only the ones that change bytes.
 */
function isCanonicalB64url(part: string): boolean {
  const rem = part.length % 4;
  if (rem === 1) return false;
  if (rem === 0) return true;
  const last = B64URL_VALUE[part[part.length - 1]!];
  if (last === undefined) return false;
  return rem === 2 ? (last & 0x0f) === 0 : (last & 0x03) === 0;
}

function decodeSecret(secret: string): Uint8Array<ArrayBuffer> | null {
  if (typeof secret !== 'string' || !/^[A-Za-z0-9_-]+={0,2}$/.test(secret)) return null;
  const b64 = secret.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
  if (b64.length % 4 === 1) return null;
  try {
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

interface SealedEnvelope {
  /** Purpose, checked on open in addition to the per-purpose key. */
  pur: CookiePurpose;
  /** Epoch seconds; the value is refused at or after this instant. */
  exp: number;
  v: object;
}

export interface CookieCodecOptions {
  /**
   * How many opened session cookies to remember (default 2048; 0 turns it off).
   * A browser sends the same sealed value on every request until it is
   * re-issued, so the hot path would otherwise decrypt the same bytes again
   * each time. Only values that opened are kept, keyed by the exact value —
   * which only its holder knows — together with their `exp`, which is checked
   * on every hit; the caller re-checks everything else (host, timeouts,
   * revocation) on every request.
   */
  sessionCacheSize?: number;
}

/** Freezes a parsed JSON value all the way down (JSON has no cycles). */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Oldest-first eviction: a busy session pushed out is decrypted once more, nothing else. */
class OpenedCache {
  private readonly entries = new Map<string, { exp: number; payload: object }>();
  constructor(private readonly max: number) {}

  get(value: string, nowSeconds: number): object | undefined {
    const hit = this.entries.get(value);
    if (!hit) return undefined;
    if (nowSeconds < hit.exp) return hit.payload;
    this.entries.delete(value);
    return undefined;
  }

  set(value: string, exp: number, payload: object): void {
    if (this.max <= 0) return;
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(value, { exp, payload });
  }
}

/**
 * `secret`: base64url, at least 32 bytes. Throws TollgateError('config-invalid') otherwise.
 *
 * One AES-256-GCM key per purpose is derived with HKDF-SHA-256 (empty salt,
 * info "tollgate cookie <purpose>") and imported once, non-extractable. A sealed
 * value is a compact JWE (`dir`, `A256GCM`) whose plaintext carries the payload,
 * the purpose and `exp`.
 */
export async function createCookieCodec(secret: string, options: CookieCodecOptions = {}): Promise<CookieCodec> {
  const ikm = decodeSecret(secret);
  if (!ikm || ikm.length < 32) {
    throw new TollgateError('config-invalid', 'SESSION_SECRET must be base64url and at least 32 bytes');
  }
  const base = await crypto.subtle.importKey('raw', ikm, 'HKDF', false, ['deriveKey']);
  const keys = new Map<CookiePurpose, CryptoKey>();
  for (const purpose of PURPOSES) {
    const key = await crypto.subtle.deriveKey(
      { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: utf8.encode(`tollgate cookie ${purpose}`) },
      base,
      { name: 'AES-GCM', length: 256 },
      false,
      ['encrypt', 'decrypt'],
    );
    keys.set(purpose, key);
  }
  // Session cookies only: the other purposes are single-use by design.
  const opened = new OpenedCache(options.sessionCacheSize ?? 2048);

  return {
    async seal(purpose, payload, ttlSeconds, nowSeconds) {
      const key = keys.get(purpose);
      if (!key) throw new TollgateError('internal', 'cookie: unknown purpose');
      if (payload === null || typeof payload !== 'object') throw new TollgateError('internal', 'cookie: payload must be an object');
      if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) throw new TollgateError('internal', 'cookie: ttl must be positive');
      if (!Number.isFinite(nowSeconds)) throw new TollgateError('internal', 'cookie: now must be a finite time');
      const envelope: SealedEnvelope = { pur: purpose, exp: nowSeconds + ttlSeconds, v: payload };
      // Not refused here: the caller knows its cookie budget (name and attributes
      // count too) and maps "too big" to its own error. open() refuses anything
      // longer than MAX_SEALED_LENGTH, so an oversized value fails closed.
      return new CompactEncrypt(utf8.encode(JSON.stringify(envelope))).setProtectedHeader(JWE_HEADER).encrypt(key);
    },

    async open<T extends object>(purpose: CookiePurpose, value: string, nowSeconds: number): Promise<T | null> {
      try {
        if (typeof value !== 'string' || !Number.isFinite(nowSeconds)) return null;
        if (purpose === 'session') {
          // Only a value that passed every check below is cached. Session payloads are handed
          // out deep-frozen, so no caller can change what the next request sees.
          const hit = opened.get(value, nowSeconds);
          if (hit !== undefined) return hit as T;
        }
        const key = keys.get(purpose);
        if (!key || value.length > MAX_SEALED_LENGTH || !COMPACT_DIR_RE.test(value)) return null;
        const parts = value.split('.');
        for (const part of parts) if (part.length > 0 && !isCanonicalB64url(part)) return null;
        const { plaintext } = await compactDecrypt(value, key, DECRYPT_OPTIONS);
        const envelope = JSON.parse(strictUtf8.decode(plaintext)) as Partial<SealedEnvelope> | null;
        if (envelope === null || typeof envelope !== 'object') return null;
        if (envelope.pur !== purpose) return null;
        if (typeof envelope.exp !== 'number' || !(nowSeconds < envelope.exp)) return null;
        if (envelope.v === null || typeof envelope.v !== 'object') return null;
        if (purpose === 'session') opened.set(value, envelope.exp, deepFreeze(envelope.v));
        return envelope.v as T;
      } catch {
        return null;
      }
    },
  };
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
export function sessionState(claims: SessionClaims, host: string, now: number, timeouts: SessionTimeouts): SessionState {
  // Host first: a cookie presented on the wrong host is a misuse signal worth
  // logging as such, whatever its age.
  if (claims.host !== host) return 'wrong-host';
  const { expiresAt, seenAt, createdAt } = claims;
  const { idleSeconds, maxSeconds } = timeouts;
  // Anything non-numeric fails closed.
  if (![now, expiresAt, seenAt, createdAt, idleSeconds, maxSeconds].every(Number.isFinite)) return 'expired';
  // The configured maximum also bounds cookies issued under a longer one.
  if (now >= expiresAt || now - createdAt >= maxSeconds) return 'expired';
  if (now - seenAt >= idleSeconds) return 'idle-expired';
  if (now - seenAt >= Math.min(idleSeconds / 4, 300)) return 'refresh';
  return 'valid';
}
