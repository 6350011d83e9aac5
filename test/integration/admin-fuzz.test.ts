/**
 * Fuzz (fast-check) of every admin endpoint with malformed JSON, bodies,
 * path and query parameters and headers: no response is ≥ 500, and a refused
 * request (any 4xx) leaves the stored configuration — every config table,
 * the change records and the published version — exactly as it was.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { adminToken, auditorToken, call, configDigest, seedAdminRoles } from './support/admin.js';
import { GATEWAY_ORIGIN } from './support/constants.js';

// ~90 ms a run (two digests of every config table per request). FUZZ_RUNS=2000 for a long session.
const RUNS = Number((globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.FUZZ_RUNS ?? 150);

let admin = '';
let auditor = '';

beforeAll(async () => {
  await seedAdminRoles();
  admin = await adminToken();
  auditor = await auditorToken();
  expect((await call('POST', '/deny-rules', { body: { id: 'fuzz-rule', subjects: { everyone: true }, workload: 'nothing' } })).status).toBe(201);
});

const KNOWN_IDS = ['tg-admin', 'billing-user', 'eng-inventory', 'inventory', 'fuzz-rule', 'no-forbidden'];

const idArb = fc.oneof(
  fc.constantFrom(...KNOWN_IDS),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.constantFrom('%zz', '%00', '..', '.', '%2e%2e', 'a%2Fb', 'x'.repeat(300), '%F0%9F%92%A9', '-x', '~', ''),
);

const pathArb = fc.oneof(
  fc.constantFrom('/roles', '/bindings', '/deny-rules', '/workloads', '/sessions', '/sessions:revoke', '/openapi.json', '/docs', ''),
  idArb.map((id) => `/roles/${id}`),
  idArb.map((id) => `/bindings/${id}`),
  idArb.map((id) => `/deny-rules/${id}`),
  idArb.map((id) => `/workloads/${id}`),
  idArb.map((id) => `/sessions/${id}`),
  fc.string({ maxLength: 30 }).map((s) => `/${encodeURIComponent(s)}`),
);

const queryArb = fc.oneof(
  fc.constant(''),
  fc
    .array(
      fc.tuple(
        fc.constantFrom('limit', 'cursor', 'subject', 'active', 'role_id', 'junk', 'limit', 'workload', 'decision', 'from', 'to', 'kind', 'dry_run'),
        fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('0', '201', '-1', '1e3', '50', 'true', 'eyJsIjoicm9sZSIsImEiOiJ4In0', '')),
      ),
      { maxLength: 4 },
    )
    .map((pairs) => `?${new URLSearchParams(pairs)}`),
  fc.constantFrom('?limit=%zz', '?%', '?cursor=%FF%FE', '?limit=1&limit=2'),
);

const validBodies: Record<string, unknown>[] = [
  { id: 'fz-role', permissions: ['auditor'], grants: [{ id: 'g', workload: 'inventory', methods: ['GET'], paths: ['/x/**'], conditions: { mfa: true } }] },
  { id: 'fz-bind', subject: { kind: 'group', value: 'fz' }, role_id: 'billing-user', expires_at: 4102444800 },
  { id: 'fz-deny', subjects: { groups: ['x'] }, workload: 'inventory', conditions: { source_cidrs: ['10.0.0.0/8'] } },
  { id: 'fz-work', name: 'F', hosts: ['fz.localhost:8787'], endpoints: [{ id: 'fz-1', url: 'http://127.0.0.1:1' }] },
  { subject: 'user:x:y' },
  { subject: { kind: 'user', id: 'user:x:y', sub: 'y', groups: ['g'] }, request: { workload: 'inventory', method: 'GET', path: '/' } },
  { roles: [], bindings: [], deny_rules: [], workloads: [] },
];

/** Replace one node of a valid body (at a random depth) with an arbitrary JSON value. */
function mutate(value: unknown, path: number[], replacement: unknown): unknown {
  if (path.length === 0 || value === null || typeof value !== 'object') return replacement;
  const keys = Object.keys(value as object);
  if (keys.length === 0) return replacement;
  const k = keys[path[0]! % keys.length]!;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...(value as Record<string, unknown>) };
  (copy as Record<string, unknown>)[k] = mutate((value as Record<string, unknown>)[k], path.slice(1), replacement);
  return copy;
}

const jsonValue = fc.jsonValue({ maxDepth: 3 });
const bodyArb = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...validBodies), fc.array(fc.nat(), { maxLength: 5 }), jsonValue).map(([b, p, r]) => JSON.stringify(mutate(b, p, r))) },
  { weight: 2, arbitrary: jsonValue.map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.string({ maxLength: 80 }) },
  { weight: 1, arbitrary: fc.constantFrom('', '{', '{"id":', '[]', 'null', '"x"', '{"__proto__":{"admin":true}}', '{"id":"a","id":"b"}', '{"constructor":{"prototype":{}}}', '\u0000', '{"a":' + '['.repeat(2000)) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/problem+json', 'garbage', '') },
);
const ifMatch = fc.oneof(
  fc.string({ maxLength: 20 }).filter((s) => !/[\r\n\0]/.test(s)),
  fc.constantFrom('*', '"1"', 'W/"1"', '"1", "2"', '""', '"-1"', '"99999999999999999999"', '"2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"'),
);
/** Credentials and cross-site headers, in a minority of runs (they stop a request before validation). */
const noise = fc.record(
  {
    authorization: fc.constantFrom('Bearer x', 'Basic a', 'Bearer', ''),
    cookie: fc.constantFrom('tg_session=x', 'tg_session=', '=;=;'),
    origin: fc.constantFrom('null', 'http://evil.example', GATEWAY_ORIGIN),
    'sec-fetch-site': fc.constantFrom('same-origin', 'cross-site', 'none', 'same-site', 'x'),
  },
  { requiredKeys: [] },
);
const headerArb = fc
  .tuple(
    fc.record({ 'content-type': contentType, 'if-match': ifMatch, accept: fc.constantFrom('application/json', 'text/html', '*/*') }, { requiredKeys: ['content-type'] }),
    fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: noise }),
  )
  .map(([base, extra]) => ({ ...base, ...(extra ?? {}) }) as Record<string, string | undefined>);

const methodArb = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS');

/** Every documented endpoint ({id} filled in from idArb), plus any method on any path. */
const ENDPOINTS: [string, string][] = [
  ['GET', '/roles'], ['POST', '/roles'], ['GET', '/roles/{id}'], ['PUT', '/roles/{id}'], ['DELETE', '/roles/{id}'],
  ['GET', '/bindings'], ['POST', '/bindings'], ['GET', '/bindings/{id}'], ['PUT', '/bindings/{id}'], ['DELETE', '/bindings/{id}'],
  ['GET', '/deny-rules'], ['POST', '/deny-rules'], ['GET', '/deny-rules/{id}'], ['PUT', '/deny-rules/{id}'], ['DELETE', '/deny-rules/{id}'],
  ['GET', '/workloads'], ['POST', '/workloads'], ['GET', '/workloads/{id}'], ['PUT', '/workloads/{id}'], ['DELETE', '/workloads/{id}'],
  ['GET', '/sessions'], ['POST', '/sessions:revoke'], ['GET', '/sessions/{id}'], ['DELETE', '/sessions/{id}'],
  ['GET', '/openapi.json'], ['GET', '/docs'],
  ['GET', '/audit'], ['GET', '/audit/export'], ['POST', '/decisions:simulate'], ['POST', '/decisions:replay'], ['GET', '/policy'], ['PUT', '/policy'],
];
const routeArb = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...ENDPOINTS), idArb).map(([[m, p], id]) => [m, p.replace('{id}', id)] as const) },
  { weight: 1, arbitrary: fc.tuple(methodArb, pathArb) },
);
const whoArb = fc.constantFrom<'admin' | 'auditor' | 'none' | 'header'>('admin', 'admin', 'admin', 'auditor', 'none', 'header');

describe('fuzz: malformed input at every admin endpoint', () => {
  it('never answers ≥ 500, and a refused request leaves the configuration unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(routeArb, queryArb, bodyArb, headerArb, whoArb, async ([method, path], query, body, headers, who) => {
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(headers)) if (v !== undefined && !(k === 'authorization' && who !== 'header')) h[k] = v;
        const token = who === 'admin' ? admin : who === 'auditor' ? auditor : null;
        const hasBody = body !== undefined && method !== 'GET' && method !== 'HEAD';
        const before = await configDigest();
        const res = await call(method, `${path}${query}`, { token, raw: hasBody ? body : undefined, headers: h });
        const text = await res.text();
        if (res.status >= 500) throw new Error(`${method} ${path}${query} → ${res.status}: ${text.slice(0, 300)}`);
        if (res.status >= 400) {
          const after = await configDigest();
          if (after !== before) throw new Error(`${method} ${path}${query} → ${res.status} changed the configuration`);
          if (method !== 'HEAD' && !h.accept?.includes('text/html')) expect(res.headers.get('content-type')).toBe('application/problem+json');
        }
      }),
      { numRuns: RUNS, verbose: 1 },
    );
  }, 240_000);
});
