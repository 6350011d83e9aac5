/**
 * The admin API's storage port (types only, runtime-neutral: Node tests and
 * tools import this file; the D1 adapter is `admin.ts`).
 */
import type { Binding, DenyRule, Role } from '../policy/index.js';
import type { Workload } from '../catalog/types.js';
import type { SessionRecord } from './ports.js';

/** The configuration resources the admin API manages, by kind. */
export interface ConfigKinds {
  role: Role;
  binding: Binding;
  'deny-rule': DenyRule;
  workload: Workload;
}
export type ConfigKind = keyof ConfigKinds;
export const CONFIG_KINDS: readonly ConfigKind[] = ['role', 'binding', 'deny-rule', 'workload'];

export interface Versioned<T> {
  value: T;
  /** The configuration version of the write that last changed it (ETag). */
  version: number;
}

/** One consistent read of all configuration, each resource with its version. */
export interface ConfigState {
  /** meta.policy_version */
  version: string;
  roles: Versioned<Role>[];
  bindings: Versioned<Binding>[];
  denyRules: Versioned<DenyRule>[];
  workloads: Versioned<Workload>[];
}

/** A record of an admin action, written in the same transaction as the action. Never holds tokens, cookies or secrets. */
export interface ChangeRecord {
  /** Epoch seconds. */
  at: number;
  requestId: string;
  /** Who acted: Tollgate subject and how they authenticated. */
  actor: { subject: string; via: 'session' | 'token' };
  /** Audit `kind` column: 'change' for configuration, 'revocation' for sessions. */
  kind?: 'change' | 'revocation';
  /** 'create' | 'update' | 'delete' | 'import' | 'revoke' … */
  action: string;
  /** 'role' | 'binding' | 'deny-rule' | 'workload' | 'policy' | 'session' … */
  resource: string;
  id: string;
  /** Wire form before / after; null for a create / a delete. */
  before: unknown;
  after: unknown;
}

/** 'absent': the id must be free (create). A number: the resource must exist at exactly that version (If-Match). */
export type Expectation = 'absent' | number;

export type ConfigOp =
  | { [K in ConfigKind]: { type: 'put'; kind: K; value: ConfigKinds[K]; expect?: Expectation } }[ConfigKind]
  | { type: 'delete'; kind: ConfigKind; id: string; expect?: Expectation };

export interface ConfigCommit {
  /** The configuration version the change was validated against: it commits only while this is current. */
  base: string;
  ops: ConfigOp[];
  /** Audit records, written only if the change is. */
  audit: ChangeRecord[];
}

export type CommitResult = { committed: true; version: string } | { committed: false };

export interface PageRequest {
  /** Exclusive lower bound on the id ('' or absent: from the start). */
  after?: string;
  /** 1..200 */
  limit: number;
}

export interface Page<T> {
  items: T[];
  /** True when more items follow the last one. */
  more: boolean;
}

export interface BindingFilter {
  roleId?: string;
  /** The binding subject's value (user id, email, group or service id). */
  subject?: string;
}

export interface SessionFilter {
  subject?: string;
  /** Only sessions neither revoked nor expired at this epoch second. */
  activeAt?: number;
}

export interface AdminStore {
  state(): Promise<ConfigState>;
  get<K extends ConfigKind>(kind: K, id: string): Promise<Versioned<ConfigKinds[K]> | null>;
  page<K extends ConfigKind>(kind: K, page: PageRequest, filter?: K extends 'binding' ? BindingFilter : never): Promise<Page<Versioned<ConfigKinds[K]>>>;
  /** Apply the ops and the audit records atomically (see the module comment). */
  commit(change: ConfigCommit): Promise<CommitResult>;
  sessions: {
    page(page: PageRequest, filter: SessionFilter): Promise<Page<SessionRecord>>;
    get(id: string): Promise<SessionRecord | null>;
    /** Active sessions of a subject at `now`, at most `limit`. */
    activeOf(subject: string, now: number, limit: number): Promise<SessionRecord[]>;
    /**
     * Mark sessions revoked in D1 with one audit record each, in one batch; a
     * record is written only for a row that changed (was not already revoked).
     * Returns the ids that changed.
     */
    markRevoked(items: { id: string; audit: ChangeRecord }[], at: number): Promise<string[]>;
  };
}

