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

export function base64url(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export const cryptoRandom: Random = {
  bytes(length) {
    const out = new Uint8Array(length);
    crypto.getRandomValues(out);
    return out;
  },
  id(length = 16) {
    return base64url(this.bytes(length));
  },
};

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
