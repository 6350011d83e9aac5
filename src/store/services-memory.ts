/** In-memory adapter of the service stores (Node unit tests, benchmarks): the semantics of services.ts's D1 adapter. */
import type { ChangeRecord, Page } from './admin-ports.js';
import type { ServiceStores, WriteOutcome } from './services-ports.js';
import type { ServiceAccount } from '../oauth/model.js';
import type { TrustedIssuer } from '../federation/model.js';

/** In-memory adapter with the same semantics (Node unit tests, benchmarks). `records` collects the audit records. */
export function createMemoryServiceStores(): ServiceStores & { records: ChangeRecord[] } {
  const accountsById = new Map<string, ServiceAccount>();
  const issuersById = new Map<string, TrustedIssuer>();
  const records: ChangeRecord[] = [];
  let issuersVersion = 1;
  let published: string | null = null;
  const clone = <T>(v: T): T => structuredClone(v);
  const sorted = <T extends { id: string }>(m: Map<string, T>, after: string, limit: number): Page<T> => {
    const items = [...m.values()].filter((v) => v.id > after).sort((a, b) => (a.id < b.id ? -1 : 1));
    return { items: items.slice(0, limit).map(clone), more: items.length > limit };
  };
  const commit = (ok: boolean, record: ChangeRecord, after?: () => void): WriteOutcome => {
    if (!ok) return { committed: false };
    records.push(record);
    after?.();
    return { committed: true };
  };
  const bump = () => {
    issuersVersion += 1;
    published = String(issuersVersion);
  };
  return {
    records,
    accounts: {
      get: async (id) => (accountsById.has(id) ? clone(accountsById.get(id)!) : null),
      page: async ({ after = '', limit }) => sorted(accountsById, after, limit),
      create: async (a, record) => commit(!accountsById.has(a.id), record, () => accountsById.set(a.id, clone(a))),
      update: async (a, expect, record) => commit(accountsById.get(a.id)?.version === expect, record, () => accountsById.set(a.id, clone(a))),
      remove: async (id, expect, record) => commit(accountsById.get(id)?.version === expect, record, () => accountsById.delete(id)),
    },
    issuers: {
      get: async (id) => (issuersById.has(id) ? clone(issuersById.get(id)!) : null),
      idByIssuer: async (iss) => [...issuersById.values()].find((t) => t.issuer === iss)?.id ?? null,
      page: async ({ after = '', limit }) => sorted(issuersById, after, limit),
      all: async () => ({ version: String(issuersVersion), issuers: [...issuersById.values()].map(clone) }),
      create: async (t, record) =>
        commit(!issuersById.has(t.id) && ![...issuersById.values()].some((x) => x.issuer === t.issuer), record, () => {
          issuersById.set(t.id, clone(t));
          bump();
        }),
      update: async (t, expect, record) =>
        commit(issuersById.get(t.id)?.version === expect && ![...issuersById.values()].some((x) => x.issuer === t.issuer && x.id !== t.id), record, () => {
          issuersById.set(t.id, clone(t));
          bump();
        }),
      remove: async (id, expect, record) =>
        commit(issuersById.get(id)?.version === expect, record, () => {
          issuersById.delete(id);
          bump();
        }),
      currentVersion: async () => published,
      publish: async (v) => {
        published = v;
      },
    },
  };
}
