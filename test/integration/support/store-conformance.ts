/**
 * One conformance suite for every Store adapter (D1 in workerd, memory in
 * workerd and Node). `make` returns a fresh, empty store (schema applied).
 */
import { describe, expect, it } from 'vitest';
import { isTollgateError } from '../../../src/errors.js';
import type { HandoffRecord, Store } from '../../../src/store/ports.js';

const endpoint = (id: string, url: string) => ({ id, url, location: 'onprem', source: 'static' as const, health: 'unknown' as const });

function handoff(over: Partial<HandoffRecord> = {}): HandoffRecord {
  return {
    codeHash: 'h'.repeat(43),
    sessionId: 'sid-1',
    host: 'inventory.localhost:8787',
    nonceHash: 'n'.repeat(43),
    returnPath: '/x?y=1',
    expiresAt: 1000,
    sessionSeal: 'sealed',
    ...over,
  };
}

export function storeConformance(name: string, make: () => Promise<Store>): void {
  describe(`store conformance: ${name}`, () => {
    it('round-trips configuration and bumps versions', async () => {
      const store = await make();
      const before = await store.config.load();
      await store.configWriter.putWorkload({
        id: 'w1',
        name: 'W1',
        hosts: ['W1.localhost:8787', 'w1.example'],
        endpoints: [endpoint('e1', 'http://127.0.0.1:1'), endpoint('e2', 'http://127.0.0.1:2')],
      });
      await store.configWriter.putRole({
        id: 'r1',
        description: 'role one',
        permissions: ['auditor'],
        grants: [
          { id: 'g1', workload: 'w1', methods: ['GET'], paths: ['/a/**'], conditions: { mfa: true } },
          { id: 'g2', workload: 'w*', methods: ['*'], paths: ['/**'] },
        ],
      });
      // Grant ids are unique per role only.
      await store.configWriter.putRole({
        id: 'r2',
        permissions: [],
        grants: [{ id: 'g1', workload: 'w1', methods: ['*'], paths: ['/**'] }],
      });
      await store.configWriter.putBinding({
        id: 'b1',
        subject: { kind: 'group', value: 'eng' },
        roleId: 'r1',
        notBefore: 10,
        expiresAt: 20,
        reason: 'jit',
      });
      await store.configWriter.putBinding({ id: 'b2', subject: { kind: 'email', value: 'a@example.com' }, roleId: 'r2' });
      await store.configWriter.putDenyRule({
        id: 'd1',
        subjects: { groups: ['contractors'] },
        workload: 'w1',
        methods: ['DELETE'],
        paths: ['/**'],
        reason: 'no deletes',
      });
      const v1 = await store.configWriter.bumpVersion();
      expect(v1).not.toBe(before.version);

      const c = await store.config.load();
      expect(c.version).toBe(v1);
      const w1 = c.workloads.find((w) => w.id === 'w1')!;
      expect(w1.name).toBe('W1');
      expect([...w1.hosts].sort()).toEqual(['w1.example', 'w1.localhost:8787']);
      expect(w1.endpoints.map((e) => e.id).sort()).toEqual(['e1', 'e2']);
      const r1 = c.roles.find((r) => r.id === 'r1')!;
      expect(r1.description).toBe('role one');
      expect(r1.permissions).toEqual(['auditor']);
      expect(r1.grants.find((g) => g.id === 'g1')).toEqual({
        id: 'g1',
        workload: 'w1',
        methods: ['GET'],
        paths: ['/a/**'],
        conditions: { mfa: true },
      });
      expect(c.roles.find((r) => r.id === 'r2')!.grants.map((g) => g.id)).toEqual(['g1']);
      expect(c.bindings.find((b) => b.id === 'b1')).toEqual({
        id: 'b1',
        subject: { kind: 'group', value: 'eng' },
        roleId: 'r1',
        notBefore: 10,
        expiresAt: 20,
        reason: 'jit',
      });
      expect(c.bindings.find((b) => b.id === 'b2')).toEqual({
        id: 'b2',
        subject: { kind: 'email', value: 'a@example.com' },
        roleId: 'r2',
      });
      expect(c.denyRules.find((d) => d.id === 'd1')).toMatchObject({
        subjects: { groups: ['contractors'] },
        workload: 'w1',
        methods: ['DELETE'],
        reason: 'no deletes',
      });

      // Replacing a role replaces its grants; deletes remove.
      await store.configWriter.putRole({ id: 'r1', permissions: [], grants: [] });
      await store.configWriter.deleteBinding('b2');
      await store.configWriter.deleteDenyRule('d1');
      const v2 = await store.configWriter.bumpVersion();
      expect(Number(v2)).toBe(Number(v1) + 1);
      const c2 = await store.config.load();
      expect(c2.roles.find((r) => r.id === 'r1')!.grants).toEqual([]);
      expect(c2.bindings.find((b) => b.id === 'b2')).toBeUndefined();
      expect(c2.denyRules.find((d) => d.id === 'd1')).toBeUndefined();
    });

    it('publishes the version pointer', async () => {
      const store = await make();
      await store.version.publish('42');
      expect(await store.version.current()).toBe('42');
    });

    it('stores sessions and revokes them once', async () => {
      const store = await make();
      expect(await store.sessions.get('nope')).toBeNull();
      await store.sessions.create({ id: 's1', subject: 'user:abc:alice', email: 'a@example.com', createdAt: 100, expiresAt: 200 });
      await store.sessions.create({ id: 's2', subject: 'user:abc:bob', createdAt: 100, expiresAt: 200 });
      expect(await store.sessions.get('s1')).toEqual({
        id: 's1',
        subject: 'user:abc:alice',
        email: 'a@example.com',
        createdAt: 100,
        expiresAt: 200,
      });
      expect((await store.sessions.get('s2'))?.email).toBeUndefined();
      await store.sessions.markRevoked('s1', 150);
      await store.sessions.markRevoked('s1', 160);
      expect((await store.sessions.get('s1'))?.revokedAt).toBe(150);
      await expect(
        store.sessions.create({ id: 's1', subject: 'x', createdAt: 1, expiresAt: 2 }),
      ).rejects.toSatisfy((e: unknown) => isTollgateError(e) && e.code === 'internal');
    });

    it('hand-off codes are single use and expire', async () => {
      const store = await make();
      await store.handoffs.put(handoff({ codeHash: 'a'.repeat(43), expiresAt: 130 }), 100);
      await store.handoffs.put(handoff({ codeHash: 'b'.repeat(43), expiresAt: 130 }), 100);
      expect(await store.handoffs.take('z'.repeat(43), 100)).toBeNull();
      expect(await store.handoffs.take('a'.repeat(43), 100)).toEqual(handoff({ codeHash: 'a'.repeat(43), expiresAt: 130 }));
      expect(await store.handoffs.take('a'.repeat(43), 100)).toBeNull(); // used
      expect(await store.handoffs.take('b'.repeat(43), 130)).toBeNull(); // expired at 130
      expect(await store.handoffs.take('b'.repeat(43), 100)).toBeNull(); // and not resurrected
    });

    it('concurrent redemptions of one code: exactly one wins', async () => {
      const store = await make();
      await store.handoffs.put(handoff({ codeHash: 'c'.repeat(43), expiresAt: 500 }), 100);
      const results = await Promise.all(Array.from({ length: 8 }, () => store.handoffs.take('c'.repeat(43), 100)));
      expect(results.filter((r) => r !== null)).toHaveLength(1);
    });

    it('a duplicate code is refused', async () => {
      const store = await make();
      await store.handoffs.put(handoff({ codeHash: 'd'.repeat(43), expiresAt: 500 }), 100);
      await expect(store.handoffs.put(handoff({ codeHash: 'd'.repeat(43), expiresAt: 500 }), 100)).rejects.toSatisfy(
        (e: unknown) => isTollgateError(e) && e.code === 'internal',
      );
    });
  });
}
