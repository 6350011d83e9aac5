/**
 * `verifyAssertion`: every check of DESIGN §6, each with its own refusal reason.
 *
 * Order: header shape → protected header (typ, alg, crit, kid) → key → signature
 * (WebCrypto, or the runtime's synchronous primitive through `signatureCheck`) →
 * claims → method/target/endpoint → identity headers → single use. The
 * jti is consumed last, synchronously after the last `await`, so only an
 * assertion that passed every other check uses up its jti, and two concurrent
 * verifications of one assertion cannot both pass.
 */
import { base64url, compactVerify } from 'jose';
import type { Clock } from '../platform/index.js';
import { readAssertionHeader, type HeaderSource } from './headers.js';
import { identityHeadersOf, type IdentityHeaders } from './identity.js';
import { ALLOWED_ALGORITHMS, type AssertionAlgorithm, type KeySource, type VerificationKey } from './key-source.js';
import type { GuardRefusal } from './reasons.js';
import type { ReplayCache } from './replay-cache.js';

/** The `typ` every assertion carries (DESIGN §5). */
export const ASSERTION_TYP = 'tollgate-assertion+jwt';

/** Longest accepted `exp − iat`, in seconds (DESIGN §5). */
export const MAX_ASSERTION_LIFETIME_SECONDS = 60;

/** Default clock skew, in seconds (DESIGN §6: at most 5). */
export const DEFAULT_SKEW_SECONDS = 5;

/** Claims of a verified assertion (DESIGN §5). Unknown claims are kept as they came. */
export interface AssertionClaims {
  iss: string;
  aud: string | string[];
  sub: string;
  iat: number;
  exp: number;
  jti: string;
  htm: string;
  htu: string;
  rid?: string;
  sid?: string;
  roles?: string[];
  email?: string;
  dev?: { id?: string; trust?: string; [k: string]: unknown };
  cnf?: Record<string, unknown>;
  act?: Record<string, unknown>;
  ept?: string;
  [claim: string]: unknown;
}

/**
 * Checks the signature of a compact JWS whose protected header already passed
 * (typ, alg allow-listed and equal to the key's, no `crit`): the payload bytes
 * when the signature verifies with `key`, `undefined` when it does not. Never
 * throws. May answer synchronously.
 */
export type SignatureCheck = (token: string, key: VerificationKey) => Uint8Array | undefined | Promise<Uint8Array | undefined>;

/** jose's `compactVerify` (WebCrypto) as a {@link SignatureCheck}: the reference the other checks are tested against. */
export const joseSignatureCheck: SignatureCheck = async (token, key) => {
  try {
    return (await compactVerify(token, key.key, { algorithms: [key.alg] })).payload;
  } catch {
    return undefined;
  }
};

/** The three segments of a compact JWS (exactly two dots), or undefined. */
export function jwsSegments(token: string): { signingInput: string; payload: string; signature: string } | undefined {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (first < 0 || second < 0 || token.indexOf('.', second + 1) >= 0) return undefined;
  return { signingInput: token.slice(0, second), payload: token.slice(first + 1, second), signature: token.slice(second + 1) };
}

const WEBCRYPTO_VERIFY: Record<AssertionAlgorithm, { name: string; hash?: string }> = {
  EdDSA: { name: 'Ed25519' },
  ES256: { name: 'ECDSA', hash: 'SHA-256' },
};
const ascii = new TextEncoder();

/**
 * The portable {@link SignatureCheck} (the default): WebCrypto's `verify` on the
 * signing input, segments decoded with jose's base64url. It leaves out what
 * jose's `compactVerify` adds around the same call — parsing and checking the
 * protected header again, which verifyAssertion has done — 4–13 µs of CPU per
 * verification in Node (docs/performance.md). Accepts exactly what
 * {@link joseSignatureCheck} accepts (property test).
 */
export const webCryptoSignatureCheck: SignatureCheck = async (token, key) => {
  const jws = jwsSegments(token);
  if (jws === undefined) return undefined;
  try {
    const payload = base64url.decode(jws.payload);
    const signature = base64url.decode(jws.signature) as Uint8Array<ArrayBuffer>;
    // The signing input is ASCII: verifyAssertion has checked the base64url alphabet.
    return (await crypto.subtle.verify(WEBCRYPTO_VERIFY[key.alg], key.key, signature, ascii.encode(jws.signingInput))) ? payload : undefined;
  } catch {
    return undefined;
  }
};

/** Options of {@link verifyAssertion}. */
export interface VerifyOptions {
  /** The gateway's issuer URL; `iss` must equal it exactly (string comparison). */
  issuer: string;
  /** This workload's id; `aud` must equal it or be an array containing it. */
  audience: string;
  /** When set, `ept` must be present and equal to it (DESIGN §5, replicas). */
  endpointId?: string;
  /** The cached JWKS. */
  keys: KeySource;
  /** Single-use memory for jtis. */
  replayCache: ReplayCache;
  /** Time source; the core never reads the system clock itself. */
  clock: Clock;
  /** Allowed clock skew in seconds for `exp`, `iat` (and `nbf`); default 5, at most 5. */
  skewSeconds?: number;
  /** How the signature is checked (default {@link webCryptoSignatureCheck}). */
  signatureCheck?: SignatureCheck;
}

/** Result of {@link verifyAssertion}. */
export type VerifyResult =
  | { ok: true; claims: AssertionClaims; identityHeaders: IdentityHeaders }
  | { ok: false; reason: GuardRefusal };

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_KID_LENGTH = 256;
const MAX_JTI_LENGTH = 256;
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function refuse(reason: GuardRefusal): VerifyResult {
  return { ok: false, reason };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function decodeJson(segment: string | Uint8Array): Record<string, unknown> | undefined {
  try {
    const bytes = typeof segment === 'string' ? base64url.decode(segment) : segment;
    const value: unknown = JSON.parse(decoder.decode(bytes));
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function skewSecondsOf(options: VerifyOptions): number {
  const s = options.skewSeconds ?? DEFAULT_SKEW_SECONDS;
  return Number.isFinite(s) ? Math.max(0, Math.min(s, DEFAULT_SKEW_SECONDS)) : DEFAULT_SKEW_SECONDS;
}

function isNumericDate(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

/** Check the claims of a signature-verified payload (everything but single use). */
function checkClaims(
  payload: Record<string, unknown>,
  rawTarget: string,
  method: string,
  options: VerifyOptions,
  nowMs: number,
): GuardRefusal | undefined {
  const skewMs = skewSecondsOf(options) * 1000;
  const { iss, aud, sub, iat, exp, jti, htm, htu, nbf, ept } = payload;

  if (iss !== options.issuer) return 'bad-issuer';
  const audOk =
    aud === options.audience || (Array.isArray(aud) && aud.some((a) => a === options.audience));
  if (!audOk) return 'bad-audience';

  if (sub === undefined || iat === undefined || exp === undefined || jti === undefined || htm === undefined || htu === undefined) {
    return 'missing-claim';
  }
  if (typeof sub !== 'string' || sub.length === 0) return 'bad-claim';
  if (!isNumericDate(iat) || !isNumericDate(exp)) return 'bad-claim';
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) return 'bad-claim';
  if (typeof htm !== 'string' || typeof htu !== 'string') return 'bad-claim';

  if (nowMs >= exp * 1000 + skewMs) return 'expired';
  if (iat * 1000 > nowMs + skewMs) return 'issued-in-future';
  if (nbf !== undefined) {
    if (!isNumericDate(nbf)) return 'bad-claim';
    if (nbf * 1000 > nowMs + skewMs) return 'not-yet-valid';
  }
  if (exp < iat) return 'bad-claim';
  if (exp - iat > MAX_ASSERTION_LIFETIME_SECONDS) return 'lifetime-too-long';

  if (htm !== method) return 'method-mismatch';
  if (htu !== rawTarget) return 'target-mismatch';
  if (options.endpointId !== undefined && ept !== options.endpointId) return 'endpoint-mismatch';
  return undefined;
}

/**
 * Verify the `Tollgate-Assertion` of one request (DESIGN §6) and, on success,
 * consume its jti.
 *
 * @param rawTarget The request target exactly as received (Node's `req.url`):
 *   compared byte for byte with `htu`. Do not pass a Fetch `Request`'s URL —
 *   Fetch normalises it (`/a/../b` becomes `/b`, `%2e` may be decoded).
 * @param method The request method as received (`htm` must equal it).
 * @param headers Node's `req.headers` or a Fetch `Headers`. Only
 *   `Tollgate-Assertion` is read — never `Authorization`.
 * @returns `{ok: true, claims, identityHeaders}` or `{ok: false, reason}`; it
 *   never throws for any input and never includes the token in its result.
 */
export async function verifyAssertion(
  rawTarget: string,
  method: string,
  headers: HeaderSource,
  options: VerifyOptions,
): Promise<VerifyResult> {
  const header = readAssertionHeader(headers);
  if (!header.ok) return refuse(header.reason);
  const token = header.value;
  if (!COMPACT_JWS.test(token)) return refuse('malformed');

  const dot = token.indexOf('.');
  const protectedHeader = decodeJson(token.slice(0, dot));
  if (protectedHeader === undefined) return refuse('malformed');
  // jku, x5u, x5c and jwk are never read: the key comes from the cached JWKS only.
  const { typ, alg, crit, kid } = protectedHeader;
  if (typ !== ASSERTION_TYP) return refuse('bad-typ');
  if (typeof alg !== 'string' || !(ALLOWED_ALGORITHMS as readonly string[]).includes(alg)) return refuse('alg-not-allowed');
  if (crit !== undefined) return refuse('crit-unsupported');
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) return refuse('missing-kid');

  let lookup;
  try {
    lookup = await options.keys.lookup(kid);
  } catch {
    lookup = { status: 'unavailable' } as const;
  }
  if (lookup.status === 'unavailable') return refuse('keys-unavailable');
  if (lookup.status === 'unknown') return refuse('unknown-kid');
  if (lookup.key.alg !== (alg as AssertionAlgorithm)) return refuse('key-alg-mismatch');

  let payloadBytes: Uint8Array | undefined;
  try {
    payloadBytes = await (options.signatureCheck ?? webCryptoSignatureCheck)(token, lookup.key);
  } catch {
    payloadBytes = undefined;
  }
  if (payloadBytes === undefined) return refuse('bad-signature');
  const payload = decodeJson(payloadBytes);
  if (payload === undefined) return refuse('malformed');

  // Time is read after the last await: the checks and the jti insert below see one instant.
  const nowMs = options.clock.now();
  const problem = checkClaims(payload, rawTarget, method, options, nowMs);
  if (problem !== undefined) return refuse(problem);
  const identityHeaders = identityHeadersOf(payload);
  if (identityHeaders === undefined) return refuse('bad-claim');

  const skew = skewSecondsOf(options);
  const claims = payload as AssertionClaims;
  const seen = options.replayCache.checkAndInsert(claims.jti, (claims.exp + skew) * 1000, nowMs);
  if (seen === 'replayed') return refuse('replayed');
  if (seen === 'full') return refuse('replay-cache-full');
  return { ok: true, claims, identityHeaders };
}
