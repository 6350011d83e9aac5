/**
 * Workload catalog: which host names the gateway serves and where each
 * workload's endpoints are. `compileCatalog` builds O(1) indexes; the hot path
 * reads them from the isolate's snapshot (see `snapshot.ts`).
 */

import type { Endpoint, Workload } from './types.js';

export type { Endpoint, EndpointHealth, EndpointSource, Workload } from './types.js';

export interface CatalogProblem {
  workload: string;
  problem: string;
}

export interface Catalog {
  /** Lookup by the lower-cased Host header (authority, port included). */
  byHost(authority: string): Workload | undefined;
  byId(id: string): Workload | undefined;
  /** True when `origin` ("scheme://authority") is one the gateway serves as a workload host. */
  servesHost(authority: string): boolean;
  readonly size: number;
  /** Entries that were skipped (bad host, bad endpoint URL, host claimed twice). */
  readonly problems: readonly CatalogProblem[];
}

const AUTHORITY = /^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/;

/** A syntactically valid, lower-case authority (host[:port]); false for anything else. */
export function isAuthority(value: string): boolean {
  if (value.length === 0 || value.length > 261 || !AUTHORITY.test(value)) return false;
  const port = /:(\d+)$/.exec(value)?.[1];
  return port === undefined || Number(port) <= 65535;
}

/** Normalise an endpoint URL to its origin; null when it is not a plain http(s) origin. */
export function endpointOrigin(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  if (u.username || u.password || u.search || u.hash || (u.pathname !== '/' && u.pathname !== '')) return null;
  return u.origin;
}

export interface CompileCatalogOptions {
  /** The gateway's own authority: never a workload host. */
  originAuthority: string;
}

export function compileCatalog(workloads: readonly Workload[], options: CompileCatalogOptions): Catalog {
  const hosts = new Map<string, Workload>();
  const ids = new Map<string, Workload>();
  const problems: CatalogProblem[] = [];
  for (const w of workloads) {
    const endpoints: Endpoint[] = [];
    for (const e of w.endpoints) {
      const origin = endpointOrigin(e.url);
      if (origin === null) problems.push({ workload: w.id, problem: `endpoint ${e.id}: url is not an http(s) origin` });
      else endpoints.push(Object.freeze({ ...e, url: origin }));
    }
    const compiled: Workload = Object.freeze({
      id: w.id,
      name: w.name,
      hosts: Object.freeze(w.hosts.map((h) => h.toLowerCase())) as string[],
      endpoints: Object.freeze(endpoints) as Endpoint[],
      ...(w.forwardAuthorization === true ? { forwardAuthorization: true } : {}),
    });
    ids.set(w.id, compiled);
    for (const host of compiled.hosts) {
      if (!isAuthority(host)) problems.push({ workload: w.id, problem: `host is not an authority` });
      else if (host === options.originAuthority) problems.push({ workload: w.id, problem: `host ${host} is the gateway origin` });
      else if (hosts.has(host)) problems.push({ workload: w.id, problem: `host ${host} already belongs to ${hosts.get(host)!.id}` });
      else hosts.set(host, compiled);
    }
  }
  return {
    byHost: (authority) => hosts.get(authority),
    byId: (id) => ids.get(id),
    servesHost: (authority) => hosts.has(authority),
    size: ids.size,
    problems,
  };
}

export { createSnapshotSource, type GatewaySnapshot, type SnapshotSource, type SnapshotSourceOptions } from './snapshot.js';
