import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createReplayCache } from '../../../src/guard/index.js';
import { decodeJti16 } from '../../../src/guard/replay-cache.js';

const T = 1_767_225_600_000;

// jtis as the gateway mints them (16 bytes, canonical base64url), numbered.
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const words = (bytes: Uint8Array) => Array.from({ length: 4 }, (_, i) => Buffer.from(bytes).readUInt32BE(4 * i));
const jtiOf = (n: number) => {
  const bytes = new Uint8Array(16);
  new DataView(bytes.buffer).setUint32(12, n);
  bytes[0] = 0xa5;
  return b64(bytes);
};

describe('replay cache', () => {
  it('answers fresh once, then replayed', () => {
    const c = createReplayCache();
    expect(c.checkAndInsert('a', T + 35_000, T)).toBe('fresh');
    expect(c.checkAndInsert('a', T + 35_000, T + 1)).toBe('replayed');
    expect(c.checkAndInsert('b', T + 35_000, T + 2)).toBe('fresh');
    expect(c.size).toBe(2);
  });

  it('keeps a jti until its expiry and forgets it after', () => {
    const c = createReplayCache();
    c.checkAndInsert('a', T + 35_000, T);
    expect(c.checkAndInsert('a', T + 35_000, T + 34_999)).toBe('replayed');
    c.checkAndInsert('tick', T + 100_000, T + 35_000);
    expect(c.size).toBe(1);
    expect(c.checkAndInsert('a', T + 70_000, T + 35_001)).toBe('fresh');
  });

  it('rounds expiry up to the second, never down', () => {
    const c = createReplayCache();
    c.checkAndInsert('a', T + 1_500, T);
    expect(c.checkAndInsert('a', T + 1_500, T + 1_600)).toBe('replayed');
    expect(c.checkAndInsert('a', T + 5_000, T + 2_000)).toBe('fresh');
  });

  it.each([
    ['other jti strings', ['a', 'b', 'c', 'd']],
    ['minted jtis', [1, 2, 3, 4].map((n) => jtiOf(n))],
  ])('when full refuses rather than evicting an unexpired jti (%s)', (_kind, [a, b, c3, d]) => {
    const c = createReplayCache({ maxEntries: 3 });
    for (const j of [a!, b!, c3!]) expect(c.checkAndInsert(j, T + 30_000, T)).toBe('fresh');
    expect(c.checkAndInsert(d!, T + 30_000, T + 10)).toBe('full');
    // Still remembers every jti it holds.
    for (const j of [a!, b!, c3!]) expect(c.checkAndInsert(j, T + 30_000, T + 20)).toBe('replayed');
    // Room again once entries expire, even beyond the incremental prune budget.
    expect(c.checkAndInsert(d!, T + 90_000, T + 30_000)).toBe('fresh');
  });

  it('drains expired entries incrementally within its budget', () => {
    const c = createReplayCache({ pruneBudget: 10 });
    for (let i = 0; i < 100; i++) c.checkAndInsert(`j${i}`, T + 1_000, T);
    c.checkAndInsert('x', T + 60_000, T + 2_000);
    expect(c.size).toBe(91);
    for (let i = 0; i < 9; i++) c.checkAndInsert(`y${i}`, T + 60_000, T + 2_000);
    expect(c.size).toBe(10);
  });

  it.each([
    // The table's count includes expired slots its sweep has not reached yet.
    ['other jti strings', (n: number) => `j${n}`, 37],
    ['minted jtis', jtiOf, 40],
  ] as const)('a steady stream (10 k/s for 90 s, simulated, %s): every use fresh, every replay refused, size bounded', (_kind, jti, maxSeconds) => {
    const c = createReplayCache();
    const perSecond = 10_000;
    let peak = 0;
    let fresh = 0;
    let refused = 0;
    let replays = 0;
    for (let s = 0; s < 90; s++) {
      for (let i = 0; i < perSecond; i++) {
        const now = T + s * 1000 + Math.floor((i * 1000) / perSecond);
        if (c.checkAndInsert(jti(s * perSecond + i), now + 35_000, now) === 'fresh') fresh++;
        // A replay of the use one second earlier (still held).
        if (s > 0 && i % 97 === 0) {
          replays++;
          if (c.checkAndInsert(jti((s - 1) * perSecond + i), now + 35_000, now) === 'replayed') refused++;
        }
      }
      peak = Math.max(peak, c.size);
    }
    expect(fresh).toBe(90 * perSecond);
    expect(refused).toBe(replays);
    expect(peak).toBeLessThanOrEqual(maxSeconds * perSecond);
    expect(peak).toBeGreaterThanOrEqual(34 * perSecond);
  });

  it('rejects a nonsensical bound', () => {
    expect(() => createReplayCache({ maxEntries: 0 })).toThrow(RangeError);
  });
});

describe('decodeJti16', () => {
  it('decodes any 16 bytes as minted (canonical base64url) into four big-endian words', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const out = new Uint32Array(4);
        expect(decodeJti16(b64(bytes), out)).toBe(true);
        expect([...out]).toEqual(words(bytes));
      }),
    );
  });

  it.each([
    ['21 characters', 'AAAAAAAAAAAAAAAAAAAAA'],
    ['23 characters', 'AAAAAAAAAAAAAAAAAAAAAAA'],
    ['padding', 'AAAAAAAAAAAAAAAAAAAA=='],
    ['standard base64 alphabet', 'AAAAAAAAAAAAAAAAAAAA+A'],
    ['a space', 'AAAAAAAAAAAAAAAAAAAA A'],
    ['non-ASCII', 'AAAAAAAAAAAAAAAAAAAAÀA'],
    ['unused bits set in the last character (non-canonical)', 'AAAAAAAAAAAAAAAAAAAAAB'],
    ['empty', ''],
  ])('refuses %s', (_name, jti) => {
    expect(decodeJti16(jti, new Uint32Array(4))).toBe(false);
  });

  it('accepts exactly the four canonical last characters', () => {
    const ok = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'].filter((c) => decodeJti16(`AAAAAAAAAAAAAAAAAAAAA${c}`, new Uint32Array(4)));
    expect(ok).toEqual(['A', 'Q', 'g', 'w']);
  });
});

/**
 * The reference: a jti is held from its use until its expiry second has begun (rounded up, as the cache does);
 * "full" when the live entries already reach the limit.
 */
function model(maxEntries: number) {
  const held = new Map<string, number>();
  return {
    checkAndInsert(jti: string, expiresAtMs: number, nowMs: number) {
      for (const [j, s] of held) if (s * 1000 <= nowMs) held.delete(j);
      if (held.has(jti)) return 'replayed';
      if (held.size >= maxEntries) return 'full';
      held.set(jti, Math.ceil(expiresAtMs / 1000));
      return 'fresh';
    },
    get live() {
      return held.size;
    },
  };
}

describe('replay cache, minted jtis (the typed-array table)', () => {
  it('agrees with the reference on any sequence of uses, repeats, limits and clock steps', () => {
    const op = fc.record({ jti: fc.nat(1500), ttlMs: fc.integer({ min: 1, max: 20_000 }), stepMs: fc.oneof(fc.constant(0), fc.nat(50), fc.nat(3_000)) });
    fc.assert(
      fc.property(fc.constantFrom(5, 700, 1_000_000), fc.array(op, { minLength: 1, maxLength: 2_500 }), (maxEntries, ops) => {
        const c = createReplayCache({ maxEntries });
        const m = model(maxEntries);
        let now = T;
        for (const { jti, ttlMs, stepMs } of ops) {
          now += stepMs;
          const j = jtiOf(jti);
          expect(c.checkAndInsert(j, now + ttlMs, now)).toBe(m.checkAndInsert(j, now + ttlMs, now));
          expect(c.size).toBeGreaterThanOrEqual(m.live);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('grows past its first table and keeps every jti (5,000 held at once, then each refused once more)', () => {
    const c = createReplayCache();
    for (let i = 0; i < 5_000; i++) expect(c.checkAndInsert(jtiOf(i), T + 60_000, T + i)).toBe('fresh');
    for (let i = 0; i < 5_000; i++) expect(c.checkAndInsert(jtiOf(i), T + 60_000, T + 5_000 + i)).toBe('replayed');
    expect(c.size).toBe(5_000);
  });

  it('the limit counts minted and other jtis together', () => {
    const c = createReplayCache({ maxEntries: 2 });
    expect(c.checkAndInsert('other-1', T + 30_000, T)).toBe('fresh');
    expect(c.checkAndInsert(jtiOf(1), T + 30_000, T)).toBe('fresh');
    expect(c.checkAndInsert(jtiOf(2), T + 30_000, T)).toBe('full');
    expect(c.checkAndInsert('other-2', T + 30_000, T)).toBe('full');
    expect(c.size).toBe(2);
  });

  it('a non-canonical spelling of a held jti is a different jti (stored as a string), never a match', () => {
    const c = createReplayCache();
    expect(c.checkAndInsert('AAAAAAAAAAAAAAAAAAAAAA', T + 30_000, T)).toBe('fresh');
    expect(c.checkAndInsert('AAAAAAAAAAAAAAAAAAAAAB', T + 30_000, T)).toBe('fresh');
    expect(c.checkAndInsert('AAAAAAAAAAAAAAAAAAAAAB', T + 30_000, T)).toBe('replayed');
  });
});
