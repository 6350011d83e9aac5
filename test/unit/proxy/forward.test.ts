// Endpoint choice and failover rules for the forward path (src/proxy/forward.ts), in Node.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Endpoint, Workload } from '../../../src/catalog/index.js';
import { isTollgateError } from '../../../src/errors.js';
import { endpointsToTry, mayFailOver, RecentFailures } from '../../../src/proxy/index.js';

const ep = (id: string, health: Endpoint['health']): Endpoint => ({ id, url: `http://127.0.0.1:${9000 + id.length}`, location: 'onprem', source: 'static', health });
const workload = (...endpoints: Endpoint[]): Workload => ({ id: 'w', name: 'W', hosts: ['w.localhost'], endpoints });
const ids = (es: Endpoint[]) => es.map((e) => e.id);

describe('endpointsToTry', () => {
  it.each([
    ['one of unknown health', [ep('a', 'unknown')], [], ['a']],
    ['healthy before unknown, catalog order within each', [ep('u1', 'unknown'), ep('h1', 'healthy'), ep('u2', 'unknown'), ep('h2', 'healthy')], [], ['h1', 'h2', 'u1', 'u2']],
    ['unhealthy never', [ep('x', 'unhealthy'), ep('a', 'unknown')], [], ['a']],
    ['a recent failure goes behind the others of its health', [ep('h1', 'healthy'), ep('h2', 'healthy'), ep('u1', 'unknown')], ['h1'], ['h2', 'h1', 'u1']],
    ['a failed healthy one still comes before unknown ones that failed too', [ep('u1', 'unknown'), ep('h1', 'healthy')], ['h1', 'u1'], ['h1', 'u1']],
    ['all failed recently: all tried, in the usual order', [ep('a', 'unknown'), ep('b', 'unknown')], ['a', 'b'], ['a', 'b']],
  ] as const)('%s', (_name, endpoints, failed, expected) => {
    expect(ids(endpointsToTry(workload(...endpoints), (e) => (failed as readonly string[]).includes(e.id)))).toEqual(expected);
  });

  it('none usable: upstream-unreachable', () => {
    for (const w of [workload(), workload(ep('x', 'unhealthy'))]) {
      expect(() => endpointsToTry(w)).toThrow(expect.toSatisfy((e: unknown) => isTollgateError(e) && e.code === 'upstream-unreachable'));
    }
  });

  it('tries every usable endpoint exactly once, never an unhealthy one (property)', () => {
    const health = fc.constantFrom<Endpoint['health']>('healthy', 'unknown', 'unhealthy');
    fc.assert(
      fc.property(fc.array(fc.tuple(health, fc.boolean()), { minLength: 1, maxLength: 8 }), (spec) => {
        const endpoints = spec.map(([h], i) => ep(`e${i}`, h));
        const failed = new Set(spec.flatMap(([, f], i) => (f ? [`e${i}`] : [])));
        const usable = endpoints.filter((e) => e.health !== 'unhealthy');
        if (usable.length === 0) return;
        const order = endpointsToTry(workload(...endpoints), (e) => failed.has(e.id));
        expect([...ids(order)].sort()).toEqual(ids(usable).sort());
        // Healthy before unknown; within a health, not-failed before failed.
        const rank = (e: Endpoint) => (e.health === 'healthy' ? 0 : 2) + (failed.has(e.id) ? 1 : 0);
        for (let i = 1; i < order.length; i++) expect(rank(order[i - 1]!)).toBeLessThanOrEqual(rank(order[i]!));
      }),
    );
  });
});

describe('mayFailOver', () => {
  const body = new ReadableStream<Uint8Array>();
  it.each([
    ['GET', null, true],
    ['HEAD', null, true],
    ['OPTIONS', null, true],
    ['DELETE', null, true],
    ['PUT', null, true],
    ['TRACE', null, true],
    ['GET', body, true], // GET and HEAD never send a body
    ['PUT', body, false],
    ['DELETE', body, false],
    ['POST', null, false],
    ['POST', body, false],
    ['PATCH', null, false],
    ['get', null, false], // not a standard method as sent: not known to be idempotent
    ['PROPFIND', null, false],
  ] as const)('%s with %s body: %s', (method, b, expected) => {
    expect(mayFailOver(method, b === null ? null : b)).toBe(expected);
  });
});

describe('RecentFailures', () => {
  it('holds a failure for its period, forgets it after, or on success', () => {
    const f = new RecentFailures(30_000);
    const a = ep('a', 'unknown');
    const b = ep('b', 'unknown');
    expect(f.recently(a, 0)).toBe(false);
    f.failed(a, 1_000);
    expect(f.recently(a, 30_999)).toBe(true);
    expect(f.recently(b, 2_000)).toBe(false);
    expect(f.recently(a, 31_000)).toBe(false);
    f.failed(a, 40_000);
    f.succeeded(a);
    expect(f.recently(a, 40_001)).toBe(false);
  });

  it('is bounded: the oldest failure leaves first', () => {
    const f = new RecentFailures(60_000, 2);
    const [a, b, c] = [ep('a', 'unknown'), ep('b', 'unknown'), ep('c', 'unknown')];
    f.failed(a, 0);
    f.failed(b, 0);
    f.failed(c, 0);
    expect([f.recently(a, 1), f.recently(b, 1), f.recently(c, 1)]).toEqual([false, true, true]);
  });
});
