import { describe, expect, it } from 'vitest';
import { slidingWindow, type WindowState } from '../../../src/ratelimit/window.js';
import { memoryLimiter } from '../../../src/ratelimit/memory.js';
import { fixedClock } from '../../../src/platform/index.js';

describe('sliding window (one-second slots)', () => {
  it('60/min: a burst of 60, then 429 with Retry-After until the burst leaves the window', () => {
    let state: WindowState = [];
    const now = 1_000_000_500;
    for (let i = 0; i < 60; i++) {
      const v = slidingWindow(state, now, 60, 60);
      expect(v.ok).toBe(true);
      state = v.state;
    }
    expect(state).toEqual([[1_000_000, 60]]);
    expect(slidingWindow(state, now, 60, 60)).toMatchObject({ ok: false, retryAfterSeconds: 60 });
    expect(slidingWindow(state, now + 30_000, 60, 60)).toMatchObject({ ok: false, retryAfterSeconds: 30 });
    expect(slidingWindow(state, now + 59_499, 60, 60).ok).toBe(false);
    expect(slidingWindow(state, now + 59_500, 60, 60).ok).toBe(true);
  });

  it('Retry-After counts only the seconds that must leave', () => {
    const state: WindowState = [[100, 2], [110, 1], [120, 3]];
    expect(slidingWindow(state, 125_000, 6, 60)).toMatchObject({ ok: false, retryAfterSeconds: 35 });
    expect(slidingWindow(state, 125_000, 5, 60)).toMatchObject({ ok: false, retryAfterSeconds: 35 });
    expect(slidingWindow(state, 125_000, 4, 60)).toMatchObject({ ok: false, retryAfterSeconds: 45 });
    expect(slidingWindow(state, 125_000, 7, 60)).toMatchObject({ ok: true, remaining: 0 });
  });

  it('never allows more than the limit in any window of the period, and keeps at most period slots', async () => {
    const clock = fixedClock(0);
    const limiter = memoryLimiter(clock);
    const allowed: number[] = [];
    for (let t = 0; t < 300_000; t += 250) {
      clock.set(t);
      if ((await limiter.take('c', 10, 60)).ok) allowed.push(t);
    }
    for (const start of allowed) expect(allowed.filter((t) => t >= start && t < start + 60_000).length).toBeLessThanOrEqual(10);
    expect(allowed.length).toBe(50);
    let state: WindowState = [];
    for (let t = 0; t < 200_000; t += 100) state = slidingWindow(state, t, 1e6, 60).state;
    expect(state.length).toBeLessThanOrEqual(60);
  });

  it('single use: an id is accepted once until it expires', async () => {
    const clock = fixedClock(1_000_000);
    const l = memoryLimiter(clock);
    expect(await l.useOnce('c', 'jti-1', 1100)).toBe(true);
    expect(await l.useOnce('c', 'jti-1', 1100)).toBe(false);
    expect(await l.useOnce('other', 'jti-1', 1100)).toBe(true);
    clock.set(1_100_000);
    expect(await l.useOnce('c', 'jti-1', 1200)).toBe(true);
  });
});
