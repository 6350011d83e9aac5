/**
 * Verification keys: the cached JWKS of the gateway (DESIGN §6, "Keys").
 *
 * Only OKP/Ed25519 (EdDSA) and EC/P-256 (ES256) public keys with a `kid` are
 * used; anything else in the set is ignored. Keys are imported once per
 * distinct key material and reused across refreshes.
 */
import { importJWK } from 'jose';
import type { Clock, Logger } from '../platform/index.js';

/** Signature algorithms the guard accepts (never `none`, never HMAC). */
export type AssertionAlgorithm = 'EdDSA' | 'ES256';

/** The allow-list of {@link AssertionAlgorithm}s. */
export const ALLOWED_ALGORITHMS: readonly AssertionAlgorithm[] = ['EdDSA', 'ES256'];

/** An imported public key and the one algorithm it verifies. */
export interface VerificationKey {
  kid: string;
  alg: AssertionAlgorithm;
  key: CryptoKey;
}

/** Result of {@link KeySource.lookup}. */
export type KeyLookup =
  | { status: 'found'; key: VerificationKey }
  | { status: 'unknown' }
  /** No key set has ever been loaded: fail closed. */
  | { status: 'unavailable' };

/** Where `verifyAssertion` finds keys by `kid`. */
export interface KeySource {
  /** Find the key for `kid`; may wait for a (rate-limited) refresh when the kid is unknown. */
  lookup(kid: string): Promise<KeyLookup>;
  /** True once a key set has been loaded (for healthz). */
  ready(): boolean;
}

/** The subset of `fetch` the key source needs, so tests can inject a fake. */
export type FetchLike = (
  url: string,
  init: { signal?: AbortSignal; headers?: Record<string, string>; redirect?: 'manual' },
) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

/** Options of {@link createRemoteKeySource}. */
export interface RemoteKeySourceOptions {
  /** The JWKS URL, e.g. `http://127.0.0.1:8787/.well-known/jwks.json`. */
  url: string;
  fetch: FetchLike;
  clock: Clock;
  /** Refresh at least this often, in seconds (default and maximum 60: DESIGN §6). */
  refreshSeconds?: number;
  /**
   * An unknown kid triggers a refresh at most once per this interval (default
   * 5000 ms, at most 10000). The interval counts from the last fetch *start*,
   * so a flood of unknown kids cannot push a refresh back: while misses keep
   * coming, one refresh happens every interval.
   */
  minUnknownKidIntervalMs?: number;
  /** After a failed fetch, retry in the background after this long (default 2000 ms). */
  retryMs?: number;
  /** Abort a JWKS fetch after this long (default 5000 ms). */
  timeoutMs?: number;
  logger?: Logger;
}

/** A {@link KeySource} backed by a remote JWKS. */
export interface RemoteKeySource extends KeySource {
  /** Fetch the JWKS now (or join the fetch in flight). Resolves true when it loaded a usable key set. */
  refresh(): Promise<boolean>;
  /** Keep the cache fresh in the background (timer, unref'd where the runtime allows). */
  start(): void;
  /** Stop the background timer. */
  close(): void;
  /** Number of JWKS fetches started (for tests and metrics). */
  readonly fetchCount: number;
}

const MAX_JWKS_CHARS = 256 * 1024;
const MAX_KEYS = 64;
const MAX_KID_LENGTH = 256;

type Jwk = Record<string, unknown>;

interface Candidate {
  kid: string;
  alg: AssertionAlgorithm;
  material: { kty: string; crv: string; x: string; y?: string };
  fingerprint: string;
}

/** A short, token-free description of a fetch failure (e.g. ECONNREFUSED, TimeoutError). */
function errorName(err: unknown): string {
  const e = err as { name?: unknown; code?: unknown; cause?: { code?: unknown } } | null;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  if (typeof e?.code === 'string') return e.code;
  return typeof e?.name === 'string' ? e.name : 'unknown';
}

function isRecord(v: unknown): v is Jwk {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function candidateOf(jwk: unknown): Candidate | undefined {
  if (!isRecord(jwk)) return undefined;
  const { kid, kty, crv, x, y, alg, use } = jwk;
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) return undefined;
  if (use !== undefined && use !== 'sig') return undefined;
  if (typeof x !== 'string') return undefined;
  if (kty === 'OKP' && crv === 'Ed25519') {
    if (alg !== undefined && alg !== 'EdDSA' && alg !== 'Ed25519') return undefined;
    return { kid, alg: 'EdDSA', material: { kty, crv, x }, fingerprint: `${kid}|OKP|Ed25519|${x}` };
  }
  if (kty === 'EC' && crv === 'P-256' && typeof y === 'string') {
    if (alg !== undefined && alg !== 'ES256') return undefined;
    return { kid, alg: 'ES256', material: { kty, crv, x, y }, fingerprint: `${kid}|EC|P-256|${x}|${y}` };
  }
  return undefined;
}

/** The usable key candidates of a JWKS document (first occurrence of a kid wins). */
function candidatesOf(jwks: unknown): Candidate[] {
  if (!isRecord(jwks) || !Array.isArray(jwks.keys)) return [];
  const out: Candidate[] = [];
  const kids = new Set<string>();
  for (const jwk of jwks.keys.slice(0, MAX_KEYS)) {
    const c = candidateOf(jwk);
    if (c === undefined || kids.has(c.kid)) continue;
    kids.add(c.kid);
    out.push(c);
  }
  return out;
}

async function importCandidates(
  candidates: Candidate[],
  previous: ReadonlyMap<string, VerificationKey & { fingerprint: string }>,
): Promise<Map<string, VerificationKey & { fingerprint: string }>> {
  const next = new Map<string, VerificationKey & { fingerprint: string }>();
  for (const c of candidates) {
    const old = previous.get(c.kid);
    if (old !== undefined && old.fingerprint === c.fingerprint) {
      next.set(c.kid, old);
      continue;
    }
    try {
      const key = await importJWK({ ...c.material }, c.alg);
      if (key instanceof Uint8Array) continue;
      next.set(c.kid, { kid: c.kid, alg: c.alg, key, fingerprint: c.fingerprint });
    } catch {
      // Unusable key material (bad point, wrong length): ignore this key only.
    }
  }
  return next;
}

/**
 * A key source from a fixed JWKS (in-process use, tests). Keys are imported
 * once, here.
 */
export async function createStaticKeySource(jwks: { keys: unknown[] }): Promise<KeySource> {
  const keys = await importCandidates(candidatesOf(jwks), new Map());
  return {
    lookup: async (kid) => {
      if (keys.size === 0) return { status: 'unavailable' };
      const key = keys.get(kid);
      return key === undefined ? { status: 'unknown' } : { status: 'found', key };
    },
    ready: () => keys.size > 0,
  };
}

/**
 * The JWKS cache the guard uses: fetched with the injected `fetch`, refreshed
 * at least every `refreshSeconds` (on use, and in the background after
 * `start()`), refreshed on an unknown kid at most once per
 * `minUnknownKidIntervalMs` (concurrent misses share one fetch), so a newly
 * published key is accepted within seconds. A failed fetch keeps the cached
 * keys; with none ever loaded, lookups answer `unavailable` and the cache keeps
 * retrying until the JWKS answers.
 */
export function createRemoteKeySource(options: RemoteKeySourceOptions): RemoteKeySource {
  const refreshMs = Math.min(options.refreshSeconds ?? 60, 60) * 1000;
  const minUnknownKidIntervalMs = Math.min(options.minUnknownKidIntervalMs ?? 5000, 10_000);
  const retryMs = Math.min(options.retryMs ?? 2000, refreshMs);
  const timeoutMs = options.timeoutMs ?? 5000;
  if (!(refreshMs > 0) || !(minUnknownKidIntervalMs >= 0) || !(retryMs > 0) || !(timeoutMs > 0)) {
    throw new RangeError('refreshSeconds, retryMs and timeoutMs must be positive, minUnknownKidIntervalMs >= 0');
  }
  const { clock, logger } = options;

  let keys = new Map<string, VerificationKey & { fingerprint: string }>();
  let loaded = false;
  let lastAttemptMs = -Infinity;
  let lastSuccessMs = -Infinity;
  let lastFailed = false;
  let inFlight: Promise<boolean> | null = null;
  let fetchCount = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;

  async function load(): Promise<boolean> {
    let response;
    try {
      response = await options.fetch(options.url, {
        signal: AbortSignal.timeout(timeoutMs),
        headers: { accept: 'application/jwk-set+json, application/json' },
        redirect: 'manual',
      });
    } catch (err) {
      logger?.warn('guard.jwks_fetch_failed', { error: errorName(err) });
      return false;
    }
    if (response.status !== 200) {
      logger?.warn('guard.jwks_fetch_failed', { status: response.status });
      return false;
    }
    const length = Number(response.headers.get('content-length') ?? '0');
    if (length > MAX_JWKS_CHARS) {
      logger?.warn('guard.jwks_fetch_failed', { error: 'too-large' });
      return false;
    }
    let candidates: Candidate[];
    try {
      const text = await response.text();
      if (text.length > MAX_JWKS_CHARS) throw new Error('too large');
      candidates = candidatesOf(JSON.parse(text));
    } catch {
      logger?.warn('guard.jwks_fetch_failed', { error: 'invalid-jwks' });
      return false;
    }
    const next = await importCandidates(candidates, keys);
    // An empty or unusable set is treated as a failed fetch, not as "revoke
    // every key": a broken JWKS endpoint must not take the workload down.
    if (next.size === 0) {
      logger?.warn('guard.jwks_fetch_failed', { error: 'no-usable-keys' });
      return false;
    }
    keys = next;
    loaded = true;
    return true;
  }

  function refresh(): Promise<boolean> {
    if (inFlight !== null) return inFlight;
    lastAttemptMs = clock.now();
    fetchCount++;
    const attempt = load()
      .catch(() => false)
      .then((ok) => {
        lastFailed = !ok;
        if (ok) lastSuccessMs = clock.now();
        inFlight = null;
        return ok;
      });
    inFlight = attempt;
    return attempt;
  }

  /** Periodic refresh driven by use: independent of the timer, and deterministic under a fake clock. */
  function refreshIfDue(now: number): void {
    if (inFlight === null && msUntilDue(now) <= 0) void refresh();
  }

  function msUntilDue(now: number): number {
    return lastFailed || !loaded ? lastAttemptMs + retryMs - now : lastSuccessMs + refreshMs - now;
  }

  // The timer re-checks the (injectable) clock on each tick, so refreshes done
  // on use and by the timer never double up.
  function schedule(): void {
    if (!running) return;
    const delay = Math.min(Math.max(msUntilDue(clock.now()), 250), refreshMs);
    timer = setTimeout(() => {
      refreshIfDue(clock.now());
      void (inFlight ?? Promise.resolve()).finally(schedule);
    }, delay);
    (timer as { unref?: () => void }).unref?.();
  }

  return {
    async lookup(kid) {
      const now = clock.now();
      refreshIfDue(now);
      const hit = keys.get(kid);
      if (hit !== undefined) return { status: 'found', key: hit };
      if (inFlight !== null) await inFlight;
      else if (now - lastAttemptMs >= minUnknownKidIntervalMs) await refresh();
      const after = keys.get(kid);
      if (after !== undefined) return { status: 'found', key: after };
      return loaded ? { status: 'unknown' } : { status: 'unavailable' };
    },
    ready: () => loaded,
    refresh,
    start() {
      if (running) return;
      running = true;
      if (inFlight === null && lastAttemptMs === -Infinity) void refresh();
      void (inFlight ?? Promise.resolve()).finally(schedule);
    },
    close() {
      running = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
    get fetchCount() {
      return fetchCount;
    },
  };
}
