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
// jtis as the guard receives them: 16 random bytes, base64url (22 characters), each a fresh string
// (cut from one random buffer per simulated second).
let pool = Buffer.alloc(0);
let at = 0;
const jti = () => {
  if (at + 16 > pool.length) {
    pool = randomBytes(16 * RATE);
    at = 0;
  }
  at += 16;
  return pool.toString('base64url', at - 16, at);
};

const before = heap();
const cache = createReplayCache({ maxEntries: 10_000_000 });
// Two full retention periods: the second replaces every entry of the first, so the figure includes what deletions
// leave behind in the tables (a single period measures ~25 % less).
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
if (peak !== entries) throw new Error(`the cache did not settle: peak ${peak}, now ${entries}`);
const cacheBytes = heap() - before;
// Floor: the same number of distinct jti strings, nothing else.
const floorBefore = heap();
const plain: string[] = new Array(entries);
for (let i = 0; i < entries; i++) plain[i] = jti();
const floorBytes = heap() - floorBefore;
process.stdout.write(`${JSON.stringify({ rate: RATE, ttl: TTL, skew: SKEW, simulatedSeconds: seconds, entries, peak, cacheBytes, floorBytes, keep: [cache.size, plain.length] })}\n`);
