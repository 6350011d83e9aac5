/**
 * Policy as code: GET /admin/v1/policy (canonical document, ETag = version),
 * PUT /admin/v1/policy (atomic import with its audit record, If-Match 428/412,
 * dry run, export → import is a no-op), 401/403, validation (400/422), and
 * the imported policy taking effect on the hot path.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PolicyExport } from '../../src/admin/index.js';
import { auditorToken, call, changeRecords, configDigest, expectProblem, nobodyToken, seedAdminRoles } from './support/admin.js';
import { API, gw, hostSession, signIn } from './support/client.js';
import { BILLING, INVENTORY } from './support/constants.js';

beforeAll(seedAdminRoles);

async function exported(): Promise<{ doc: PolicyExport; etag: string }> {
  const res = await call('GET', '/policy', { token: await auditorToken() });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return { doc: JSON.parse(text) as PolicyExport, etag: res.headers.get('etag')! };
}

type ImportBody = { dry_run: boolean; changed: boolean; version: string; diff: { summary: { added: number; removed: number; changed: number }; empty: boolean } & Record<string, { added: { id: string }[]; removed: { id: string }[]; changed: { id: string }[] }> };

describe('GET /policy', () => {
  it('the whole policy in canonical order, ETag = the configuration version', async () => {
    const { doc, etag } = await exported();
    expect(etag).toBe(`"${doc.version}"`);
    expect(Object.keys(doc)).toEqual(['version', 'roles', 'deny_rules', 'bindings', 'workloads']);
    expect(doc.roles.map((r) => r.id)).toEqual([...doc.roles.map((r) => r.id)].sort());
    expect(doc.roles.find((r) => r.id === 'inventory-user')).toEqual({ id: 'inventory-user', description: 'Inventory', permissions: [], grants: [{ id: 'all', workload: 'inventory', methods: ['*'], paths: ['/**'] }] });
    expect(doc.bindings.find((b) => b.id === 'eng-inventory')).toEqual({ id: 'eng-inventory', subject: { kind: 'group', value: 'engineering' }, role_id: 'inventory-user', not_before: null, expires_at: null, reason: '' });
    expect(doc.deny_rules).toEqual([{ id: 'no-forbidden', subjects: { everyone: true }, workload: 'inventory', methods: ['*'], paths: ['/forbidden/**'], reason: 'test' }]);
    expect(doc.workloads.find((w) => w.id === 'inventory')).toMatchObject({ hosts: [INVENTORY], endpoints: [{ id: 'inventory-1', location: 'onprem', source: 'static', health: 'unknown' }] });
  });

  it('401 without credentials; an auditor may read, nobody else', async () => {
    await expectProblem(await call('GET', '/policy', { token: null }), 401, 'unauthenticated');
    await expectProblem(await call('GET', '/policy', { token: await nobodyToken() }), 403, 'forbidden');
  });
});

describe('PUT /policy', () => {
  it('export → import is a no-op: empty diff, same version, no record, nothing written', async () => {
    const { doc, etag } = await exported();
    const before = await configDigest();
    const records = (await changeRecords()).length;
    const res = await call('PUT', '/policy', { body: doc, ifMatch: etag });
    const body = (await res.json()) as ImportBody;
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ dry_run: false, changed: false, version: doc.version, diff: { empty: true, summary: { added: 0, removed: 0, changed: 0 } } });
    expect(res.headers.get('etag')).toBe(etag);
    expect(await configDigest()).toBe(before);
    expect(await changeRecords()).toHaveLength(records);
  });

  it('428 without If-Match, 412 when stale (and nothing changes), 403 for an auditor, 401 without credentials', async () => {
    const { doc, etag } = await exported();
    doc.bindings = doc.bindings.filter((b) => b.id !== 'eng-inventory');
    const before = await configDigest();
    await expectProblem(await call('PUT', '/policy', { body: doc }), 428, 'precondition-required');
    await expectProblem(await call('PUT', '/policy', { body: doc, ifMatch: '*' }), 428, 'precondition-required');
    await expectProblem(await call('PUT', '/policy', { body: doc, ifMatch: `"${Number(doc.version) - 1}"` }), 412, 'precondition-failed');
    await expectProblem(await call('PUT', '/policy', { body: doc, ifMatch: etag, token: await auditorToken() }), 403, 'forbidden');
    await expectProblem(await call('PUT', '/policy', { body: doc, ifMatch: etag, token: null }), 401, 'unauthenticated');
    expect(await configDigest()).toBe(before);
  });

  it('dry run: the diff per kind, nothing applied (If-Match optional)', async () => {
    const { doc } = await exported();
    doc.deny_rules = [];
    doc.roles.push({ id: 'ops', description: '', permissions: [], grants: [] });
    const eng = doc.bindings.find((b) => b.id === 'eng-inventory')!;
    eng.expires_at = 4_000_000_000;
    const before = await configDigest();
    const res = await call('PUT', '/policy?dry_run=true', { body: doc });
    const body = (await res.json()) as ImportBody;
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ dry_run: true, changed: false, version: doc.version, diff: { empty: false, summary: { added: 1, removed: 1, changed: 1 } } });
    expect(body.diff.roles!.added.map((r) => r.id)).toEqual(['ops']);
    expect(body.diff.deny_rules!.removed.map((r) => r.id)).toEqual(['no-forbidden']);
    expect(body.diff.bindings!.changed).toEqual([{ id: 'eng-inventory', before: expect.objectContaining({ expires_at: null }), after: expect.objectContaining({ expires_at: 4_000_000_000 }) }]);
    expect(await configDigest()).toBe(before);
    await expectProblem(await call('PUT', '/policy?dry_run=true', { body: doc, ifMatch: '"1"' }), 412, 'precondition-failed');
  });

  it('malformed documents: 400 naming the field; an invalid policy 422; nothing changes', async () => {
    const { doc, etag } = await exported();
    const before = await configDigest();
    const unknownField = { ...doc, extra: 1 };
    expect((await expectProblem(await call('PUT', '/policy', { body: unknownField, ifMatch: etag }), 400, 'bad-request')).errors?.[0]).toMatchObject({ pointer: '/extra' });
    const danglingBinding = { ...doc, bindings: [...doc.bindings, { id: 'x', subject: { kind: 'user', value: 'u' }, role_id: 'no-such-role' }] };
    await expectProblem(await call('PUT', '/policy', { body: danglingBinding, ifMatch: etag }), 422, 'policy-invalid');
    const hostTwice = structuredClone(doc);
    hostTwice.workloads.find((w) => w.id === 'billing')!.hosts.push(INVENTORY);
    await expectProblem(await call('PUT', '/policy', { body: hostTwice, ifMatch: etag }), 422, 'policy-invalid');
    const badGlob = structuredClone(doc);
    badGlob.roles[0]!.grants.push({ id: 'g', workload: 'inventory', methods: ['GET'], paths: ['no-slash'] });
    await expectProblem(await call('PUT', '/policy', { body: badGlob, ifMatch: etag }), 422, 'policy-invalid');
    await expectProblem(await call('PUT', '/policy', { raw: '{"roles": [', ifMatch: etag, headers: { 'content-type': 'application/json' } }), 400, 'bad-request');
    expect(await configDigest()).toBe(before);
  });

  it('an import applies atomically with one audit record, bumps the version, and the gateway enforces it', async () => {
    const origin = await signIn('alice');
    const inv = await hostSession(origin, INVENTORY);
    const bill = await hostSession(origin, BILLING);
    expect((await gw(`http://${BILLING}/x`, { headers: { ...API, cookie: `tg_session=${bill}` } })).status).toBe(403);

    const { doc, etag } = await exported();
    // alice (engineering) loses inventory, gains billing; the deny rule goes; a host moves between workloads.
    doc.bindings = doc.bindings.filter((b) => b.id !== 'eng-inventory');
    doc.bindings.push({ id: 'eng-billing', subject: { kind: 'group', value: 'engineering' }, role_id: 'billing-user', not_before: null, expires_at: null, reason: 'import test' });
    doc.deny_rules = [];
    const empty = doc.workloads.find((w) => w.id === 'empty')!;
    const down = doc.workloads.find((w) => w.id === 'down')!;
    [empty.hosts, down.hosts] = [down.hosts, empty.hosts];
    const records = (await changeRecords()).length;

    const res = await call('PUT', '/policy', { body: doc, ifMatch: etag });
    const body = (await res.json()) as ImportBody;
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ changed: true, version: String(Number(doc.version) + 1), diff: { summary: { added: 1, removed: 2, changed: 2 } } });
    expect(res.headers.get('etag')).toBe(`"${body.version}"`);
    expect(await env.CONFIG.get('policy-version')).toBe(body.version);

    const after = await exported();
    // What was imported is what is exported (canonical order: by id).
    doc.bindings.sort((a, b) => (a.id < b.id ? -1 : 1));
    expect({ ...after.doc, version: '' }).toEqual({ ...doc, version: '' });
    const recs = await changeRecords();
    expect(recs).toHaveLength(records + 1);
    expect(recs.at(-1)).toMatchObject({
      kind: 'change',
      request_id: res.headers.get('tollgate-request-id'),
      data: { action: 'import', resource: 'policy', id: 'policy', version: body.version, before: { version: doc.version }, after: { summary: { added: 1, removed: 2, changed: 2 } } },
    });

    expect((await gw(`http://${BILLING}/x`, { headers: { ...API, cookie: `tg_session=${bill}` } })).status).toBe(200);
    expect((await gw(`http://${INVENTORY}/x`, { headers: { ...API, cookie: `tg_session=${inv}` } })).status).toBe(403);

    // The same document again: nothing to do.
    const again = await call('PUT', '/policy', { body: after.doc, ifMatch: after.etag });
    expect(((await again.json()) as ImportBody).changed).toBe(false);
    // The old ETag is stale now.
    await expectProblem(await call('PUT', '/policy', { body: doc, ifMatch: etag }), 412, 'precondition-failed');
  });
});
