/**
 * Admin API resources: roles, bindings, deny rules, workloads — list (cursor
 * pages), get (ETag), create, update (If-Match), delete (If-Match); schema
 * validation (400 naming the fields), compile() validation (422 naming the
 * field), conflicts (409), 428 / 412; changes reach the hot path.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, call, expectProblem, seedAdminRoles } from './support/admin.js';
import { API, hostSession, signIn } from './support/client.js';
import { BILLING, GATEWAY_ORIGIN, INVENTORY } from './support/constants.js';
import { SELF } from 'cloudflare:test';

beforeAll(seedAdminRoles);

const now = () => Math.floor(Date.now() / 1000);

async function created(res: Response): Promise<{ body: Record<string, unknown>; etag: string }> {
  const text = await res.text();
  if (res.status !== 201) throw new Error(`expected 201, got ${res.status}: ${text}`);
  const etag = res.headers.get('etag');
  expect(etag).toMatch(/^"\d+"$/);
  return { body: JSON.parse(text), etag: etag! };
}

describe('roles', () => {
  const role = {
    id: 'ops',
    description: 'Operations',
    permissions: ['auditor'],
    grants: [
      {
        id: 'read',
        workload: 'inventory',
        methods: ['GET', 'HEAD'],
        paths: ['/items/**'],
        conditions: { mfa: true, max_auth_age_seconds: 3600, time_windows: [{ days: [1, 2, 3, 4, 5], start: '08:00', end: '18:00', time_zone: 'Europe/Berlin' }], source_cidrs: ['10.0.0.0/8'], countries: ['DE'], min_device_trust: 'medium', acr: ['phr'] },
      },
      { id: 'all-billing', workload: 'bill*', methods: ['*'], paths: ['/**'] },
    ],
  };

  it('create → get (ETag) → list → update (If-Match) → delete (If-Match)', async () => {
    const { body, etag } = await created(await call('POST', '/roles', { body: role }));
    expect(body).toEqual({ ...role, version: Number(etag.slice(1, -1)) });
    const res = await call('POST', '/roles', { body: role });
    expect(res.headers.get('location')).toBeNull();
    await expectProblem(res, 409, 'conflict');

    const got = await call('GET', '/roles/ops');
    expect(got.status).toBe(200);
    expect(got.headers.get('etag')).toBe(etag);
    expect(got.headers.get('cache-control')).toBe('no-store');
    expect(await got.json()).toEqual(body);

    const list = await call('GET', '/roles?limit=200');
    const page = (await list.json()) as { items: { id: string }[]; next_cursor: string | null };
    expect(page.items.map((r) => r.id)).toContain('ops');
    expect(page.next_cursor).toBeNull();

    await expectProblem(await call('PUT', '/roles/ops', { body: { ...role, description: 'x' } }), 428, 'precondition-required');
    await expectProblem(await call('PUT', '/roles/ops', { body: { ...role, description: 'x' }, ifMatch: '*' }), 428, 'precondition-required');
    await expectProblem(await call('PUT', '/roles/ops', { body: { ...role, description: 'x' }, ifMatch: '"999999"' }), 412, 'precondition-failed');
    await expectProblem(await call('PUT', '/roles/ops', { body: { ...role, description: 'x' }, ifMatch: `W/${etag}` }), 412, 'precondition-failed');
    await expectProblem(await call('PUT', '/roles/ops', { body: { ...role, description: 'x' }, ifMatch: 'garbage' }), 400, 'bad-request');

    const { id: _id, ...withoutId } = role;
    const updated = await call('PUT', '/roles/ops', { body: { ...withoutId, description: 'Ops', grants: [] }, ifMatch: `"1", ${etag}` });
    expect(updated.status).toBe(200);
    const etag2 = updated.headers.get('etag')!;
    expect(Number(etag2.slice(1, -1))).toBeGreaterThan(Number(etag.slice(1, -1)));
    expect(await updated.json()).toMatchObject({ id: 'ops', description: 'Ops', grants: [] });
    // The old ETag is stale now.
    await expectProblem(await call('PUT', '/roles/ops', { body: withoutId, ifMatch: etag }), 412, 'precondition-failed');
    await expectProblem(await call('DELETE', '/roles/ops', { ifMatch: etag }), 412, 'precondition-failed');
    await expectProblem(await call('DELETE', '/roles/ops'), 428, 'precondition-required');
    const del = await call('DELETE', '/roles/ops', { ifMatch: etag2 });
    expect(del.status).toBe(204);
    await expectProblem(await call('GET', '/roles/ops'), 404, 'not-found');
    await expectProblem(await call('DELETE', '/roles/ops', { ifMatch: etag2 }), 404, 'not-found');
    await expectProblem(await call('PUT', '/roles/ops', { body: withoutId, ifMatch: etag2 }), 404, 'not-found');
  });

  it('a re-created resource never reuses an old ETag', async () => {
    const a = await created(await call('POST', '/roles', { body: { id: 'phoenix' } }));
    expect((await call('DELETE', '/roles/phoenix', { ifMatch: a.etag })).status).toBe(204);
    const b = await created(await call('POST', '/roles', { body: { id: 'phoenix' } }));
    expect(b.etag).not.toBe(a.etag);
    await expectProblem(await call('DELETE', '/roles/phoenix', { ifMatch: a.etag }), 412, 'precondition-failed');
  });

  it.each([
    ['an unknown field', { id: 'r1', grant: [] }, '/grant'],
    ['a misspelt condition', { id: 'r1', grants: [{ id: 'g', workload: 'w', methods: ['GET'], paths: ['/'], conditions: { expires_at: 1 } }] }, '/grants/0/conditions/expires_at'],
    ['a bad id', { id: '../etc' }, '/id'],
    ['a missing id', { description: 'x' }, '/id'],
    ['an unknown permission', { id: 'r1', permissions: ['root'] }, '/permissions/0'],
    ['a grant without paths', { id: 'r1', grants: [{ id: 'g', workload: 'w', methods: ['GET'] }] }, '/grants/0/paths'],
    ['empty methods', { id: 'r1', grants: [{ id: 'g', workload: 'w', methods: [], paths: ['/'] }] }, '/grants/0/methods'],
    ['a bad time', { id: 'r1', grants: [{ id: 'g', workload: 'w', methods: ['GET'], paths: ['/'], conditions: { time_windows: [{ start: '9am', end: '17:00', time_zone: 'UTC' }] } }] }, '/grants/0/conditions/time_windows/0/start'],
    ['a wrong type', { id: 'r1', description: 42 }, '/description'],
  ])('400 for %s, naming the field', async (_n, body, pointer) => {
    const p = await expectProblem(await call('POST', '/roles', { body }), 400, 'bad-request');
    expect(p.errors?.map((e) => e.pointer)).toContain(pointer);
    expect(p.errors?.[0]?.in).toBe('body');
  });

  it.each([
    ['a bad path glob', { paths: ['/a/**b'] }, '/grants/0/paths'],
    ['a dot-segment glob', { paths: ['/public/../admin'] }, '/grants/0/paths'],
    ['a lower-case method', { methods: ['get'] }, '/grants/0/methods'],
    ['a bad CIDR', { conditions: { source_cidrs: ['10.1.0.0/8'] } }, '/grants/0/conditions/source_cidrs/0'],
    ['an unknown time zone', { conditions: { time_windows: [{ start: '09:00', end: '17:00', time_zone: 'Mars/Olympus' }] } }, '/grants/0/conditions/time_windows/0'],
    ['a window that starts where it ends', { conditions: { time_windows: [{ start: '09:00', end: '09:00', time_zone: 'UTC' }] } }, '/grants/0/conditions/time_windows/0'],
    ['a bad workload glob', { workload: 'a/b' }, '/grants/0/workload'],
  ])('422 when compile() refuses %s, naming the field; nothing stored', async (_n, grant, pointer) => {
    const body = { id: 'bad-role', grants: [{ id: 'g', workload: 'inventory', methods: ['GET'], paths: ['/'], ...grant }] };
    const p = await expectProblem(await call('POST', '/roles', { body }), 422, 'policy-invalid');
    expect(p.errors?.[0]?.pointer.startsWith(pointer)).toBe(true);
    await expectProblem(await call('GET', '/roles/bad-role'), 404, 'not-found');
  });

  it('a duplicate grant id is 422', async () => {
    const g = { id: 'g', workload: 'inventory', methods: ['GET'], paths: ['/'] };
    const p = await expectProblem(await call('POST', '/roles', { body: { id: 'dup', grants: [g, g] } }), 422, 'policy-invalid');
    expect(p.errors?.[0]?.pointer).toBe('/grants/1/id');
  });

  it('a role that is still bound cannot be deleted (409 naming the bindings)', async () => {
    const r = await created(await call('POST', '/roles', { body: { id: 'bound' } }));
    await created(await call('POST', '/bindings', { body: { id: 'to-bound', subject: { kind: 'user', value: 'u1' }, role_id: 'bound' } }));
    const p = await expectProblem(await call('DELETE', '/roles/bound', { ifMatch: r.etag }), 409, 'conflict');
    expect(p.detail).toContain('to-bound');
    expect((await call('GET', '/roles/bound')).status).toBe(200);
  });

  it('a PUT replaces the role, so permissions and grants are required (no accidental wipe)', async () => {
    const r = await created(await call('POST', '/roles', { body: { id: 'keep', permissions: ['auditor'] } }));
    const p = await expectProblem(await call('PUT', '/roles/keep', { body: { description: 'only this' }, ifMatch: r.etag }), 400, 'bad-request');
    expect(p.errors?.map((e) => e.pointer).sort()).toEqual(['/grants', '/permissions']);
    expect(((await (await call('GET', '/roles/keep')).json()) as { permissions: string[] }).permissions).toEqual(['auditor']);
  });

  it('the body id must match the path id', async () => {
    const r = await created(await call('POST', '/roles', { body: { id: 'same' } }));
    const p = await expectProblem(await call('PUT', '/roles/same', { body: { id: 'other', permissions: [], grants: [] }, ifMatch: r.etag }), 400, 'bad-request');
    expect(p.errors?.[0]).toMatchObject({ in: 'body', pointer: '/id' });
  });

  it('a bad path id is 400 naming the path parameter', async () => {
    const p = await expectProblem(await call('GET', '/roles/-bad'), 400, 'bad-request');
    expect(p.errors?.[0]).toMatchObject({ in: 'path', pointer: '/id' });
  });
});

describe('bindings', () => {
  it('CRUD with generated ids, time bounds and reasons', async () => {
    const { body, etag } = await created(
      await call('POST', '/bindings', { body: { subject: { kind: 'email', value: 'Zoe@example.com' }, role_id: 'billing-user', not_before: now() - 10, expires_at: now() + 3600, reason: 'ticket 42' } }),
    );
    expect(body.id).toMatch(/^b-[A-Za-z0-9_-]+$/);
    expect(body).toMatchObject({ subject: { kind: 'email', value: 'Zoe@example.com' }, role_id: 'billing-user', reason: 'ticket 42' });
    const loc = (await call('GET', `/bindings/${body.id as string}`)).headers.get('etag');
    expect(loc).toBe(etag);
    const up = await call('PUT', `/bindings/${body.id as string}`, { body: { subject: { kind: 'email', value: 'zoe@example.com' }, role_id: 'billing-user', expires_at: null }, ifMatch: etag });
    expect(up.status).toBe(200);
    expect(await up.json()).toMatchObject({ not_before: null, expires_at: null, reason: '' });
    expect((await call('DELETE', `/bindings/${body.id as string}`, { ifMatch: up.headers.get('etag')! })).status).toBe(204);
  });

  it('Location points at the new resource', async () => {
    const res = await call('POST', '/bindings', { body: { id: 'located', subject: { kind: 'group', value: 'g' }, role_id: 'billing-user' } });
    expect(res.headers.get('location')).toBe('/admin/v1/bindings/located');
    expect((await call('GET', `${GATEWAY_ORIGIN}${res.headers.get('location')!}`)).status).toBe(200);
  });

  it('a binding to an unknown role is 422 naming role_id', async () => {
    const p = await expectProblem(await call('POST', '/bindings', { body: { subject: { kind: 'group', value: 'g' }, role_id: 'no-such-role' } }), 422, 'policy-invalid');
    expect(p.errors?.[0]).toMatchObject({ in: 'body', pointer: '/role_id' });
  });

  it('not_before at or after expires_at is 422', async () => {
    const t = now();
    await expectProblem(await call('POST', '/bindings', { body: { subject: { kind: 'group', value: 'g' }, role_id: 'billing-user', not_before: t + 10, expires_at: t } }), 422, 'policy-invalid');
  });

  it.each([
    ['a bad subject kind', { subject: { kind: 'robot', value: 'r' }, role_id: 'billing-user' }, '/subject/kind'],
    ['an empty subject', { subject: { kind: 'group', value: '' }, role_id: 'billing-user' }, '/subject/value'],
    ['a time as a string', { subject: { kind: 'group', value: 'g' }, role_id: 'billing-user', expires_at: '2030-01-01' }, '/expires_at'],
    ['a fractional time', { subject: { kind: 'group', value: 'g' }, role_id: 'billing-user', expires_at: 1.5 }, '/expires_at'],
    ['a negative time', { subject: { kind: 'group', value: 'g' }, role_id: 'billing-user', not_before: -1 }, '/not_before'],
    ['camelCase expiresAt', { subject: { kind: 'group', value: 'g' }, role_id: 'billing-user', expiresAt: 1 }, '/expiresAt'],
  ])('400 for %s', async (_n, body, pointer) => {
    const p = await expectProblem(await call('POST', '/bindings', { body }), 400, 'bad-request');
    expect(p.errors?.map((e) => e.pointer)).toContain(pointer);
  });

  it('paginates with an opaque cursor, limit ≤ 200, filters by role and subject', async () => {
    for (let i = 0; i < 7; i++) {
      await created(await call('POST', '/bindings', { body: { id: `page-${i}`, subject: { kind: 'group', value: 'pagers' }, role_id: 'down-user' } }));
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: Response = await call('GET', `/bindings?limit=3&role_id=down-user${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { items: { id: string; role_id: string }[]; next_cursor: string | null };
      expect(page.items.length).toBeLessThanOrEqual(3);
      for (const b of page.items) expect(b.role_id).toBe('down-user');
      seen.push(...page.items.map((b) => b.id));
      cursor = page.next_cursor;
      pages++;
    } while (cursor !== null && pages < 10);
    expect(seen).toEqual(['eng-down', ...Array.from({ length: 7 }, (_, i) => `page-${i}`)]);
    expect(pages).toBe(3);

    const bySubject = (await (await call('GET', '/bindings?subject=pagers&limit=200')).json()) as { items: unknown[] };
    expect(bySubject.items).toHaveLength(7);

    for (const q of ['limit=0', 'limit=201', 'limit=abc', 'limit=3&limit=4', 'limit=-1', 'limit=1.5']) {
      const p = await expectProblem(await call('GET', `/bindings?${q}`), 400, 'bad-request');
      expect(p.errors?.[0]).toMatchObject({ in: 'query', pointer: '/limit' });
    }
    const first = (await (await call('GET', '/bindings?limit=1')).json()) as { next_cursor: string };
    const fromRoles = await expectProblem(await call('GET', `/roles?cursor=${first.next_cursor}`), 400, 'bad-request');
    expect(fromRoles.errors?.[0]).toMatchObject({ in: 'query', pointer: '/cursor' });
    for (const c of ['x', 'eyJ9', '!!!', 'e30']) await expectProblem(await call('GET', `/bindings?cursor=${c}`), 400, 'bad-request');
  });
});

describe('deny rules', () => {
  it('CRUD; semantic errors are 422', async () => {
    const rule = { subjects: { groups: ['contractors'] }, workload: 'inventory', methods: ['DELETE'], paths: ['/**'], conditions: { countries: ['KP'] }, reason: 'no deletes' };
    const { body, etag } = await created(await call('POST', '/deny-rules', { body: rule }));
    expect(body.id).toMatch(/^d-/);
    expect(body).toMatchObject(rule);
    const got = (await (await call('GET', `/deny-rules/${body.id as string}`)).json()) as Record<string, unknown>;
    expect(got).toEqual(body);
    const up = await call('PUT', `/deny-rules/${body.id as string}`, { body: { subjects: { everyone: true }, workload: 'inv*' }, ifMatch: etag });
    expect(await up.json()).toMatchObject({ subjects: { everyone: true }, workload: 'inv*', methods: ['*'], paths: ['/**'], reason: '' });
    const sel = await expectProblem(await call('POST', '/deny-rules', { body: { subjects: {}, workload: 'x' } }), 422, 'policy-invalid');
    expect(sel.errors?.[0]?.pointer).toBe('/subjects');
    await expectProblem(await call('POST', '/deny-rules', { body: { subjects: { everyone: true }, workload: 'x', paths: ['no-slash'] } }), 422, 'policy-invalid');
    expect((await call('DELETE', `/deny-rules/${body.id as string}`, { ifMatch: up.headers.get('etag')! })).status).toBe(204);
  });
});

describe('workloads', () => {
  const w = { id: 'crm', name: 'CRM', hosts: ['CRM.localhost:8787', 'crm.example.com'], endpoints: [{ id: 'crm-1', url: 'http://127.0.0.1:9', location: 'aws:eu-west-1', source: 'static', health: 'unknown' }] };

  it('CRUD; hosts are lower-cased; defaults for endpoint fields', async () => {
    const { body, etag } = await created(await call('POST', '/workloads', { body: { ...w, endpoints: [{ id: 'crm-1', url: 'http://127.0.0.1:9' }] } }));
    expect(body).toMatchObject({ id: 'crm', hosts: ['crm.example.com', 'crm.localhost:8787'], endpoints: [{ id: 'crm-1', location: 'onprem', source: 'static', health: 'unknown' }] });
    const up = await call('PUT', '/workloads/crm', { body: { ...w, id: undefined, name: 'CRM 2' }, ifMatch: etag });
    expect(up.status).toBe(200);
    expect(await up.json()).toMatchObject({ name: 'CRM 2', endpoints: [{ location: 'aws:eu-west-1' }] });
    const list = (await (await call('GET', '/workloads')).json()) as { items: { id: string }[] };
    expect(list.items.map((x) => x.id)).toEqual(['billing', 'crm', 'down', 'empty', 'inventory', 'replicas']);
  });

  it('the catalog rules: a host another workload serves (409), the gateway origin, a bad endpoint URL (422)', async () => {
    const clash = await expectProblem(await call('POST', '/workloads', { body: { id: 'thief', name: 'T', hosts: [BILLING], endpoints: [] } }), 409, 'conflict');
    expect(clash.errors?.[0]).toMatchObject({ pointer: '/hosts/0' });
    expect(clash.detail).toContain('billing');
    const origin = await expectProblem(await call('POST', '/workloads', { body: { id: 'thief', name: 'T', hosts: ['127.0.0.1:8787'], endpoints: [] } }), 422, 'policy-invalid');
    expect(origin.errors?.[0]).toMatchObject({ pointer: '/hosts/0' });
    const bad = await expectProblem(await call('POST', '/workloads', { body: { id: 'thief', name: 'T', hosts: [], endpoints: [{ id: 'e', url: 'http://x/path' }] } }), 422, 'policy-invalid');
    expect(bad.errors?.[0]).toMatchObject({ pointer: '/endpoints/0/url' });
    await expectProblem(await call('POST', '/workloads', { body: { id: 'thief', name: 'T', hosts: ['bad host'], endpoints: [] } }), 422, 'policy-invalid');
    const ep = await expectProblem(await call('POST', '/workloads', { body: { id: 'thief', name: 'T', hosts: [], endpoints: [{ id: 'billing-1', url: 'http://127.0.0.1:1' }] } }), 409, 'conflict');
    expect(ep.errors?.[0]).toMatchObject({ pointer: '/endpoints/0/id' });
    await expectProblem(await call('POST', '/workloads', { body: { id: 'thief', name: 'T', hosts: [], endpoints: [{ id: 'e', url: 'http://127.0.0.1:1', location: 'mars' }] } }), 400, 'bad-request');
    await expectProblem(await call('GET', '/workloads/thief'), 404, 'not-found');
  });
});

describe('changes reach the hot path', () => {
  it('a binding made through the API lets alice into billing; deleting it takes it away', async () => {
    const host = await hostSession(await signIn('alice'), BILLING);
    const visit = () => SELF.fetch(`http://${BILLING}/`, { headers: { ...API, cookie: `tg_session=${host}` }, redirect: 'manual' });
    expect((await visit()).status).toBe(403);
    const { etag } = await created(await call('POST', '/bindings', { body: { id: 'alice-billing', subject: { kind: 'email', value: 'alice@example.com' }, role_id: 'billing-user', reason: 'test' } }));
    expect((await visit()).status).toBe(200);
    expect((await call('DELETE', '/bindings/alice-billing', { ifMatch: etag })).status).toBe(204);
    expect((await visit()).status).toBe(403);
  });

  it('a deny rule made through the API wins over the grant', async () => {
    const host = await hostSession(await signIn('alice'), INVENTORY);
    const visit = () => SELF.fetch(`http://${INVENTORY}/secret/x`, { headers: { ...API, cookie: `tg_session=${host}` }, redirect: 'manual' });
    expect((await visit()).status).toBe(200);
    await created(await call('POST', '/deny-rules', { body: { id: 'no-secret', subjects: { emails: ['alice@example.com'] }, workload: 'inventory', paths: ['/secret/**'] } }));
    const denied = await visit();
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { reasons: string[] }).reasons).toContain('explicit-deny');
  });

  it('every write publishes the new configuration version to KV', async () => {
    const { env } = await import('cloudflare:workers');
    const { etag } = await created(await call('POST', '/roles', { body: { id: 'published' } }));
    expect(await env.CONFIG.get('policy-version')).toBe(etag.slice(1, -1));
  });
});

it('ADMIN base is the origin’s /admin/v1', () => expect(ADMIN).toBe(`${GATEWAY_ORIGIN}/admin/v1`));

it('an unknown query parameter is a 400 naming it (a misspelt filter must not list everything)', async () => {
  const p = await expectProblem(await call('GET', '/bindings?role=billing-user'), 400, 'bad-request');
  expect(p.errors?.[0]).toMatchObject({ in: 'query', pointer: '/role' });
  await expectProblem(await call('GET', '/sessions?user=x'), 400, 'bad-request');
});
