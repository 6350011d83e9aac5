/**
 * A `Random` (src/platform) that asks the CSPRNG for 4 KiB at a time and hands
 * out slices, with table-driven base64url. Proposed for src/platform: the
 * gateway draws three 16-byte ids per request (request id, jti, audit event
 * id); in Node each `getRandomValues` call is a synchronous crypto job
 * (~7 µs here), in workerd a BoringSSL call. Bytes handed out are never reused.
 */
import type { Random } from '../../src/platform/index.js';
import { base64urlEncode } from '../../src/token/index.js';

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
  return {
    bytes,
    id: (length = 16) => base64urlEncode(bytes(length)),
  };
}
