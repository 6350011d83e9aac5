/**
 * Tollgate's own access tokens (RFC 9068 JWT profile): signed with the
 * gateway's key ring, accepted by the admin API today and — with another
 * audience — by the token endpoint and service accounts later.
 *
 * Header `{alg, kid, typ: "at+jwt"}`; claims iss, sub, aud, client_id, iat,
 * exp, jti, and `groups` / `email` where known. Verification is local: the
 * public keys come from the key ring that signs (no fetch, no `jku`/`x5u`).
 */
import { createLocalJWKSet, errors as joseErrors, jwtVerify, SignJWT, UnsecuredJWT, type JWTPayload } from 'jose';
import { TollgateError } from '../errors.js';
import type { Random } from '../platform/index.js';
import type { KeyRing, SigningKey } from './index.js';

export const ACCESS_TOKEN_TYP = 'at+jwt';
/** Upper bound on any access token's lifetime (exp − iat), seconds: 8 hours. */
export const MAX_ACCESS_TOKEN_LIFETIME = 8 * 3600;
/** Tokens longer than this are refused before any parsing. */
const MAX_TOKEN_LENGTH = 8192;
const ALGORITHMS = ['EdDSA', 'ES256'];
const MAX_GROUPS = 100;
const MAX_CLAIM_LENGTH = 256;

export interface AccessTokenInput {
  /** The gateway's issuer URL (`TOLLGATE_ORIGIN`). */
  issuer: string;
  /** Who the token is for, e.g. `${origin}/admin/v1`. */
  audience: string;
  /** Tollgate subject: `user:<h>:<sub>` or `service:<id>`. */
  subject: string;
  /** RFC 9068 `client_id`: the client the token was issued to. */
  clientId: string;
  /** Seconds, integer, 1..`maxLifetimeSeconds` (default bound 8 h). */
  lifetimeSeconds: number;
  groups?: string[];
  email?: string;
  /** RFC 8693 actor chain: who acts for `subject` (token exchange with delegation). */
  act?: ActClaim;
}

/** RFC 8693 §4.1 `act`: the current actor, prior actors nested. */
export interface ActClaim {
  sub: string;
  act?: ActClaim;
}

/** Longest accepted actor chain. */
export const MAX_ACT_DEPTH = 5;

/** The `act` claim if it is a well-formed chain (string `sub` at every level, at most MAX_ACT_DEPTH deep), else null. */
export function parseActClaim(value: unknown): ActClaim | null {
  let depth = 0;
  const walk = (v: unknown): ActClaim | null => {
    if (++depth > MAX_ACT_DEPTH || v === null || typeof v !== 'object' || Array.isArray(v)) return null;
    const o = v as Record<string, unknown>;
    if (typeof o.sub !== 'string' || o.sub.length === 0 || o.sub.length > MAX_CLAIM_LENGTH) return null;
    if (o.act === undefined) return { sub: o.sub };
    const inner = walk(o.act);
    return inner === null ? null : { sub: o.sub, act: inner };
  };
  return walk(value);
}

export interface MintAccessTokenOptions {
  /** Milliseconds since the epoch. */
  now: number;
  random: Random;
  /** Bound on `lifetimeSeconds`; default and maximum 8 h. */
  maxLifetimeSeconds?: number;
}

export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  client_id: string;
  iat: number;
  exp: number;
  jti: string;
  groups: string[];
  email?: string;
  act?: ActClaim;
}

function checkLifetime(lifetime: number, max: number): void {
  if (!Number.isInteger(max) || max < 1 || max > MAX_ACCESS_TOKEN_LIFETIME) {
    throw new TollgateError('config-invalid', `access token: maxLifetimeSeconds must be an integer in 1..${MAX_ACCESS_TOKEN_LIFETIME}`);
  }
  if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > max) {
    throw new TollgateError('config-invalid', `access token: lifetime must be an integer in 1..${max} seconds`);
  }
}

function nonEmpty(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new TollgateError('internal', `access token: ${name} is required`);
  return value;
}

/**
 * Mint an RFC 9068 access token signed with `key` (the key ring's active key).
 *
 * `jti` is 128 random bits; `iat` is `options.now` in seconds, `exp` is `iat +
 * lifetimeSeconds`. A lifetime outside 1..`maxLifetimeSeconds` (≤ 8 h) is
 * refused with `config-invalid`. The token carries no secret and no session id.
 */
export async function mintAccessToken(input: AccessTokenInput, key: SigningKey, options: MintAccessTokenOptions): Promise<string> {
  checkLifetime(input.lifetimeSeconds, options.maxLifetimeSeconds ?? MAX_ACCESS_TOKEN_LIFETIME);
  if (!Number.isFinite(options.now)) throw new TollgateError('internal', 'access token: now is not a finite time');
  const iat = Math.floor(options.now / 1000);
  const payload: JWTPayload & Record<string, unknown> = {
    iss: nonEmpty(input.issuer, 'issuer'),
    sub: nonEmpty(input.subject, 'subject'),
    aud: nonEmpty(input.audience, 'audience'),
    client_id: nonEmpty(input.clientId, 'clientId'),
    iat,
    exp: iat + input.lifetimeSeconds,
    jti: base64url(options.random.bytes(16)),
  };
  if (input.groups !== undefined) payload.groups = [...input.groups];
  if (input.email !== undefined) payload.email = input.email;
  if (input.act !== undefined) payload.act = input.act;
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYP }).sign(key.privateKey);
}

function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A key resolver over a key ring's published public keys. */
export type AccessTokenKeys = ReturnType<typeof createLocalJWKSet>;

const resolvers = new WeakMap<KeyRing, AccessTokenKeys>();

/**
 * The verification keys for tokens this gateway signed: every key the ring
 * publishes (active, next and retiring), imported once per key ring (so once
 * per isolate) and cached.
 */
export function accessTokenKeys(keyRing: KeyRing): AccessTokenKeys {
  let r = resolvers.get(keyRing);
  if (!r) {
    r = createLocalJWKSet(keyRing.jwks);
    resolvers.set(keyRing, r);
  }
  return r;
}

export interface VerifyAccessTokenOptions {
  /** Expected `iss`, compared exactly. */
  issuer: string;
  /** Expected audience (`aud` equals it or is an array containing it); a list accepts any of them. */
  audience: string | string[];
  /** Milliseconds since the epoch. */
  now: number;
  /** Longest accepted `exp − iat`; default and maximum 8 h. */
  maxLifetimeSeconds?: number;
  /** Default 5 s. */
  clockToleranceSeconds?: number;
}

function refuse(why: string, cause?: unknown): TollgateError {
  // The cause keeps only the error's name and jose code: messages may quote claim values.
  const c = cause instanceof Error ? Object.assign(new Error((cause as { code?: string }).code ?? cause.name), { name: cause.name }) : undefined;
  return new TollgateError('unauthenticated', 'the bearer token is not valid', { cause: c, details: { tokenProblem: why } });
}

function stringClaim(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_CLAIM_LENGTH;
}

/**
 * Tokens whose signature has verified, per key ring: a service sends the same
 * token for minutes, and the signature is most of what a verification costs
 * (the session cookie has the same kind of cache). Keyed by the exact token
 * string; only the signature and the header's `typ` are taken from here. Every
 * claim check runs on every call: jose's own (iss, aud, exp, nbf, required
 * claims — `UnsecuredJWT.decode` of the same payload segment, so the rules
 * are jose's by construction) and ours below. Bounded, oldest out first; an
 * entry found expired is dropped.
 */
const VERIFIED_TOKENS = 2048;
const verifiedTokens = new WeakMap<AccessTokenKeys, Set<string>>();
/** `{"alg":"none"}` in base64url: the header under which a verified payload's claims are checked again. */
const UNSIGNED_HEADER = 'eyJhbGciOiJub25lIn0';

function verifiedSetOf(keys: AccessTokenKeys): Set<string> {
  let set = verifiedTokens.get(keys);
  if (set === undefined) {
    set = new Set();
    verifiedTokens.set(keys, set);
  }
  return set;
}

/**
 * Verify an access token this gateway signed. Accepts only: `typ` at+jwt; alg
 * EdDSA or ES256 with a `kid` from the key ring (never `none`, never HMAC;
 * `jku`/`x5u`/`jwk` are ignored); `iss` and `aud` as configured; `sub`, `iat`,
 * `exp`, `jti` and `client_id` present; not expired, `iat` not in the future
 * (both with the clock tolerance); `exp − iat ≤ maxLifetimeSeconds`; `groups`
 * (if any) an array of at most 100 strings. A token whose signature verified
 * before (per key ring) is not verified again; its claims are. Any failure throws
 * `TollgateError('unauthenticated')` whose message never contains the token.
 */
export async function verifyAccessToken(token: string, keys: AccessTokenKeys, options: VerifyAccessTokenOptions): Promise<AccessTokenClaims> {
  const max = options.maxLifetimeSeconds ?? MAX_ACCESS_TOKEN_LIFETIME;
  if (!Number.isInteger(max) || max < 1 || max > MAX_ACCESS_TOKEN_LIFETIME) throw new TollgateError('config-invalid', 'access token: bad maxLifetimeSeconds');
  const tolerance = options.clockToleranceSeconds ?? 5;
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) {
    throw refuse('malformed');
  }
  const claimRules = {
    issuer: options.issuer,
    audience: options.audience,
    currentDate: new Date(options.now),
    clockTolerance: tolerance,
    requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti'],
  };
  const verified = verifiedSetOf(keys);
  const known = verified.has(token);
  let payload: JWTPayload;
  try {
    if (known) {
      const first = token.indexOf('.');
      ({ payload } = UnsecuredJWT.decode(`${UNSIGNED_HEADER}.${token.slice(first + 1, token.indexOf('.', first + 1))}.`, claimRules));
    } else {
      ({ payload } = await jwtVerify(token, keys, { algorithms: ALGORITHMS, typ: ACCESS_TOKEN_TYP, ...claimRules }));
    }
  } catch (cause) {
    if (known && cause instanceof joseErrors.JWTExpired) verified.delete(token);
    const why = cause instanceof joseErrors.JWTExpired ? 'expired' : cause instanceof joseErrors.JOSEError ? cause.code : 'invalid';
    throw refuse(why, cause);
  }
  const now = Math.floor(options.now / 1000);
  const { iat, exp, sub, jti } = payload;
  if (typeof iat !== 'number' || typeof exp !== 'number' || !Number.isFinite(iat) || !Number.isFinite(exp)) throw refuse('times');
  if (iat > now + tolerance) throw refuse('issued-in-future');
  if (exp - iat > max || exp <= iat) throw refuse('lifetime');
  if (!stringClaim(sub) || !stringClaim(jti)) throw refuse('claims');
  const clientId = payload.client_id;
  if (!stringClaim(clientId)) throw refuse('client_id');
  const groups = payload.groups ?? [];
  if (!Array.isArray(groups) || groups.length > MAX_GROUPS || !groups.every(stringClaim)) throw refuse('groups');
  const email = payload.email;
  if (email !== undefined && !stringClaim(email)) throw refuse('email');
  const claims: AccessTokenClaims = {
    iss: payload.iss!,
    sub,
    aud: payload.aud!,
    client_id: clientId,
    iat,
    exp,
    jti,
    groups: groups as string[],
  };
  if (email !== undefined) claims.email = email;
  if (payload.act !== undefined) {
    const act = parseActClaim(payload.act);
    if (act === null) throw refuse('act');
    claims.act = act;
  }
  if (!known) {
    if (verified.size >= VERIFIED_TOKENS) verified.delete(verified.values().next().value!);
    verified.add(token);
  }
  return claims;
}
