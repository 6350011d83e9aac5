/**
 * Every admin change and its audit record are written atomically (DESIGN §9:
 * the batch cannot branch, so the record is conditional in SQL): a change
 * always has exactly one record; a refused write — stale If-Match, a moved
 * configuration version, any 4xx — leaves neither change nor record. Also
 * under concurrent writes: no lost update, and every commit is validated
 * against the configuration it lands on.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createD1AdminStore, type ChangeRecord } from '../../src/store/index.js';
import { adminToken, call, changeRecords, configDigest, expectProblem, seedAdminRoles } from './support/admin.js';

beforeAll(seedAdminRoles);

const store = () => createD1AdminStore({ DB: env.DB });
const record = (id: string): ChangeRecord => ({
  at: 1,
  requestId: 'test',
  actor: { subject: 'user:test:x', via: 'token' },
  action: 'create',
  resource: 'role',
  id,
  before: null,
  after: { id },
});

describe('a change always has its record', () => {
  it('create, update and delete each write exactly one record with actor, before/after, request id and version', async () => {
    const start = (await changeRecords()).length;
    const created = await call('POST', '/bindings', { body: { id: 'audited', subject: { kind: 'group', value: 'g' }, role_id: 'billing-user', reason: 'why' } });
    expect(created.status).toBe(201);
    const updated = await call('PUT', '/bindings/audited', { body: { subject: { kind: 'group', value: 'h' }, role_id: 'billing-user' }, ifMatch: created.headers.get('etag')! });
    expect(updated.status).toBe(200);
    const deleted = await call('DELETE', '/bindings/audited', { ifMatch: updated.headers.get('etag')! });
    expect(deleted.status).toBe(204);

    const recs = (await changeRecords()).slice(start);
    expect(recs).toHaveLength(3);
    const [c, u, d] = recs;
    const subject = JSON.parse(atob((await adminToken()).split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))).sub as string;
    for (const [r, res, action] of [[c, created, 'create'], [u, updated, 'update'], [d, deleted, 'delete']] as const) {
      expect(r!.kind).toBe('change');
      expect(r!.subject).toBe(subject);
      expect(r!.request_id).toBe(res.headers.get('tollgate-request-id'));
      expect(r!.at).toBeGreaterThan(Date.now() / 1000 - 60);
      expect(r!.data).toMatchObject({ action, resource: 'binding', id: 'audited', actor_via: 'token' });
    }
    expect(c!.data.before).toBeNull();
    expect(c!.data.after).toMatchObject({ subject: { kind: 'group', value: 'g' }, reason: 'why' });
    expect(c!.data.version).toBe(created.headers.get('etag')!.slice(1, -1));
    expect(u!.data.before).toMatchObject({ subject: { value: 'g' } });
    expect(u!.data.after).toMatchObject({ subject: { value: 'h' } });
    expect(d!.data.before).toMatchObject({ subject: { value: 'h' } });
    expect(d!.data.after).toBeNull();
  });

  it('records never hold the bearer token or cookies', async () => {
    const t = await adminToken();
    expect((await call('POST', '/roles', { token: t, body: { id: 'no-secrets', description: 'x' }, headers: { cookie: 'tg_session=abc' } })).status).toBeLessThan(500);
    expect((await call('POST', '/roles', { token: t, body: { id: 'no-secrets-2' } })).status).toBe(201);
    const all = JSON.stringify((await env.DB.prepare('SELECT * FROM audit').all()).results);
    expect(all).not.toContain(t.split('.')[2]!);
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
    expect(all).not.toContain('tg_session');
  });
});

describe('a refused write leaves neither change nor record', () => {
  it.each([
    ['stale If-Match (412)', async () => call('PUT', '/roles/tg-auditor', { body: { permissions: [], grants: [] }, ifMatch: '"99999"' }), 412],
    ['no If-Match (428)', async () => call('DELETE', '/roles/tg-auditor'), 428],
    ['compile() refuses (422)', async () => call('POST', '/bindings', { body: { subject: { kind: 'group', value: 'g' }, role_id: 'nope' } }), 422],
    ['id taken (409)', async () => call('POST', '/roles', { body: { id: 'tg-admin' } }), 409],
    ['schema (400)', async () => call('POST', '/roles', { body: { id: 'x', extra: 1 } }), 400],
    ['malformed JSON (400)', async () => call('POST', '/roles', { raw: '{"id":', headers: { 'content-type': 'application/json' } }), 400],
    ['unknown resource (404)', async () => call('DELETE', '/roles/ghost', { ifMatch: '"1"' }), 404],
    ['no permission (403)', async () => call('POST', '/roles', { token: null, headers: { cookie: 'tg_session=x', origin: 'http://evil.example' }, body: { id: 'x' } }), 403],
  ])('%s', async (_n, send, status) => {
    const before = await configDigest();
    expect((await send()).status).toBe(status);
    expect(await configDigest()).toBe(before);
  });

  it('the store refuses a commit whose base version moved: nothing written', async () => {
    const s = store();
    const state = await s.state();
    const before = await configDigest();
    const stale = await s.commit({ base: String(Number(state.version) - 1), ops: [{ type: 'put', kind: 'role', value: { id: 'late', permissions: [], grants: [] }, expect: 'absent' }], audit: [record('late')] });
    expect(stale).toEqual({ committed: false });
    expect(await configDigest()).toBe(before);
  });

  it('the store refuses a commit whose resource expectation fails, on the current base: nothing written', async () => {
    const s = store();
    const state = await s.state();
    const admin = state.roles.find((r) => r.value.id === 'tg-admin')!;
    const before = await configDigest();
    for (const expect_ of [admin.version + 1, 'absent' as const]) {
      const res = await s.commit({
        base: state.version,
        ops: [{ type: 'put', kind: 'role', value: { ...admin.value, description: 'changed' }, expect: expect_ }, { type: 'delete', kind: 'binding', id: 'tg-auditors' }],
        audit: [record('tg-admin')],
      });
      expect(res).toEqual({ committed: false });
      expect(await configDigest()).toBe(before);
    }
    // The same commit with the right expectation goes through, with its record and the version bump.
    const recs = (await changeRecords()).length;
    const ok = await s.commit({ base: state.version, ops: [{ type: 'put', kind: 'role', value: { ...admin.value, description: 'changed' }, expect: admin.version }], audit: [record('tg-admin')] });
    expect(ok).toEqual({ committed: true, version: String(Number(state.version) + 1) });
    expect((await changeRecords()).length).toBe(recs + 1);
    expect((await s.get('role', 'tg-admin'))!.version).toBe(Number(state.version) + 1);
    expect(await env.DB.prepare('SELECT count(*) AS n FROM config_writes').first('n')).toBe(0);
  });
});

describe('concurrent writes', () => {
  it('of one resource with one ETag: exactly one wins, the others get 412; one record', async () => {
    const created = await call('POST', '/roles', { body: { id: 'contended' } });
    const etag = created.headers.get('etag')!;
    const recs = (await changeRecords()).length;
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => call('PUT', '/roles/contended', { body: { description: `writer ${i}`, permissions: [], grants: [] }, ifMatch: etag })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 412, 412, 412, 412, 412]);
    const winner = results.find((r) => r.status === 200)!;
    const stored = (await (await call('GET', '/roles/contended')).json()) as { description: string };
    expect(stored.description).toBe(((await winner.json()) as { description: string }).description);
    expect((await changeRecords()).length).toBe(recs + 1);
  });

  it('of different resources: all succeed (retried on the moved version), each with its record and its own version', async () => {
    const recs = (await changeRecords()).length;
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => call('POST', '/bindings', { body: { id: `par-${i}`, subject: { kind: 'group', value: `p${i}` }, role_id: 'billing-user' } })),
    );
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
    const versions = new Set(results.map((r) => r.headers.get('etag')));
    expect(versions.size).toBe(5);
    expect((await changeRecords()).length).toBe(recs + 5);
  });

  it('two changes that are each valid but invalid together cannot both commit', async () => {
    const role = await call('POST', '/roles', { body: { id: 'fragile' } });
    const etag = role.headers.get('etag')!;
    const [del, bind] = await Promise.all([
      call('DELETE', '/roles/fragile', { ifMatch: etag }),
      call('POST', '/bindings', { body: { id: 'to-fragile', subject: { kind: 'group', value: 'g' }, role_id: 'fragile' } }),
    ]);
    const outcome = [del.status, bind.status].sort().join(',');
    // Either the delete lands first (binding refused: 422) or the binding does (delete refused: 409).
    expect(['204,422', '201,409']).toContain(outcome);
    const state = await store().state();
    const bindings = state.bindings.filter((b) => b.value.roleId === 'fragile');
    const roleExists = state.roles.some((r) => r.value.id === 'fragile');
    expect(bindings.length === 0 || roleExists).toBe(true);
  });
});

it('a stale write through the API: 412, and the state and records are exactly as before', async () => {
  const created = await call('POST', '/deny-rules', { body: { id: 'stale-test', subjects: { everyone: true }, workload: 'x' } });
  const first = created.headers.get('etag')!;
  const moved = await call('PUT', '/deny-rules/stale-test', { body: { subjects: { everyone: true }, workload: 'y' }, ifMatch: first });
  expect(moved.status).toBe(200);
  const before = await configDigest();
  await expectProblem(await call('PUT', '/deny-rules/stale-test', { body: { subjects: { everyone: true }, workload: 'z' }, ifMatch: first }), 412, 'precondition-failed');
  await expectProblem(await call('DELETE', '/deny-rules/stale-test', { ifMatch: first }), 412, 'precondition-failed');
  expect(await configDigest()).toBe(before);
});
