/** In-memory adapter: tests, benchmarks and Node tools. Same contract as D1 (conformance suite). */
import { TollgateError } from '../errors.js';
import type { Binding, DenyRule, Role } from '../policy/index.js';
import type { Workload } from '../catalog/types.js';
import type { HandoffRecord, SessionRecord, Store } from './ports.js';

const clone = <T>(v: T): T => structuredClone(v);

export interface MemoryStoreOptions {
  roles?: Role[];
  bindings?: Binding[];
  denyRules?: DenyRule[];
  workloads?: Workload[];
  version?: string;
}

export function createMemoryStore(initial: MemoryStoreOptions = {}): Store {
  const roles = new Map<string, Role>((initial.roles ?? []).map((r) => [r.id, clone(r)]));
  const bindings = new Map<string, Binding>((initial.bindings ?? []).map((b) => [b.id, clone(b)]));
  const denyRules = new Map<string, DenyRule>((initial.denyRules ?? []).map((d) => [d.id, clone(d)]));
  const workloads = new Map<string, Workload>((initial.workloads ?? []).map((w) => [w.id, clone(w)]));
  let version = initial.version ?? '1';
  let published: string | null = null;
  const sessions = new Map<string, SessionRecord>();
  const handoffs = new Map<string, HandoffRecord>();
  const sorted = <T extends { id: string }>(m: Map<string, T>): T[] =>
    [...m.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(clone);

  return {
    config: {
      async load() {
        return {
          roles: sorted(roles),
          bindings: sorted(bindings),
          denyRules: sorted(denyRules),
          workloads: sorted(workloads).map((w) => ({ ...w, hosts: w.hosts.map((h) => h.toLowerCase()).sort() })),
          version,
        };
      },
    },
    configWriter: {
      async putWorkload(w) {
        workloads.set(w.id, clone(w));
      },
      async putRole(r) {
        roles.set(r.id, clone(r));
      },
      async putBinding(b) {
        bindings.set(b.id, clone(b));
      },
      async deleteBinding(id) {
        bindings.delete(id);
      },
      async putDenyRule(d) {
        denyRules.set(d.id, clone(d));
      },
      async deleteDenyRule(id) {
        denyRules.delete(id);
      },
      async bumpVersion() {
        version = String(Number(version) + 1);
        return version;
      },
    },
    version: {
      async current() {
        return published;
      },
      async publish(v) {
        published = v;
      },
    },
    sessions: {
      async create(s) {
        if (sessions.has(s.id)) throw new TollgateError('internal', 'storage error: create session');
        sessions.set(s.id, clone(s));
      },
      async get(id) {
        const s = sessions.get(id);
        return s ? clone(s) : null;
      },
      async markRevoked(id, at) {
        const s = sessions.get(id);
        if (s && s.revokedAt === undefined) s.revokedAt = at;
      },
    },
    handoffs: {
      async put(h, now) {
        for (const [k, v] of handoffs) if (v.expiresAt <= now) handoffs.delete(k);
        if (handoffs.has(h.codeHash)) throw new TollgateError('internal', 'storage error: store hand-off code');
        handoffs.set(h.codeHash, clone(h));
      },
      async take(codeHash, now) {
        const h = handoffs.get(codeHash);
        if (!h) return null;
        handoffs.delete(codeHash);
        return h.expiresAt > now ? clone(h) : null;
      },
    },
  };
}
