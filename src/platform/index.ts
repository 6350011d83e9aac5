/** Ports for the outside world. The core receives these; it never reads globals. */

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export interface Random {
  /** Cryptographically secure random bytes. */
  bytes(length: number): Uint8Array;
  /** `length` random bytes, base64url without padding (default 16 bytes = 128 bits). */
  id(length?: number): string;
}

export type LogFields = Record<string, string | number | boolean | null | undefined | string[]>;

/** Structured logger. Callers never pass tokens, cookie values, secrets or codes. */
export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

export const systemClock: Clock = { now: () => Date.now() };

const B64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

type ToBase64 = (this: Uint8Array, options: { alphabet: 'base64url'; omitPadding: true }) => string;
// TC39 Uint8Array.prototype.toBase64: native in workerd, absent in Node 20.
const nativeToBase64 = (Uint8Array.prototype as { toBase64?: ToBase64 }).toBase64;
const TO_BASE64URL = { alphabet: 'base64url', omitPadding: true } as const;

/**
 * base64url without padding (RFC 4648 §5). It runs several times per request:
 * the runtime's native encoder where there is one, else `base64urlPortable`.
 */
export function base64url(bytes: Uint8Array): string {
  return nativeToBase64 ? nativeToBase64.call(bytes, TO_BASE64URL) : base64urlPortable(bytes);
}

/** The same encoding in plain JavaScript, table-driven (runtimes without `toBase64`; tests compare the two). */
export function base64urlPortable(bytes: Uint8Array): string {
  const a = B64URL_ALPHABET;
  let out = '';
  const n = bytes.length;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += a[v >>> 18]! + a[(v >>> 12) & 63]! + a[(v >>> 6) & 63]! + a[v & 63]!;
  }
  if (i + 1 === n) {
    const v = bytes[i]! << 16;
    out += a[v >>> 18]! + a[(v >>> 12) & 63]!;
  } else if (i + 2 === n) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += a[v >>> 18]! + a[(v >>> 12) & 63]! + a[(v >>> 6) & 63]!;
  }
  return out;
}

/**
 * A CSPRNG-backed `Random` that draws `poolSize` bytes at a time and hands out
 * slices, each zeroed in the pool as it is handed out (never reused). The
 * gateway draws several ids per request (request id, jti, audit event id); one
 * `getRandomValues` call per request instead of one per id is measurably cheaper
 * (bench/hot-path.ts).
 */
export function pooledRandom(poolSize = 4096): Random {
  let pool = new Uint8Array(0);
  let at = 0;
  const bytes = (length: number): Uint8Array => {
    if (length > poolSize) {
      const out = new Uint8Array(length);
      crypto.getRandomValues(out);
      return out;
    }
    if (at + length > pool.length) {
      pool = new Uint8Array(poolSize);
      crypto.getRandomValues(pool);
      at = 0;
    }
    const out = pool.slice(at, at + length);
    pool.fill(0, at, at + length);
    at += length;
    return out;
  };
  return { bytes, id: (length = 16) => base64url(bytes(length)) };
}

/** The process-wide CSPRNG source (pooled). */
export const cryptoRandom: Random = pooledRandom();

/**
 * Read a body stream whole, stopping (and cancelling the stream) as soon as it
 * exceeds `maxBytes`: null then. For bodies we must parse but never trust the size of.
 */
export async function readBoundedBytes(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<Uint8Array | null> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return all;
}

function emit(level: 'info' | 'warn' | 'error', event: string, fields?: LogFields): void {
  const line = JSON.stringify({ level, event, ...fields });
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
}

export const consoleLogger: Logger = {
  info: (event, fields) => emit('info', event, fields),
  warn: (event, fields) => emit('warn', event, fields),
  error: (event, fields) => emit('error', event, fields),
};

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** A clock frozen at `ms` that tests can move. */
export function fixedClock(ms: number): Clock & { set(ms: number): void; advance(ms: number): void } {
  let t = ms;
  return { now: () => t, set: (v) => void (t = v), advance: (d) => void (t += d) };
}
