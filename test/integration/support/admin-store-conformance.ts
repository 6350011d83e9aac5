/**
 * One conformance suite for every AdminStore adapter (D1 in workerd; memory
 * in workerd and Node). The store may already hold other data: the suite uses
 * its own ids and compares relative to what it finds.
 */
import { describe, expect, it } from 'vitest';
import type { AdminStore, ChangeRecord, ConfigOp } from '../../../src/store/admin-ports.js';
import { createMemoryAdminStore } from '../../../src/store/admin-memory.js';
import type { SessionRecord } from '../../../src/store/ports.js';

export interface AdminStoreHarness {
  store: AdminStore;
  addSession(s: Omit<SessionRecord, 'revokedAt'>): Promise<void>;
  /** Records in write order: kind, actor subject and action / resource / id. */
  records(): Promise<{ kind: string; subject: string; requestId: string; action: string; resource: string; id: string }[]>;
}

let n = 0;
const uid = (p: string) => `${p}-${Date.now().toString(36)}-${n++}`;

const rec = (id: string, action = 'create'): ChangeRecord => ({
  at: 100,
  requestId: `rid-${id}`,
  actor: { subject: 'user:conformance0:x', via: 'token' },
  action,
  resource: 'role',
  id,
  before: null,
  after: { id },
});

export function adminStoreConformance(name: string, make: () => Promise<AdminStoreHarness>): void {
  describe(`admin store conformance: ${name}`, () => {
    it('commits ops, records and the version bump together; versions come from the new configuration version', async () => {
      const { store, records } = await make();
      const s0 = await store.state();
      const before = (await records()).length;
      const role = uid('role');
      const ops: ConfigOp[] = [
        { type: 'put', kind: 'role', value: { id: role, description: 'd', permissions: ['auditor'], grants: [{ id: 'z', workload: 'w', methods: ['GET'], paths: ['/'] }, { id: 'a', workload: 'w', methods: ['*'], paths: ['/**'], conditions: { mfa: true } }] }, expect: 'absent' },
        { type: 'put', kind: 'binding', value: { id: uid('b'), subject: { kind: 'group', value: 'g' }, roleId: role, notBefore: 5, expiresAt: 10, reason: 'r' }, expect: 'absent' },
        { type: 'put', kind: 'workload', value: { id: uid('w'), name: 'W', hosts: [`${uid('h')}.Example`], endpoints: [{ id: uid('e'), url: 'http://127.0.0.1:1', location: 'onprem', source: 'static', health: 'unknown' }] } },
      ];
      const res = await store.commit({ base: s0.version, ops, audit: [rec(role)] });
      const next = String(Number(s0.version) + 1);
      expect(res).toEqual({ committed: true, version: next });
      const s1 = await store.state();
      expect(s1.version).toBe(next);
      const r = s1.roles.find((v) => v.value.id === role)!;
      expect(r.version).toBe(Number(next));
      // Grant order is the document order.
      expect(r.value.grants.map((g) => g.id)).toEqual(['z', 'a']);
      expect(r.value.grants[1]!.conditions).toEqual({ mfa: true });
      expect((await store.get('role', role))).toEqual(r);
      const b = ops[1] as Extract<ConfigOp, { kind: 'binding'; type: 'put' }>;
      expect((await store.get('binding', b.value.id))?.value).toEqual(b.value);
      const w = ops[2] as Extract<ConfigOp, { kind: 'workload'; type: 'put' }>;
      expect((await store.get('workload', w.value.id))?.value.hosts).toEqual([w.value.hosts[0]!.toLowerCase()]);
      const after = (await records()).slice(before);
      expect(after).toEqual([{ kind: 'change', subject: 'user:conformance0:x', requestId: `rid-${role}`, action: 'create', resource: 'role', id: role }]);
    });

    it('refuses a stale base or a failed expectation: nothing changes, nothing is recorded', async () => {
      const { store, records } = await make();
      const role = uid('role');
      const s0 = await store.state();
      expect((await store.commit({ base: s0.version, ops: [{ type: 'put', kind: 'role', value: { id: role, permissions: [], grants: [] } }], audit: [] })).committed).toBe(true);
      const s1 = await store.state();
      const v = s1.roles.find((x) => x.value.id === role)!.version;
      const count = (await records()).length;
      const attempts: { base: string; op: ConfigOp }[] = [
        { base: s0.version, op: { type: 'put', kind: 'role', value: { id: role, description: 'stale base', permissions: [], grants: [] } } },
        { base: s1.version, op: { type: 'put', kind: 'role', value: { id: role, description: 'wrong version', permissions: [], grants: [] }, expect: v + 1 } },
        { base: s1.version, op: { type: 'put', kind: 'role', value: { id: role, description: 'not absent', permissions: [], grants: [] }, expect: 'absent' } },
        { base: s1.version, op: { type: 'delete', kind: 'role', id: role, expect: v - 1 } },
        { base: s1.version, op: { type: 'delete', kind: 'binding', id: uid('ghost'), expect: 1 } },
      ];
      for (const a of attempts) {
        expect(await store.commit({ base: a.base, ops: [a.op], audit: [rec(role, 'update')] })).toEqual({ committed: false });
        expect(await store.state()).toEqual(s1);
        expect((await records()).length).toBe(count);
      }
      // Right expectation: delete goes through.
      expect((await store.commit({ base: s1.version, ops: [{ type: 'delete', kind: 'role', id: role, expect: v }], audit: [rec(role, 'delete')] })).committed).toBe(true);
      expect(await store.get('role', role)).toBeNull();
    });

    it('pages by id with a filter for bindings', async () => {
      const { store } = await make();
      const role = uid('pr');
      const s = await store.state();
      const ids = ['a', 'b', 'c', 'd', 'e'].map((x) => `${role}-${x}`);
      const ops: ConfigOp[] = [
        { type: 'put', kind: 'role', value: { id: role, permissions: [], grants: [] } },
        ...ids.map((id): ConfigOp => ({ type: 'put', kind: 'binding', value: { id, subject: { kind: 'user', value: role }, roleId: role } })),
      ];
      expect((await store.commit({ base: s.version, ops, audit: [] })).committed).toBe(true);
      const p1 = await store.page('binding', { limit: 2 }, { roleId: role });
      expect(p1.items.map((v) => v.value.id)).toEqual(ids.slice(0, 2));
      expect(p1.more).toBe(true);
      const p3 = await store.page('binding', { after: ids[3]!, limit: 2 }, { subject: role });
      expect(p3.items.map((v) => v.value.id)).toEqual(ids.slice(4));
      expect(p3.more).toBe(false);
      const roles = await store.page('role', { after: role.slice(0, -1), limit: 200 });
      expect(roles.items.map((v) => v.value.id)).toContain(role);
    });

    it('sessions: pages, active filter, revocation once with one record', async () => {
      const { store, addSession, records } = await make();
      const subject = `user:conformance0:${uid('u')}`;
      const ids = [uid('s'), uid('s'), uid('s')].sort();
      await addSession({ id: ids[0]!, subject, createdAt: 10, expiresAt: 1000 });
      await addSession({ id: ids[1]!, subject, email: 'e@example.com', createdAt: 10, expiresAt: 1000 });
      await addSession({ id: ids[2]!, subject, createdAt: 10, expiresAt: 50 });
      const all = await store.sessions.page({ limit: 10 }, { subject });
      expect(all.items.map((s) => s.id)).toEqual(ids);
      expect(all.items[1]!.email).toBe('e@example.com');
      expect((await store.sessions.page({ limit: 10 }, { subject, activeAt: 100 })).items.map((s) => s.id)).toEqual(ids.slice(0, 2));
      expect((await store.sessions.activeOf(subject, 100, 10)).map((s) => s.id)).toEqual(ids.slice(0, 2));
      const count = (await records()).length;
      const audit = (id: string): ChangeRecord => ({ ...rec(id, 'revoke'), kind: 'revocation', resource: 'session' });
      expect(await store.sessions.markRevoked([{ id: ids[0]!, audit: audit(ids[0]!) }], 200)).toEqual([ids[0]]);
      expect(await store.sessions.markRevoked([{ id: ids[0]!, audit: audit(ids[0]!) }, { id: ids[1]!, audit: audit(ids[1]!) }], 300)).toEqual([ids[1]]);
      expect((await store.sessions.get(ids[0]!))?.revokedAt).toBe(200);
      const added = (await records()).slice(count);
      expect(added.map((r) => [r.kind, r.action, r.id])).toEqual([['revocation', 'revoke', ids[0]], ['revocation', 'revoke', ids[1]]]);
      expect(await store.sessions.get(uid('none'))).toBeNull();
    });
  });
}

/** A harness over a fresh in-memory store. */
export async function memoryAdminHarness(): Promise<AdminStoreHarness> {
  const store = createMemoryAdminStore();
  return {
    store,
    addSession: async (s) => store.addSession(s),
    records: async () => store.records.map((r) => ({ kind: r.kind ?? 'change', subject: r.actor.subject, requestId: r.requestId, action: r.action, resource: r.resource, id: r.id })),
  };
}
