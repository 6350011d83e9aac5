/**
 * Per-request assertions (DESIGN §5), signing keys and the JWKS.
 *
 * Minting runs on every forwarded request, so the JWS is built by hand: the
 * encoded protected header is computed once per key and each call only encodes
 * the claims and asks Web Crypto for one signature. Tests verify the output with
 * jose's `jwtVerify` against the published JWKS.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { TollgateError } from '../errors.js';
import { base64url, type Random } from '../platform/index.js';

export const ASSERTION_TYP = 'tollgate-assertion+jwt';
export type AssertionAlg = 'EdDSA' | 'ES256';

/** Default and maximum assertion lifetimes, seconds (DESIGN §5). */
export const DEFAULT_ASSERTION_TTL = 30;
export const MAX_ASSERTION_TTL = 60;

export interface SigningKey {
  kid: string;
  alg: AssertionAlg;
  privateKey: CryptoKey;
}

export interface KeyRing {
  /** The key that signs now. */
  active: SigningKey;
  /** Every published public key (active, next and retiring), for /.well-known/jwks.json. */
  jwks: { keys: JWK[] };
}

const KEY_PARAMS: Record<AssertionAlg, { kty: string; crv: string }> = {
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
  ES256: { kty: 'EC', crv: 'P-256' },
};

function isAssertionAlg(value: unknown): value is AssertionAlg {
  return value === 'EdDSA' || value === 'ES256';
}

function configError(message: string, index?: number): TollgateError {
  // Never include key material: only the position of the offending key.
  return new TollgateError('config-invalid', message, index === undefined ? {} : { details: { key: index } });
}

const B64URL_RE = /^[A-Za-z0-9_-]+$/;

/** The public half of a validated JWK, built field by field so nothing private (or unexpected) leaks. */
function publicJwk(jwk: JWK, kid: string, alg: AssertionAlg): JWK {
  const out: JWK = { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
  if (alg === 'ES256') out.y = jwk.y;
  out.kid = kid;
  out.alg = alg;
  out.use = 'sig';
  return out;
}

/**
 * Import a private JWKS once (JSON string or object; each key has `kid` and `alg`).
 * `activeKid` picks the signing key (default: the first key). Keys other than the
 * active one are published but do not sign (rotation: publish first, sign later).
 *
 * Accepted keys: `alg` EdDSA with OKP/Ed25519, or ES256 with EC/P-256; anything
 * else (HMAC, RSA, other curves, missing or duplicate `kid`, `use` other than
 * "sig") is refused with `TollgateError('config-invalid')`. The active key must
 * hold its private part (`d`); a non-active key may be public only, so a retired
 * key can stay published after its private half has been destroyed. Every private
 * key is checked against its public half (sign, then verify) so the JWKS never
 * publishes a key that does not match the signer. Error messages name the key's
 * position only, never key material.
 */
export async function loadKeyRing(privateJwks: string | { keys: JWK[] }, activeKid?: string): Promise<KeyRing> {
  let doc: unknown = privateJwks;
  if (typeof privateJwks === 'string') {
    try {
      doc = JSON.parse(privateJwks);
    } catch {
      throw configError('signing keys: not valid JSON');
    }
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw configError('signing keys: expected {"keys": [...]} with at least one key');

  const seen = new Set<string>();
  const published: JWK[] = [];
  const privates = new Map<string, { jwk: JWK; alg: AssertionAlg; index: number }>();
  keys.forEach((raw: unknown, index) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw configError('signing key: not a JWK object', index);
    const jwk = raw as JWK;
    const { kid, alg } = jwk;
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > 256) throw configError('signing key: missing or invalid kid', index);
    if (seen.has(kid)) throw configError('signing key: duplicate kid', index);
    seen.add(kid);
    if (!isAssertionAlg(alg)) throw configError('signing key: alg must be EdDSA or ES256', index);
    const params = KEY_PARAMS[alg];
    if (jwk.kty !== params.kty || jwk.crv !== params.crv) throw configError(`signing key: ${alg} needs kty ${params.kty} and crv ${params.crv}`, index);
    if (jwk.use !== undefined && jwk.use !== 'sig') throw configError('signing key: use must be "sig"', index);
    if (typeof jwk.x !== 'string' || !B64URL_RE.test(jwk.x)) throw configError('signing key: invalid x', index);
    if (alg === 'ES256' && (typeof jwk.y !== 'string' || !B64URL_RE.test(jwk.y))) throw configError('signing key: invalid y', index);
    if (jwk.d !== undefined) {
      if (typeof jwk.d !== 'string' || !B64URL_RE.test(jwk.d)) throw configError('signing key: invalid d', index);
      privates.set(kid, { jwk, alg, index });
    }
    published.push(publicJwk(jwk, kid, alg));
  });

  const chosenKid = activeKid ?? published[0]!.kid!;
  if (!seen.has(chosenKid)) throw configError('signing keys: the active kid is not in the key set');
  const active = privates.get(chosenKid);
  if (!active) throw configError('signing keys: the active key has no private part');

  // Import (and check) every private key, not only the active one: a broken
  // "next" key should fail at deploy time, not at the rotation.
  let activeKey: SigningKey | undefined;
  for (const [kid, { jwk, alg, index }] of privates) {
    const privateKey = await importPrivate(jwk, alg, index);
    const publicKey = await importPublic(publicJwk(jwk, kid, alg), alg, index);
    await checkPair(privateKey, publicKey, alg, index);
    if (kid === chosenKid) activeKey = { kid, alg, privateKey };
  }
  for (const [index, jwk] of published.entries()) {
    if (!privates.has(jwk.kid!)) await importPublic(jwk, jwk.alg as AssertionAlg, index);
  }
  return { active: activeKey!, jwks: { keys: published } };
}

async function importPrivate(jwk: JWK, alg: AssertionAlg, index: number): Promise<CryptoKey> {
  const { kty, crv, x, y, d } = jwk;
  const clean: JWK = alg === 'ES256' ? { kty, crv, x, y, d } : { kty, crv, x, d };
  try {
    const key = await importJWK(clean, alg, { extractable: false });
    if (key instanceof Uint8Array || key.type !== 'private') throw new Error('not a private key');
    return key;
  } catch (cause) {
    throw new TollgateError('config-invalid', 'signing key: cannot import private key', { details: { key: index }, cause: scrub(cause) });
  }
}

async function importPublic(jwk: JWK, alg: AssertionAlg, index: number): Promise<CryptoKey> {
  try {
    const { kty, crv, x, y } = jwk;
    const key = await importJWK(alg === 'ES256' ? { kty, crv, x, y } : { kty, crv, x }, alg);
    if (key instanceof Uint8Array || key.type !== 'public') throw new Error('not a public key');
    return key;
  } catch (cause) {
    throw new TollgateError('config-invalid', 'signing key: cannot import public key', { details: { key: index }, cause: scrub(cause) });
  }
}

async function checkPair(privateKey: CryptoKey, publicKey: CryptoKey, alg: AssertionAlg, index: number): Promise<void> {
  const params = signParams(alg);
  const probe = new TextEncoder().encode('tollgate key check');
  const sig = await crypto.subtle.sign(params, privateKey, probe);
  if (!(await crypto.subtle.verify(params, publicKey, sig, probe))) {
    throw configError('signing key: private and public parts do not match', index);
  }
}

/** Keep only the error name: lower-level messages could quote input. */
function scrub(cause: unknown): Error {
  return new Error(cause instanceof Error ? cause.name : 'error');
}

// Spelled out locally: the Workers and DOM type libraries name these differently.
type SignParams = { name: 'Ed25519' } | { name: 'ECDSA'; hash: 'SHA-256' };

function signParams(alg: AssertionAlg): SignParams {
  return alg === 'EdDSA' ? { name: 'Ed25519' } : { name: 'ECDSA', hash: 'SHA-256' };
}

/**
 * Generate a private signing JWK (with kid, alg, use "sig"). Used by `npm start` and tests.
 * The kid defaults to the RFC 7638 SHA-256 thumbprint of the public key.
 */
export async function generateSigningJwk(alg: AssertionAlg = 'EdDSA', kid?: string): Promise<JWK> {
  if (!isAssertionAlg(alg)) throw configError('signing key: alg must be EdDSA or ES256');
  const { privateKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { extractable: true, crv: 'Ed25519' } : { extractable: true });
  const jwk = await exportJWK(privateKey);
  const { kty, crv, x, y } = jwk;
  const thumbprint = await calculateJwkThumbprint(alg === 'ES256' ? { kty, crv, x, y } : { kty, crv, x }, 'sha256');
  return { ...jwk, kid: kid ?? thumbprint, alg, use: 'sig' };
}

const encoder = new TextEncoder();
/** base64url without padding; kept as a token export for existing callers. */
export const base64urlEncode = base64url;

// Issuers are few (configured IdPs); the map is bounded anyway.
const subjectHashCache = new Map<string, string>();

/** "user:<h>:<sub>", h = first 12 chars of base64url(SHA-256(idpIssuer)). The issuer is hashed exactly as given (a trailing slash matters). */
export async function userSubject(idpIssuer: string, sub: string): Promise<string> {
  let h = subjectHashCache.get(idpIssuer);
  if (h === undefined) {
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(idpIssuer)));
    h = base64urlEncode(digest).slice(0, 12);
    if (subjectHashCache.size >= 256) subjectHashCache.clear();
    subjectHashCache.set(idpIssuer, h);
  }
  return `user:${h}:${sub}`;
}

/** "service:<id>". */
export function serviceSubject(id: string): string {
  return `service:${id}`;
}

export interface AssertionInput {
  issuer: string;
  /** Workload id. */
  audience: string;
  subject: string;
  requestId: string;
  method: string;
  /** Path plus query exactly as the workload will receive them. */
  target: string;
  sessionId?: string;
  roles: string[];
  email?: string;
  device?: { id: string; trust: string };
  cnf?: Record<string, unknown>;
  act?: Record<string, unknown>;
  /** Endpoint id, where the workload has several endpoints. */
  endpoint?: string;
  /** Seconds; default 30, must be 1..60. */
  ttlSeconds?: number;
}

export interface MintOptions {
  /** Milliseconds since the epoch. */
  now: number;
  random: Random;
}

/** Claims of a per-request assertion, in the order they are serialised. */
export interface AssertionClaims {
  iss: string;
  aud: string;
  sub: string;
  iat: number;
  exp: number;
  jti: string;
  rid: string;
  htm: string;
  htu: string;
  sid?: string;
  roles: string[];
  dev?: { id: string; trust: string };
  cnf?: Record<string, unknown>;
  act?: Record<string, unknown>;
  ept?: string;
  email?: string;
}

interface PreparedKey {
  kid: string;
  alg: AssertionAlg;
  privateKey: CryptoKey;
  /** base64url(protected header) + "." */
  prefix: string;
  params: SignParams;
}

// Keyed by the SigningKey object; re-validated against kid/alg/key in case a caller mutates it.
const prepared = new WeakMap<SigningKey, PreparedKey>();

function prepare(key: SigningKey): PreparedKey {
  if (key === null || typeof key !== 'object') throw new TollgateError('config-invalid', 'signing key: missing');
  const cached = prepared.get(key);
  if (cached && cached.kid === key.kid && cached.alg === key.alg && cached.privateKey === key.privateKey) return cached;
  if (typeof key.kid !== 'string' || key.kid.length === 0 || !isAssertionAlg(key.alg)) {
    throw new TollgateError('config-invalid', 'signing key: invalid kid or alg');
  }
  const header = JSON.stringify({ alg: key.alg, kid: key.kid, typ: ASSERTION_TYP });
  const p: PreparedKey = {
    kid: key.kid,
    alg: key.alg,
    privateKey: key.privateKey,
    prefix: base64urlEncode(encoder.encode(header)) + '.',
    params: signParams(key.alg),
  };
  prepared.set(key, p);
  return p;
}

function requireString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new TollgateError('internal', `assertion: ${name} is required`);
  return value;
}

/**
 * Mint a compact JWS per DESIGN §5 (typ tollgate-assertion+jwt, 128-bit jti).
 *
 * Header is exactly `{alg, kid, typ}`. Claims: iss, aud, sub, iat, exp (iat +
 * ttl, default 30 s; a ttl outside 1..60 or not an integer is refused with
 * `config-invalid`), jti (16 bytes from `options.random`), rid, htm, htu, roles,
 * and sid, dev, cnf, act, ept, email where given. `htm` and `htu` are copied
 * verbatim: the guard compares them byte for byte with what it receives.
 */
export async function mintAssertion(input: AssertionInput, key: SigningKey, options: MintOptions): Promise<string> {
  return (await mintAssertionWithClaims(input, key, options)).assertion;
}

/** A minted assertion and the claims it carries. */
export interface MintedAssertion {
  assertion: string;
  claims: AssertionClaims;
}

/**
 * `mintAssertion`, also returning the claims that were signed — the caller
 * needs e.g. the `jti` for its audit record without decoding the token again.
 * Same checks, same output; the returned claims object must not be changed.
 */
export async function mintAssertionWithClaims(input: AssertionInput, key: SigningKey, options: MintOptions): Promise<MintedAssertion> {
  const k = prepare(key);
  const ttl = input.ttlSeconds ?? DEFAULT_ASSERTION_TTL;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_ASSERTION_TTL) {
    throw new TollgateError('config-invalid', `assertion ttl must be an integer in 1..${MAX_ASSERTION_TTL}`);
  }
  if (!Number.isFinite(options.now)) throw new TollgateError('internal', 'assertion: now is not a finite time');
  const iat = Math.floor(options.now / 1000);
  const jtiBytes = options.random.bytes(16);
  if (!(jtiBytes instanceof Uint8Array) || jtiBytes.length !== 16) throw new TollgateError('internal', 'assertion: random source returned a wrong length');

  // Literal order fixes the serialised claim order; JSON.stringify drops the
  // optional claims that are undefined.
  const claims: AssertionClaims = {
    iss: requireString(input.issuer, 'issuer'),
    aud: requireString(input.audience, 'audience'),
    sub: requireString(input.subject, 'subject'),
    iat,
    exp: iat + ttl,
    jti: base64urlEncode(jtiBytes),
    rid: requireString(input.requestId, 'requestId'),
    htm: requireString(input.method, 'method'),
    htu: requireString(input.target, 'target'),
    sid: input.sessionId,
    roles: Array.isArray(input.roles) ? input.roles.slice() : [],
    dev: input.device === undefined ? undefined : { id: input.device.id, trust: input.device.trust },
    cnf: input.cnf,
    act: input.act,
    ept: input.endpoint,
    email: input.email,
  };

  const signingInput = k.prefix + base64urlEncode(encoder.encode(JSON.stringify(claims)));
  const signature = await crypto.subtle.sign(k.params, k.privateKey, encoder.encode(signingInput));
  return { assertion: signingInput + '.' + base64urlEncode(new Uint8Array(signature)), claims };
}

export {
  ACCESS_TOKEN_TYP,
  MAX_ACCESS_TOKEN_LIFETIME,
  MAX_ACT_DEPTH,
  accessTokenKeys,
  mintAccessToken,
  parseActClaim,
  verifyAccessToken,
  type AccessTokenClaims,
  type ActClaim,
  type AccessTokenInput,
  type AccessTokenKeys,
  type MintAccessTokenOptions,
  type VerifyAccessTokenOptions,
} from './access-token.js';
