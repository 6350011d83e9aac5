/**
 * Replay-cache memory at a sustained rate of distinct assertions, driven with a
 * simulated clock (run with --expose-gc). Prints one JSON line.
 * RATE (default 10000/s), TTL (default 30 s); skew 5 s as the guard uses.
 * Baseline: the same number of jti strings held in a plain array (the data itself).
 */
import { randomBytes } from 'node:crypto';
import { createReplayCache } from '../../src/guard/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const RATE = Number(process.env.RATE ?? 10_000);
const TTL = Number(process.env.TTL ?? 30);
const SKEW = 5;
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
// jtis as the guard receives them: 16 random bytes, base64url (22 characters), each a fresh string.
const jti = () => randomBytes(16).toString('base64url');

const before = heap();
const cache = createReplayCache({ maxEntries: 10_000_000 });
const seconds = 2 * (TTL + SKEW) + 2;
const t0 = 1_795_000_000_000;
let peak = 0;
for (let s = 0; s < seconds; s++) {
  for (let i = 0; i < RATE; i++) {
    const now = t0 + s * 1000 + Math.floor((i * 1000) / RATE);
    const exp = Math.floor(now / 1000) + TTL;
    if (cache.checkAndInsert(jti(), (exp + SKEW) * 1000, now) !== 'fresh') throw new Error('unexpected refusal');
  }
  peak = Math.max(peak, cache.size);
}
const entries = cache.size;
const cacheBytes = heap() - before;
// Floor: the same number of distinct jti strings, nothing else.
const floorBefore = heap();
const plain: string[] = new Array(entries);
for (let i = 0; i < entries; i++) plain[i] = jti();
const floorBytes = heap() - floorBefore;
process.stdout.write(`${JSON.stringify({ rate: RATE, ttl: TTL, skew: SKEW, simulatedSeconds: seconds, entries, peak, cacheBytes, floorBytes, keep: [cache.size, plain.length] })}\n`);
