/**
 * Storage ports of service accounts and trusted issuers (types only,
 * runtime-neutral: Node tests and the admin use-cases import this file; the
 * adapters are in services.ts). Writes carry their audit record and happen
 * together with it or not at all; a write whose expectation fails (id taken,
 * stale version) answers `{committed: false}` and leaves no record.
 */
import type { TrustedIssuer } from '../federation/model.js';
import type { ServiceAccount } from '../oauth/model.js';
import type { ChangeRecord, Page, PageRequest } from './admin-ports.js';

export type WriteOutcome = { committed: true } | { committed: false };

export interface ServiceAccountStore {
  get(id: string): Promise<ServiceAccount | null>;
  page(page: PageRequest): Promise<Page<ServiceAccount>>;
  /** Committed only when the id is free. */
  create(account: ServiceAccount, audit: ChangeRecord): Promise<WriteOutcome>;
  /** Committed only when the stored version is `expect`. */
  update(account: ServiceAccount, expect: number, audit: ChangeRecord): Promise<WriteOutcome>;
  remove(id: string, expect: number, audit: ChangeRecord): Promise<WriteOutcome>;
}

export interface TrustedIssuerStore {
  get(id: string): Promise<TrustedIssuer | null>;
  /** The id of the issuer registered for this `iss`, if any. */
  idByIssuer(issuer: string): Promise<string | null>;
  page(page: PageRequest): Promise<Page<TrustedIssuer>>;
  /** Every issuer and the set's version, in one read (the hot path's registry). */
  all(): Promise<{ version: string; issuers: TrustedIssuer[] }>;
  create(issuer: TrustedIssuer, audit: ChangeRecord): Promise<WriteOutcome>;
  update(issuer: TrustedIssuer, expect: number, audit: ChangeRecord): Promise<WriteOutcome>;
  remove(id: string, expect: number, audit: ChangeRecord): Promise<WriteOutcome>;
  /** The published pointer (KV) every isolate checks; `publish` after a committed write. */
  currentVersion(): Promise<string | null>;
  publish(version: string): Promise<void>;
}

export interface ServiceStores {
  accounts: ServiceAccountStore;
  issuers: TrustedIssuerStore;
}

