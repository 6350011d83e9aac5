/**
 * Replay-cache memory at a sustained rate of distinct assertions, driven with a
 * simulated clock (run with --expose-gc). Prints one JSON line.
 * RATE (default 10000/s), TTL (default 30 s); skew 5 s as the guard uses.
 * Baseline: the same number of jti strings held in a plain array (the data itself).
 * Memory = JS heap plus ArrayBuffer backing stores, after two full GCs.
 */
import { randomBytes } from 'node:crypto';
import { createReplayCache } from '../../src/guard/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const RATE = Number(process.env.RATE ?? 10_000);
const TTL = Number(process.env.TTL ?? 30);
const SKEW = 5;
let pool = Buffer.alloc(0);
let at = 0;
/** JS heap plus ArrayBuffer backing stores (the jti table is a typed array, allocated outside the JS heap). */
const heap = () => {
  pool = Buffer.alloc(0); // the random source's buffer is not the cache's
  at = 0;
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
// jtis as the guard receives them: 16 random bytes, base64url (22 characters), each a fresh string
// (cut from one random buffer per simulated second).
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
// Held entries include expired ones not yet cleared (the table clears a few slots per call): settled means no growth.
if (peak > entries * 1.1) throw new Error(`the cache did not settle: peak ${peak}, now ${entries}`);
const cacheBytes = heap() - before;
// Floor: the jtis that must be held (rate × retention) as distinct strings, nothing else.
const live = RATE * (TTL + SKEW);
const floorBefore = heap();
const plain: string[] = new Array(live);
for (let i = 0; i < live; i++) plain[i] = jti();
const floorBytes = heap() - floorBefore;
process.stdout.write(`${JSON.stringify({ rate: RATE, ttl: TTL, skew: SKEW, simulatedSeconds: seconds, live, entries, peak, cacheBytes, floorBytes, keep: [cache.size, plain.length] })}\n`);
