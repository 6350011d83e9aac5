import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkDocument,
  contentOfDocument,
  diffPolicy,
  exportPolicy,
  importOps,
  type ImportOp,
  type PolicyContent,
  type PolicyImport,
} from '../../../src/admin/policy-document.js';
import { isTollgateError } from '../../../src/errors.js';
import type { Workload } from '../../../src/catalog/index.js';

const ep = (id: string, port: number) => ({ id, url: `http://127.0.0.1:${port}`, location: 'onprem', source: 'static' as const, health: 'unknown' as const });

function base(): PolicyContent {
  return {
    roles: [
      { id: 'reader', permissions: [], grants: [{ id: 'b-read', workload: 'inventory', methods: ['GET'], paths: ['/**'] }, { id: 'a-head', workload: 'inventory', methods: ['HEAD'], paths: ['/**'] }] },
      { id: 'admins', description: 'Admins', permissions: ['auditor', 'admin'], grants: [] },
    ],
    bindings: [
      { id: 'eng', subject: { kind: 'group', value: 'engineering' }, roleId: 'reader' },
      { id: 'jit', subject: { kind: 'user', value: 'bob' }, roleId: 'reader', notBefore: 10, expiresAt: 20, reason: 'ticket 1' },
    ],
    denyRules: [{ id: 'no-delete', subjects: { everyone: true }, workload: '*', methods: ['DELETE'] }],
    workloads: [
      { id: 'inventory', name: 'Inventory', hosts: ['Inventory.localhost:8787', 'inv.example'], endpoints: [ep('inv-2', 2), ep('inv-1', 1)] },
      { id: 'billing', name: 'Billing', hosts: ['billing.localhost:8787'], endpoints: [ep('bill-1', 3)] },
    ],
  };
}

/** What the store holds after the ops (the integration suite runs the same against D1). */
function applied(c: PolicyContent, ops: ImportOp[]): PolicyContent {
  const maps = {
    role: new Map(c.roles.map((v) => [v.id, v as unknown])),
    binding: new Map(c.bindings.map((v) => [v.id, v as unknown])),
    'deny-rule': new Map(c.denyRules.map((v) => [v.id, v as unknown])),
    workload: new Map(c.workloads.map((v) => [v.id, v as unknown])),
  };
  for (const op of ops) {
    if (op.type === 'delete') maps[op.kind].delete(op.id);
    else maps[op.kind].set(op.value.id, op.value);
  }
  return {
    roles: [...maps.role.values()] as PolicyContent['roles'],
    bindings: [...maps.binding.values()] as PolicyContent['bindings'],
    denyRules: [...maps['deny-rule'].values()] as PolicyContent['denyRules'],
    workloads: [...maps.workload.values()] as PolicyContent['workloads'],
  };
}

describe('export', () => {
  it('is canonical: ordered by id, grants by id, hosts lower-cased and sorted, endpoints by id, defaults filled', () => {
    const doc = exportPolicy(base(), '5');
    expect(doc.version).toBe('5');
    expect(doc.roles.map((r) => r.id)).toEqual(['admins', 'reader']);
    expect(doc.roles[0]).toEqual({ id: 'admins', description: 'Admins', permissions: ['admin', 'auditor'], grants: [] });
    expect(doc.roles[1]!.grants.map((g) => g.id)).toEqual(['a-head', 'b-read']);
    expect(doc.bindings[0]).toEqual({ id: 'eng', subject: { kind: 'group', value: 'engineering' }, role_id: 'reader', not_before: null, expires_at: null, reason: '' });
    expect(doc.deny_rules[0]).toEqual({ id: 'no-delete', subjects: { everyone: true }, workload: '*', methods: ['DELETE'], paths: ['/**'], reason: '' });
    expect(doc.workloads.map((w) => w.id)).toEqual(['billing', 'inventory']);
    expect(doc.workloads[1]).toMatchObject({ hosts: ['inv.example', 'inventory.localhost:8787'], endpoints: [{ id: 'inv-1' }, { id: 'inv-2' }] });
    expect(Object.keys(doc)).toEqual(['version', 'roles', 'deny_rules', 'bindings', 'workloads']);
  });

  it('export → JSON → import is an empty diff', () => {
    const doc = JSON.parse(JSON.stringify(exportPolicy(base(), '5'))) as PolicyImport;
    const d = diffPolicy(base(), contentOfDocument(doc));
    expect(d.empty).toBe(true);
    expect(d.summary).toEqual({ added: 0, removed: 0, changed: 0 });
    expect(importOps(base(), contentOfDocument(doc))).toEqual([]);
  });
});

describe('diff', () => {
  it('names added, removed and changed resources per kind, with before and after', () => {
    const next = base();
    next.roles = next.roles.filter((r) => r.id !== 'admins');
    next.roles.push({ id: 'ops', permissions: [], grants: [] });
    next.bindings[1] = { ...next.bindings[1]!, expiresAt: 99 };
    next.denyRules = [];
    const d = diffPolicy(base(), next);
    expect(d.summary).toEqual({ added: 1, removed: 2, changed: 1 });
    expect(d.roles.added.map((r) => r.id)).toEqual(['ops']);
    expect(d.roles.removed.map((r) => r.id)).toEqual(['admins']);
    expect(d.bindings.changed).toEqual([{ id: 'jit', before: expect.objectContaining({ expires_at: 20 }), after: expect.objectContaining({ expires_at: 99 }) }]);
    expect(d.deny_rules.removed.map((x) => x.id)).toEqual(['no-delete']);
    expect(d.workloads).toEqual({ added: [], removed: [], changed: [] });
  });

  it('order-only differences that the store would erase are no change', () => {
    const next = base();
    next.workloads[0] = { ...next.workloads[0]!, hosts: ['inv.example', 'INVENTORY.localhost:8787'], endpoints: [ep('inv-1', 1), ep('inv-2', 2)] };
    next.roles[0] = { ...next.roles[0]!, grants: [...next.roles[0]!.grants].reverse() };
    next.bindings.reverse();
    expect(diffPolicy(base(), next).empty).toBe(true);
  });
});

// A model of the store's constraints, applied op by op in batch order.
function simulate(start: PolicyContent, ops: ImportOp[]): void {
  const roles = new Set(start.roles.map((r) => r.id));
  const bindings = new Map(start.bindings.map((b) => [b.id, b.roleId]));
  const hosts = new Map<string, string>();
  const endpoints = new Map<string, string>();
  for (const w of start.workloads) {
    for (const h of w.hosts) hosts.set(h.toLowerCase(), w.id);
    for (const e of w.endpoints) endpoints.set(e.id, w.id);
  }
  const dropWorkload = (id: string) => {
    for (const [h, o] of [...hosts]) if (o === id) hosts.delete(h);
    for (const [e, o] of [...endpoints]) if (o === id) endpoints.delete(e);
  };
  for (const op of ops) {
    if (op.type === 'delete') {
      if (op.kind === 'role') {
        for (const [id, r] of bindings) if (r === op.id) throw new Error(`role ${op.id} deleted while binding ${id} references it (cascade)`);
        roles.delete(op.id);
      } else if (op.kind === 'binding') bindings.delete(op.id);
      else if (op.kind === 'workload') dropWorkload(op.id);
      continue;
    }
    if (op.kind === 'role') roles.add(op.value.id);
    else if (op.kind === 'binding') {
      if (!roles.has(op.value.roleId)) throw new Error(`binding ${op.value.id} before its role ${op.value.roleId}`);
      bindings.set(op.value.id, op.value.roleId);
    } else if (op.kind === 'workload') {
      const w = op.value as Workload;
      dropWorkload(w.id);
      for (const h of w.hosts) {
        const owner = hosts.get(h.toLowerCase());
        if (owner !== undefined && owner !== w.id) throw new Error(`host ${h} claimed by ${w.id} while ${owner} holds it`);
        hosts.set(h.toLowerCase(), w.id);
      }
      for (const e of w.endpoints) {
        const owner = endpoints.get(e.id);
        if (owner !== undefined && owner !== w.id) throw new Error(`endpoint ${e.id} claimed by ${w.id} while ${owner} holds it`);
        endpoints.set(e.id, w.id);
      }
    }
  }
}

describe('import ops', () => {
  it('a host and an endpoint swapped between workloads, a role replaced under its bindings: every step valid, result = candidate', () => {
    const next = base();
    next.workloads = [
      { id: 'inventory', name: 'Inventory', hosts: ['billing.localhost:8787'], endpoints: [ep('bill-1', 3)] },
      { id: 'billing', name: 'Billing 2', hosts: ['inventory.localhost:8787', 'inv.example'], endpoints: [ep('inv-1', 1), ep('inv-2', 2)] },
    ];
    next.roles = [{ id: 'viewer', permissions: [], grants: [] }, next.roles[1]!];
    next.bindings = next.bindings.map((b) => ({ ...b, roleId: 'viewer' }));
    const ops = importOps(base(), next);
    expect(() => simulate(base(), ops)).not.toThrow();
    expect(exportPolicy(applied(base(), ops), 'x')).toEqual(exportPolicy(next, 'x'));
    expect(ops.at(-1)).toEqual({ type: 'delete', kind: 'role', id: 'reader' });
  });
});

// ---------------------------------------------------------------------------
// Properties over random configurations

const ROLE_IDS = ['r1', 'r2', 'r3'];
const HOSTS = ['a.localhost', 'b.localhost', 'c.localhost', 'd.localhost'];
const EPS = ['e1', 'e2', 'e3', 'e4'];

const arbContent: fc.Arbitrary<PolicyContent> = fc
  .record({
    roles: fc.subarray(ROLE_IDS, { minLength: 1 }),
    grants: fc.array(fc.constantFrom('g1', 'g2', 'g3'), { maxLength: 3 }).map((g) => [...new Set(g)]),
    perms: fc.subarray(['admin', 'auditor'] as const),
    bindingCount: fc.integer({ min: 0, max: 4 }),
    bindingRoles: fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
    expires: fc.option(fc.integer({ min: 100, max: 200 }), { nil: undefined }),
    deny: fc.boolean(),
    hostOwner: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 4, maxLength: 4 }),
    epOwner: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 4, maxLength: 4 }),
    names: fc.array(fc.constantFrom('One', 'Two'), { minLength: 2, maxLength: 2 }),
    methods: fc.constantFrom<string[]>(['GET'], ['*'], ['GET', 'POST']),
  })
  .map((x) => {
    const workloads: Workload[] = ['w0', 'w1'].map((id, i) => ({
      id,
      name: x.names[i]!,
      hosts: HOSTS.filter((_, h) => x.hostOwner[h] === i),
      endpoints: EPS.filter((_, e) => x.epOwner[e] === i).map((e, k) => ep(e, 10 + k)),
    }));
    return {
      roles: x.roles.map((id) => ({ id, permissions: [...x.perms], grants: x.grants.map((g) => ({ id: g, workload: 'w0', methods: x.methods, paths: ['/**'] })) })),
      bindings: Array.from({ length: x.bindingCount }, (_, i) => ({
        id: `b${i}`,
        subject: { kind: 'user' as const, value: `u${i}` },
        roleId: x.roles[x.bindingRoles[i]! % x.roles.length]!,
        ...(x.expires !== undefined && i % 2 === 0 ? { expiresAt: x.expires } : {}),
      })),
      denyRules: x.deny ? [{ id: 'd', subjects: { groups: ['g'] }, workload: 'w1', methods: x.methods }] : [],
      workloads,
    };
  });

describe('properties', () => {
  it('export → import is a no-op for any configuration', () => {
    fc.assert(
      fc.property(arbContent, (c) => {
        const doc = JSON.parse(JSON.stringify(exportPolicy(c, '1'))) as PolicyImport;
        expect(diffPolicy(c, contentOfDocument(doc)).empty).toBe(true);
        expect(importOps(c, contentOfDocument(doc))).toEqual([]);
      }),
    );
  });

  it('importing any configuration over any other: each batch step valid, the result is the candidate, and re-import is empty', () => {
    fc.assert(
      fc.property(arbContent, arbContent, (current, candidate) => {
        const ops = importOps(current, candidate);
        simulate(current, ops);
        const after = applied(current, ops);
        expect(exportPolicy(after, 'v')).toEqual(exportPolicy(candidate, 'v'));
        expect(diffPolicy(after, candidate).empty).toBe(true);
      }),
    );
  });
});

describe('document checks', () => {
  const doc = () => JSON.parse(JSON.stringify(exportPolicy(base(), '5'))) as PolicyImport;
  const refusal = (d: PolicyImport) => {
    try {
      checkDocument(d, { originAuthority: '127.0.0.1:8787' });
    } catch (e) {
      if (isTollgateError(e) && e.code === 'policy-invalid') return e.details.errors;
      throw e;
    }
    return null;
  };
  it.each<[string, (d: PolicyImport) => void, string]>([
    ['duplicate role id', (d) => d.roles.push({ ...d.roles[0]! }), '/roles/2/id'],
    ['duplicate binding id', (d) => d.bindings.push({ ...d.bindings[0]! }), '/bindings/2/id'],
    ['host on two workloads (the later one is named)', (d) => d.workloads[0]!.hosts.push('inv.example'), '/workloads/1/hosts/0'],
    ['endpoint id on two workloads', (d) => d.workloads[1]!.endpoints.push({ ...d.workloads[0]!.endpoints[0]!, url: 'http://127.0.0.1:9' }), '/workloads/1/endpoints/2/id'],
    ['the gateway origin as a host', (d) => d.workloads[0]!.hosts.push('127.0.0.1:8787'), '/workloads/0'],
    ['a host that is not an authority', (d) => d.workloads[0]!.hosts.push('bad host'), '/workloads/0'],
  ])('%s → 422 with the pointer', (_n, mutate, pointer) => {
    const d = doc();
    mutate(d);
    expect(refusal(d)).toEqual([expect.objectContaining({ in: 'body', pointer })]);
  });
  it('the export passes', () => expect(refusal(doc())).toBeNull());
});
