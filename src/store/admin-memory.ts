/**
 * In-memory AdminStore: Node tests, tools and benchmarks. Same contract as the
 * D1 adapter (test/integration/support/admin-store-conformance.ts runs against
 * both): a commit happens entirely — ops, records, version bump — or not at
 * all, gated on the base version and each op's expectation.
 */
import type { Workload } from '../catalog/types.js';
import type { Binding, DenyRule, Role } from '../policy/index.js';
import type {
  AdminStore,
  BindingFilter,
  ChangeRecord,
  ConfigKind,
  ConfigKinds,
  ConfigState,
  Page,
  Versioned,
} from './admin-ports.js';
import type { ConfigLoader, SessionRecord, VersionStore } from './ports.js';

const clone = <T>(v: T): T => structuredClone(v);

export interface MemoryAdminStoreOptions {
  roles?: Role[];
  bindings?: Binding[];
  denyRules?: DenyRule[];
  workloads?: Workload[];
  sessions?: SessionRecord[];
  /** Default '1'. Initial resources carry version 1. */
  version?: string;
}

export interface MemoryAdminStore extends AdminStore {
  /** Records written by commits and revocations, oldest first (with the kind they were stored under). */
  readonly records: (ChangeRecord & { version?: string })[];
  /** The same data as a ConfigLoader (for a snapshot source) and the published version pointer. */
  readonly loader: ConfigLoader;
  readonly versions: VersionStore;
  /** Add a session record (what sign-in writes through the Store port). */
  addSession(s: SessionRecord): void;
}

type Tables = { [K in ConfigKind]: Map<string, Versioned<ConfigKinds[K]>> };

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function createMemoryAdminStore(initial: MemoryAdminStoreOptions = {}): MemoryAdminStore {
  const seed = <T extends { id: string }>(list: T[] | undefined) => new Map((list ?? []).map((v) => [v.id, { value: clone(v), version: 1 }]));
  let tables: Tables = {
    role: seed(initial.roles),
    binding: seed(initial.bindings),
    'deny-rule': seed(initial.denyRules),
    workload: seed(initial.workloads?.map((w) => ({ ...w, hosts: w.hosts.map((h) => h.toLowerCase()) }))),
  };
  let version = initial.version ?? '1';
  let published: string | null = null;
  const sessions = new Map((initial.sessions ?? []).map((s) => [s.id, clone(s)]));
  const records: (ChangeRecord & { version?: string })[] = [];

  const sorted = <K extends ConfigKind>(kind: K): Versioned<ConfigKinds[K]>[] =>
    [...(tables[kind] as Map<string, Versioned<ConfigKinds[K]>>).values()].sort((a, b) => byId(a.value, b.value)).map(clone);

  function state(): ConfigState {
    return { version, roles: sorted('role'), bindings: sorted('binding'), denyRules: sorted('deny-rule'), workloads: sorted('workload') };
  }

  const store: MemoryAdminStore = {
    records,
    addSession(s) {
      sessions.set(s.id, clone(s));
    },
    loader: {
      async load() {
        const s = state();
        return {
          version: s.version,
          roles: s.roles.map((v) => v.value),
          bindings: s.bindings.map((v) => v.value),
          denyRules: s.denyRules.map((v) => v.value),
          workloads: s.workloads.map((v) => ({ ...v.value, hosts: [...v.value.hosts].sort() })),
        };
      },
    },
    versions: {
      async current() {
        return published;
      },
      async publish(v) {
        published = v;
      },
    },

    async state() {
      return state();
    },

    async get(kind, id) {
      const v = tables[kind].get(id);
      return v ? (clone(v) as never) : null;
    },

    async page(kind, { after = '', limit }, filter) {
      let items = sorted(kind).filter((v) => v.value.id > after);
      if (kind === 'binding' && filter) {
        const f = filter as BindingFilter;
        items = items.filter((v) => {
          const b = v.value as Binding;
          return (f.roleId === undefined || b.roleId === f.roleId) && (f.subject === undefined || b.subject.value === f.subject);
        });
      }
      return { items: items.slice(0, limit), more: items.length > limit } as never;
    },

    async commit(change) {
      if (change.base !== version) return { committed: false };
      for (const op of change.ops) {
        if (op.expect === undefined) continue;
        const current = tables[op.kind].get(op.type === 'delete' ? op.id : op.value.id);
        if (op.expect === 'absent' ? current !== undefined : current?.version !== op.expect) return { committed: false };
      }
      const next = String(Number(version) + 1);
      // Apply to copies, then swap: all or nothing.
      const copy: Tables = { role: new Map(tables.role), binding: new Map(tables.binding), 'deny-rule': new Map(tables['deny-rule']), workload: new Map(tables.workload) };
      for (const op of change.ops) {
        const t = copy[op.kind] as Map<string, Versioned<unknown>>;
        if (op.type === 'delete') t.delete(op.id);
        else {
          const value = op.kind === 'workload' ? { ...op.value, hosts: op.value.hosts.map((h) => h.toLowerCase()) } : op.value;
          t.set(op.value.id, { value: clone(value), version: Number(next) });
        }
      }
      tables = copy;
      version = next;
      for (const r of change.audit) records.push({ ...clone(r), kind: r.kind ?? 'change', version: next });
      return { committed: true, version: next };
    },

    sessions: {
      async page({ after = '', limit }, filter): Promise<Page<SessionRecord>> {
        const items = [...sessions.values()]
          .filter((s) => s.id > after)
          .filter((s) => filter.subject === undefined || s.subject === filter.subject)
          .filter((s) => filter.activeAt === undefined || (s.revokedAt === undefined && s.expiresAt > filter.activeAt))
          .sort(byId);
        return { items: items.slice(0, limit).map(clone), more: items.length > limit };
      },
      async get(id) {
        const s = sessions.get(id);
        return s ? clone(s) : null;
      },
      async activeOf(subject, now, limit) {
        return [...sessions.values()]
          .filter((s) => s.subject === subject && s.revokedAt === undefined && s.expiresAt > now)
          .sort(byId)
          .slice(0, limit)
          .map(clone);
      },
      async markRevoked(items, at) {
        const changed: string[] = [];
        for (const { id, audit } of items) {
          const s = sessions.get(id);
          if (!s || s.revokedAt !== undefined) continue;
          s.revokedAt = at;
          records.push({ ...clone(audit), kind: audit.kind ?? 'revocation' });
          changed.push(id);
        }
        return changed;
      },
    },
  };
  return store;
}
