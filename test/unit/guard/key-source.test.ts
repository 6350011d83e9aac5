/**
 * The JWKS cache with an injected fetch and a fake clock: refresh period,
 * unknown-kid refresh, rate limit that a flood cannot postpone, shared
 * in-flight fetches, fail-closed start and recovery.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { JWK } from 'jose';
import { fixedClock } from '../../../src/platform/index.js';
import { createRemoteKeySource, createStaticKeySource, type FetchLike } from '../../../src/guard/index.js';
import { jwksOf, makeKey, NOW, recordingLogger, type TestKey } from './helpers.js';

let a: TestKey;
let b: TestKey;
let p256: TestKey;

beforeAll(async () => {
  a = await makeKey('EdDSA', 'a');
  b = await makeKey('EdDSA', 'b');
  p256 = await makeKey('ES256', 'p');
});

/** A fake JWKS endpoint: mutable key set, up/down, optional delay, counts calls. */
function fakeJwks(initial: { keys: unknown[] }) {
  const state = {
    body: JSON.stringify(initial) as string,
    status: 200,
    fail: false,
    calls: 0,
    gate: undefined as Promise<void> | undefined,
    set(jwks: { keys: unknown[] }) {
      state.body = JSON.stringify(jwks);
    },
  };
  const fetch: FetchLike = async () => {
    state.calls++;
    if (state.gate) await state.gate;
    if (state.fail) throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    const body = state.body;
    return { status: state.status, headers: { get: () => null }, text: async () => body };
  };
  return { state, fetch };
}

function source(fetch: FetchLike, clock = fixedClock(NOW), extra: Partial<Parameters<typeof createRemoteKeySource>[0]> = {}) {
  return { clock, keys: createRemoteKeySource({ url: 'http://127.0.0.1:1/jwks', fetch, clock, ...extra }) };
}

describe('remote key source', () => {
  it('loads on first use, finds keys by kid, and imports each key once', async () => {
    const { state, fetch } = fakeJwks(jwksOf(a, p256));
    const { keys } = source(fetch);
    expect(keys.ready()).toBe(false);
    const first = await keys.lookup('a');
    expect(first).toMatchObject({ status: 'found', key: { kid: 'a', alg: 'EdDSA' } });
    expect(await keys.lookup('p')).toMatchObject({ status: 'found', key: { alg: 'ES256' } });
    expect(keys.ready()).toBe(true);
    expect(state.calls).toBe(1);
    await keys.refresh();
    const again = await keys.lookup('a');
    expect(again.status === 'found' && first.status === 'found' && again.key.key).toBe(first.status === 'found' && first.key.key);
  });

  it('refreshes at least every 60 s while in use', async () => {
    const { state, fetch } = fakeJwks(jwksOf(a));
    const { keys, clock } = source(fetch, fixedClock(NOW), { refreshSeconds: 600 });
    await keys.lookup('a');
    clock.advance(59_000);
    await keys.lookup('a');
    expect(state.calls).toBe(1);
    clock.advance(1_000);
    await keys.lookup('a');
    await keys.refresh();
    expect(state.calls).toBe(2);
  });

  it('accepts a newly published kid on the next miss after the rate-limit interval', async () => {
    const { state, fetch } = fakeJwks(jwksOf(a));
    const { keys, clock } = source(fetch);
    await keys.lookup('a');
    state.set(jwksOf(a, b));
    // Just after a fetch: rate-limited, no new fetch.
    clock.advance(1_000);
    expect(await keys.lookup('b')).toEqual({ status: 'unknown' });
    expect(state.calls).toBe(1);
    clock.advance(4_000);
    expect(await keys.lookup('b')).toMatchObject({ status: 'found' });
    expect(state.calls).toBe(2);
  });

  it('is not postponed by a flood of unknown kids: one refresh per interval, new key found within it', async () => {
    const { state, fetch } = fakeJwks(jwksOf(a));
    const { keys, clock } = source(fetch, fixedClock(NOW), { minUnknownKidIntervalMs: 5_000 });
    await keys.lookup('a');
    let publishedAt = -1;
    let foundAt = -1;
    for (let t = 0; t <= 60_000; t += 100) {
      clock.set(NOW + t);
      if (t === 20_000) {
        state.set(jwksOf(a, b));
        publishedAt = t;
      }
      await keys.lookup(`junk-${t}`);
      if (foundAt < 0 && publishedAt >= 0 && (await keys.lookup('b')).status === 'found') foundAt = t;
    }
    expect(foundAt).toBeGreaterThanOrEqual(publishedAt);
    expect(foundAt - publishedAt).toBeLessThanOrEqual(5_000);
    // 60 s of continuous misses: ~12 refreshes (+1 initial), never more than one per interval.
    expect(state.calls).toBeLessThanOrEqual(1 + 60_000 / 5_000 + 1);
    expect(state.calls).toBeGreaterThanOrEqual(10);
  });

  it('caps the unknown-kid interval at 10 s and the refresh period at 60 s', async () => {
    const { state, fetch } = fakeJwks(jwksOf(a));
    const { keys, clock } = source(fetch, fixedClock(NOW), { minUnknownKidIntervalMs: 3_600_000, refreshSeconds: 3600 });
    await keys.lookup('a');
    state.set(jwksOf(a, b));
    clock.advance(10_000);
    expect(await keys.lookup('b')).toMatchObject({ status: 'found' });
  });

  it('shares one in-flight fetch between concurrent misses', async () => {
    const { state, fetch } = fakeJwks(jwksOf(a, b));
    let open!: () => void;
    state.gate = new Promise((r) => (open = r));
    const { keys } = source(fetch);
    const pending = Promise.all(Array.from({ length: 50 }, (_, i) => keys.lookup(i % 2 ? 'a' : 'b')));
    open();
    const results = await pending;
    expect(results.every((r) => r.status === 'found')).toBe(true);
    expect(state.calls).toBe(1);
  });

  it('fails closed while no key set was ever loaded, retries, and recovers', async () => {
    const { state, fetch } = fakeJwks(jwksOf(a));
    state.fail = true;
    const log = recordingLogger();
    const { keys, clock } = source(fetch, fixedClock(NOW), { logger: log });
    expect(await keys.lookup('a')).toEqual({ status: 'unavailable' });
    expect(keys.ready()).toBe(false);
    expect(log.events.some((e) => e.event === 'guard.jwks_fetch_failed' && e.error === 'ECONNREFUSED')).toBe(true);
    clock.advance(5_000);
    expect(await keys.lookup('a')).toEqual({ status: 'unavailable' });
    state.fail = false;
    clock.advance(5_000);
    expect(await keys.lookup('a')).toMatchObject({ status: 'found' });
    expect(keys.ready()).toBe(true);
  });

  it('keeps the cached keys when the JWKS becomes unreachable, answers 5xx or serves junk', async () => {
    const { state, fetch } = fakeJwks(jwksOf(a));
    const { keys, clock } = source(fetch);
    await keys.lookup('a');
    for (const breakIt of [
      () => (state.fail = true),
      () => ((state.fail = false), (state.status = 503)),
      () => ((state.status = 200), state.set({ keys: [] })),
      () => (state.body = 'not json'),
      () => (state.body = JSON.stringify({ keys: [{ kty: 'RSA', kid: 'r', n: 'x', e: 'AQAB' }] })),
    ]) {
      breakIt();
      clock.advance(61_000);
      await keys.refresh();
      expect(await keys.lookup('a')).toMatchObject({ status: 'found' });
    }
    expect(keys.ready()).toBe(true);
  });

  it('drops a key the JWKS no longer publishes (rotation)', async () => {
    const { state, fetch } = fakeJwks(jwksOf(a, b));
    const { keys, clock } = source(fetch);
    await keys.lookup('a');
    state.set(jwksOf(b));
    clock.advance(60_000);
    await keys.refresh();
    expect(await keys.lookup('a')).toEqual({ status: 'unknown' });
    expect(await keys.lookup('b')).toMatchObject({ status: 'found' });
  });

  it('accepts only OKP/Ed25519 and EC/P-256 signing keys with a kid', async () => {
    const okp = a.publicJwk as JWK;
    const ec = p256.publicJwk as JWK;
    const jwks = {
      keys: [
        { ...okp, kid: undefined },
        { ...okp, kid: 'enc', use: 'enc' },
        { ...okp, kid: 'wrong-alg', alg: 'ES256' },
        { ...okp, kid: 'x448', crv: 'X448' },
        { ...ec, kid: 'p384', crv: 'P-384' },
        { kty: 'oct', kid: 'hmac', k: 'c2VjcmV0' },
        { kty: 'RSA', kid: 'rsa', n: 'AQAB', e: 'AQAB' },
        { ...okp, kid: 'bad-x', x: 'AAAA' },
        'not an object',
        { ...okp, kid: 'ok-okp' },
        { ...ec, kid: 'ok-ec' },
        { ...ec, kid: 'ok-okp' },
      ],
    };
    const keys = await createStaticKeySource(jwks);
    const { fetch } = fakeJwks(jwks);
    const remote = source(fetch).keys;
    for (const k of [keys, remote]) {
      for (const kid of ['enc', 'wrong-alg', 'x448', 'p384', 'hmac', 'rsa', 'bad-x']) expect(await k.lookup(kid)).toEqual({ status: 'unknown' });
      expect(await k.lookup('ok-okp')).toMatchObject({ status: 'found', key: { alg: 'EdDSA' } });
      expect(await k.lookup('ok-ec')).toMatchObject({ status: 'found', key: { alg: 'ES256' } });
    }
  });

  it('refreshes in the background after start() and stops on close()', async () => {
    const { state, fetch } = fakeJwks(jwksOf(a));
    state.fail = true;
    const clock = { now: () => Date.now() };
    const keys = createRemoteKeySource({ url: 'http://127.0.0.1:1/jwks', fetch, clock, retryMs: 100 });
    keys.start();
    await new Promise((r) => setTimeout(r, 50));
    expect(keys.ready()).toBe(false);
    state.fail = false;
    const deadline = Date.now() + 3_000;
    while (!keys.ready() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    expect(keys.ready()).toBe(true);
    keys.close();
    const calls = state.calls;
    await new Promise((r) => setTimeout(r, 400));
    expect(state.calls).toBe(calls);
  });
});
