/**
 * The admin use-cases over the in-memory store (Node): create / update /
 * remove with their records, 404 / 409 / 412 / 422, the retry when another
 * write moves the version, publishing, and session revocation order.
 */
import { describe, expect, it } from 'vitest';
import { createConfigService, createSessionAdmin, type AdminRequest } from '../../../src/admin/index.js';
import { isTollgateError } from '../../../src/errors.js';
import { silentLogger, type Logger } from '../../../src/platform/index.js';
import { createMemoryAdminStore } from '../../../src/store/admin-memory.js';
import type { ConfigCommit } from '../../../src/store/admin-ports.js';

const req: AdminRequest = { actor: { subject: 'user:abcdefghijkl:admin', via: 'token' }, requestId: 'rid', now: 1000 };
const role = { id: 'r', permissions: [], grants: [] };

function setup(logger: Logger = silentLogger) {
  const store = createMemoryAdminStore({ roles: [{ id: 'base', permissions: ['admin'], grants: [] }] });
  const published: string[] = [];
  const service = createConfigService({
    store,
    versions: { publish: async (v) => void published.push(v) },
    logger,
    originAuthority: '127.0.0.1:8787',
    assertionTtlSeconds: 30,
  });
  return { store, service, published };
}

const code = async (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (isTollgateError(e) ? e.code : 'other'));

describe('config use-cases', () => {
  it('create → update → remove, each with one record (wire form) and a published version', async () => {
    const { store, service, published } = setup();
    const c = await service.create('role', role, req);
    expect(c.version).toBe(2);
    const u = await service.update('role', { ...role, description: 'x' }, [c.version], req);
    expect(u.version).toBe(3);
    await service.remove('role', 'r', [u.version], req);
    expect(published).toEqual(['2', '3', '4']);
    expect(store.records.map((r) => [r.action, r.before, r.after])).toEqual([
      ['create', null, { id: 'r', description: '', permissions: [], grants: [] }],
      ['update', { id: 'r', description: '', permissions: [], grants: [] }, { id: 'r', description: 'x', permissions: [], grants: [] }],
      ['delete', { id: 'r', description: 'x', permissions: [], grants: [] }, null],
    ]);
  });

  it('404, 409, 412, 422 leave the store untouched', async () => {
    const { store, service } = setup();
    const before = await store.state();
    expect(await code(service.update('role', role, [1], req))).toBe('not-found');
    expect(await code(service.create('role', { id: 'base', permissions: [], grants: [] }, req))).toBe('conflict');
    expect(await code(service.update('role', { id: 'base', permissions: [], grants: [] }, [7], req))).toBe('precondition-failed');
    expect(await code(service.create('binding', { id: 'b', subject: { kind: 'group', value: 'g' }, roleId: 'missing' }, req))).toBe('policy-invalid');
    expect(await store.state()).toEqual(before);
    expect(store.records).toEqual([]);
  });

  it('retries when another write moved the version, and re-checks If-Match each time', async () => {
    const { store, service } = setup();
    const realCommit = store.commit.bind(store);
    let interfere = 2;
    // Another writer lands between our read and our commit, twice.
    store.commit = async (change: ConfigCommit) => {
      if (interfere-- > 0) {
        const s = await store.state();
        await realCommit({ base: s.version, ops: [{ type: 'put', kind: 'binding', value: { id: `other-${interfere}`, subject: { kind: 'group', value: 'g' }, roleId: 'base' } }], audit: [] });
      }
      return realCommit(change);
    };
    const created = await service.create('role', role, req);
    expect(created.version).toBe(4);
    expect((await store.get('role', 'r'))?.version).toBe(4);
    // A writer that holds a version that has since moved gets 412, not a retry that wins.
    const stale = await service.update('role', { ...role, description: 'a' }, [4], req);
    expect(await code(service.update('role', { ...role, description: 'b' }, [4], req))).toBe('precondition-failed');
    expect((await store.get('role', 'r'))?.value.description).toBe('a');
    expect(stale.version).toBe(5);
  });

  it('a publish failure keeps the committed change and logs it', async () => {
    const logged: string[] = [];
    const logger: Logger = { info() {}, warn() {}, error: (e) => void logged.push(e) };
    const store = createMemoryAdminStore();
    const service = createConfigService({
      store,
      versions: { publish: async () => Promise.reject(new Error('kv down')) },
      logger,
      originAuthority: 'x:1',
      assertionTtlSeconds: 30,
    });
    await service.create('role', role, req);
    expect(await store.get('role', 'r')).not.toBeNull();
    expect(logged).toEqual(['config-publish-failed']);
  });
});

describe('session use-cases', () => {
  it('revokes in the ledger first, then marks the row with its record; 412 on a stale ETag', async () => {
    const store = createMemoryAdminStore({ sessions: [{ id: 's1', subject: 'user:abcdefghijkl:bob', createdAt: 1, expiresAt: 5000 }, { id: 's2', subject: 'user:abcdefghijkl:bob', createdAt: 1, expiresAt: 5000 }] });
    const order: string[] = [];
    const admin = createSessionAdmin({
      store: { ...store, sessions: { ...store.sessions, markRevoked: async (items, at) => (order.push('d1'), store.sessions.markRevoked(items, at)) } },
      revocation: { revoke: async (sid) => void order.push(`ledger:${sid}`) },
    });
    expect(await code(admin.revoke('s1', [2], req))).toBe('precondition-failed');
    const s = await admin.revoke('s1', [1], req);
    expect(s.revokedAt).toBe(1000);
    expect(order).toEqual(['ledger:s1', 'd1']);
    expect(await admin.revokeAll('user:abcdefghijkl:bob', req)).toEqual(['s2']);
    expect(store.records.map((r) => [r.kind, r.id])).toEqual([['revocation', 's1'], ['revocation', 's2']]);
    expect(await code(admin.get('nope'))).toBe('not-found');
  });
});
