/**
 * The hot path's view of configuration: policy `compile()` + the catalog, held
 * in isolate memory and refreshed by version. At most every `refreshSeconds`
 * the current version is read from the version store (KV `policy-version`);
 * the configuration is re-read from D1 only when that value changed (and at
 * first use). D1 is never read per request for configuration.
 *
 * Propagation bound: refreshSeconds + KV's own propagation (eventually
 * consistent, up to ~60 s between locations; local KV is instant).
 */
import { compile, usesCountries, type PolicyDocument, type Snapshot } from '../policy/index.js';
import type { Clock, Logger } from '../platform/index.js';
// The ports file, not the index: the index also exports the D1 adapter, whose Workers types would leak into Node type-checks.
import type { ConfigLoader, VersionStore } from '../store/ports.js';
import { compileCatalog, type Catalog } from './index.js';

export interface GatewaySnapshot {
  /** The version stored with the configuration (D1 meta). */
  version: string;
  policy: Snapshot;
  catalog: Catalog;
  /** The uncompiled document (role listings such as /auth/whoami). */
  document: PolicyDocument;
  /** Some grant or deny rule has a `countries` condition (`usesCountries`): decisions need the request's country. */
  needsCountry: boolean;
  /** Epoch ms when it was loaded. */
  loadedAt: number;
}

export interface SnapshotSource {
  get(): Promise<GatewaySnapshot>;
}

export interface SnapshotSourceOptions {
  loader: ConfigLoader;
  versions: Pick<VersionStore, 'current'>;
  clock: Clock;
  logger: Logger;
  refreshSeconds: number;
  assertionTtlSeconds: number;
  originAuthority: string;
}

export function createSnapshotSource(options: SnapshotSourceOptions): SnapshotSource {
  const { loader, versions, clock, logger } = options;
  let current: GatewaySnapshot | undefined;
  /** The version-store value the current snapshot corresponds to. */
  let seenPointer: string | null = null;
  let lastCheck = 0;
  let inflight: Promise<GatewaySnapshot> | undefined;

  async function load(pointer: string | null): Promise<GatewaySnapshot> {
    const data = await loader.load();
    const document: PolicyDocument = { roles: data.roles, bindings: data.bindings, denyRules: data.denyRules };
    const policy = compile(document, {
      version: data.version,
      assertionTtl: options.assertionTtlSeconds,
      workloads: data.workloads.map((w) => w.id),
    });
    const catalog = compileCatalog(data.workloads, { originAuthority: options.originAuthority });
    for (const p of catalog.problems) logger.warn('catalog-entry-skipped', { workload: p.workload, problem: p.problem });
    const snap: GatewaySnapshot = { version: data.version, policy, catalog, document, needsCountry: usesCountries(document), loadedAt: clock.now() };
    current = snap;
    seenPointer = pointer;
    logger.info('config-loaded', { version: data.version, workloads: catalog.size });
    return snap;
  }

  async function refresh(): Promise<GatewaySnapshot> {
    const now = clock.now();
    if (current === undefined) {
      lastCheck = now;
      const pointer = await versions.current();
      return load(pointer);
    }
    lastCheck = now;
    let pointer: string | null;
    try {
      pointer = await versions.current();
    } catch (cause) {
      logger.warn('config-version-check-failed', { error: cause instanceof Error ? cause.name : 'unknown' });
      return current;
    }
    if (pointer === seenPointer) return current;
    try {
      return await load(pointer);
    } catch (cause) {
      // Keep serving the last good snapshot; the next check retries.
      logger.error('config-reload-failed', { error: cause instanceof Error ? cause.name : 'unknown' });
      return current;
    }
  }

  return {
    get() {
      const due = current === undefined || clock.now() - lastCheck >= options.refreshSeconds * 1000;
      if (!due) return Promise.resolve(current!);
      // Single flight: concurrent requests in one isolate share one check.
      inflight ??= refresh().finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
  };
}
