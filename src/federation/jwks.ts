/**
 * External issuers' keys: fetched from a checked URL, cached per isolate,
 * refreshed when stale and when a token names an unknown `kid` — at most once
 * per cooldown, so a flood of tokens with made-up kids costs one fetch per
 * cooldown, and a newly published key is accepted within one cooldown.
 * A failed fetch keeps the keys we have.
 *
 * Fetches never follow redirects (a checked URL must not bounce to an
 * unchecked one), time out, and read at most 256 KiB. Only public asymmetric
 * keys are kept: private members and symmetric (`oct`) keys are dropped.
 */
import { createLocalJWKSet, errors as joseErrors, type JWK, type JWSHeaderParameters, type FlattenedJWSInput } from 'jose';
import { TollgateError } from '../errors.js';
import { readBoundedBytes, type Clock } from '../platform/index.js';
import { urlProblem, type UrlPolicy } from './url-guard.js';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface JwksCacheOptions {
  fetch: FetchLike;
  clock: Clock;
  urlPolicy: UrlPolicy;
  /** Keys older than this are refetched before use (default 600 s). */
  maxAgeSeconds?: number;
  /** At most one refetch per this many seconds (default 30 s). */
  cooldownSeconds?: number;
  /** Default 5000 ms. */
  timeoutMs?: number;
}

export type KeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

const MAX_BYTES = 256 * 1024;
const MAX_KEYS = 100;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

/** Public asymmetric keys only, each at most once by kid+kty. */
export function publicKeys(doc: unknown): { keys: JWK[] } {
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new TollgateError('bad-request', 'the JWKS has no "keys" array');
  const out: JWK[] = [];
  for (const k of keys.slice(0, MAX_KEYS)) {
    if (k === null || typeof k !== 'object' || Array.isArray(k)) continue;
    const jwk = k as JWK;
    if (jwk.kty !== 'RSA' && jwk.kty !== 'EC' && jwk.kty !== 'OKP') continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    const clean: JWK = { ...jwk };
    for (const m of PRIVATE_MEMBERS) delete (clean as Record<string, unknown>)[m];
    // Certificate chains and URLs are never used to find keys.
    delete clean.x5u;
    out.push(clean);
  }
  return { keys: out };
}

/** GET a JSON document from a checked URL: no redirects, bounded size and time. */
export async function fetchJson(url: string, options: Pick<JwksCacheOptions, 'fetch' | 'urlPolicy' | 'timeoutMs'>): Promise<unknown> {
  const problem = urlProblem(url, options.urlPolicy);
  if (problem) throw new TollgateError('forbidden', `the URL ${problem}`);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 5000);
  try {
    const res = await options.fetch(url, { redirect: 'manual', headers: { accept: 'application/json' }, signal: controller.signal });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new TollgateError('upstream-unreachable', `fetching a trusted issuer document answered ${res.status}`);
    }
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > MAX_BYTES) {
      await res.body?.cancel();
      throw new TollgateError('upstream-unreachable', 'a trusted issuer document is too large');
    }
    const text = await readBounded(res);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new TollgateError('upstream-unreachable', 'a trusted issuer document is not JSON');
    }
  } catch (err) {
    if (err instanceof TollgateError) throw err;
    throw new TollgateError('upstream-unreachable', 'a trusted issuer document could not be fetched', { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

async function readBounded(res: Response): Promise<string> {
  const bytes = await readBoundedBytes(res.body, MAX_BYTES);
  if (!bytes) throw new TollgateError('upstream-unreachable', 'a trusted issuer document is too large');
  return new TextDecoder().decode(bytes);
}

export interface RemoteJwks {
  resolver: KeyResolver;
  /** Fetches so far (tests, logs). */
  readonly fetches: number;
}

/** A cached, rate-limited key source for one JWKS URL. */
export function remoteJwks(url: string, options: JwksCacheOptions): RemoteJwks {
  const maxAge = (options.maxAgeSeconds ?? 600) * 1000;
  const cooldown = (options.cooldownSeconds ?? 30) * 1000;
  let local: ReturnType<typeof createLocalJWKSet> | undefined;
  let fetchedAt = -Infinity;
  let attemptedAt = -Infinity;
  let inflight: Promise<void> | undefined;
  let fetches = 0;

  /** With nothing cached a failed fetch is retried sooner (at most every 5 s), still never per request. */
  const mayAttempt = () => options.clock.now() - attemptedAt >= (local === undefined ? Math.min(cooldown, 5000) : cooldown);

  function refresh(): Promise<void> {
    if (inflight) return inflight;
    attemptedAt = options.clock.now();
    fetches++;
    inflight = (async () => {
      try {
        const keys = publicKeys(await fetchJson(url, options));
        local = createLocalJWKSet(keys);
        fetchedAt = options.clock.now();
      } catch {
        // Keep what we had; with nothing cached the token is refused (the cause is in the refusal's log line).
      }
    })().finally(() => {
      inflight = undefined;
    });
    return inflight;
  }

  const resolver: KeyResolver = async (header, token) => {
    if (inflight) await inflight;
    else if ((local === undefined || options.clock.now() - fetchedAt >= maxAge) && mayAttempt()) await refresh();
    if (local === undefined) throw new joseErrors.JWKSNoMatchingKey();
    try {
      return await local(header, token);
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSNoMatchingKey) || !mayAttempt()) throw err;
      // Unknown kid: maybe the issuer rotated. One refetch per cooldown.
      await refresh();
      return local(header, token);
    }
  };

  return {
    resolver,
    get fetches() {
      return fetches;
    },
  };
}
