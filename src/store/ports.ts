/** Storage ports (types only; adapters: d1.ts, memory.ts). */
import type { Binding, DenyRule, Role } from '../policy/index.js';
import type { Workload } from '../catalog/types.js';

/** Everything the hot path's compiled snapshot is built from. */
export interface ConfigData {
  roles: Role[];
  bindings: Binding[];
  denyRules: DenyRule[];
  workloads: Workload[];
  /** The configuration version stored with the data (D1 `meta.policy_version`). */
  version: string;
}

export interface ConfigLoader {
  /** Read the whole configuration. Rows that fail validation throw TollgateError('config-invalid'). */
  load(): Promise<ConfigData>;
}

/** Writes used by seeding and (later) the admin API. Each bumps nothing by itself; call `bumpVersion`. */
export interface ConfigWriter {
  putWorkload(workload: Workload): Promise<void>;
  putRole(role: Role): Promise<void>;
  putBinding(binding: Binding): Promise<void>;
  deleteBinding(id: string): Promise<void>;
  putDenyRule(rule: DenyRule): Promise<void>;
  deleteDenyRule(id: string): Promise<void>;
  /** Increment the stored version; returns the new one. */
  bumpVersion(): Promise<string>;
}

/** The fast, eventually consistent pointer to the current version (KV `policy-version`). */
export interface VersionStore {
  current(): Promise<string | null>;
  publish(version: string): Promise<void>;
}

/** Epoch seconds throughout. */
export interface SessionRecord {
  id: string;
  subject: string;
  email?: string;
  createdAt: number;
  expiresAt: number;
  revokedAt?: number;
}

export interface SessionStore {
  create(record: Omit<SessionRecord, 'revokedAt'>): Promise<void>;
  get(id: string): Promise<SessionRecord | null>;
  /** Idempotent: the first revocation time wins. */
  markRevoked(id: string, at: number): Promise<void>;
}

export interface HandoffRecord {
  /** base64url(SHA-256(code)); the code itself is never stored. */
  codeHash: string;
  sessionId: string;
  /** The workload authority the code may be redeemed on. */
  host: string;
  /** base64url(SHA-256(nonce)) of the nonce cookie on that host. */
  nonceHash: string;
  returnPath: string;
  /** Epoch seconds. */
  expiresAt: number;
  /** The host's session cookie value, sealed. */
  sessionSeal: string;
}

export interface HandoffStore {
  /** Store a code (and purge expired ones). */
  put(record: HandoffRecord, now: number): Promise<void>;
  /** Single use: remove and return the record if it exists and has not expired at `now`; else null. */
  take(codeHash: string, now: number): Promise<HandoffRecord | null>;
}

export interface Store {
  config: ConfigLoader;
  configWriter: ConfigWriter;
  version: VersionStore;
  sessions: SessionStore;
  handoffs: HandoffStore;
}
