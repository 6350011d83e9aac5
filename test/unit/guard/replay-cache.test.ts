import { describe, expect, it } from 'vitest';
import { createReplayCache } from '../../../src/guard/index.js';

const T = 1_767_225_600_000;

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

  it('when full refuses rather than evicting an unexpired jti', () => {
    const c = createReplayCache({ maxEntries: 3 });
    for (const j of ['a', 'b', 'c']) expect(c.checkAndInsert(j, T + 30_000, T)).toBe('fresh');
    expect(c.checkAndInsert('d', T + 30_000, T + 10)).toBe('full');
    // Still remembers every jti it holds.
    for (const j of ['a', 'b', 'c']) expect(c.checkAndInsert(j, T + 30_000, T + 20)).toBe('replayed');
    // Room again once entries expire, even beyond the incremental prune budget.
    expect(c.checkAndInsert('d', T + 90_000, T + 30_000)).toBe('fresh');
  });

  it('drains expired entries incrementally within its budget', () => {
    const c = createReplayCache({ pruneBudget: 10 });
    for (let i = 0; i < 100; i++) c.checkAndInsert(`j${i}`, T + 1_000, T);
    c.checkAndInsert('x', T + 60_000, T + 2_000);
    expect(c.size).toBe(91);
    for (let i = 0; i < 9; i++) c.checkAndInsert(`y${i}`, T + 60_000, T + 2_000);
    expect(c.size).toBe(10);
  });

  it('stays bounded by rate × retention under a steady stream (10 k/s for 90 s, simulated)', () => {
    const c = createReplayCache();
    const perSecond = 10_000;
    let peak = 0;
    let fresh = 0;
    for (let s = 0; s < 90; s++) {
      for (let i = 0; i < perSecond; i++) {
        const now = T + s * 1000 + Math.floor((i * 1000) / perSecond);
        if (c.checkAndInsert(`${s}-${i}`, now + 35_000, now) === 'fresh') fresh++;
      }
      peak = Math.max(peak, c.size);
    }
    expect(fresh).toBe(90 * perSecond);
    expect(peak).toBeLessThanOrEqual(37 * perSecond);
    expect(peak).toBeGreaterThanOrEqual(34 * perSecond);
  });

  it('rejects a nonsensical bound', () => {
    expect(() => createReplayCache({ maxEntries: 0 })).toThrow(RangeError);
  });
});
