/**
 * Session revocation (DESIGN §7): the RevocationLedger Durable Object is the
 * source of truth; each isolate caches answers so the hot path does not call
 * it on every request.
 *
 * - "not revoked" is cached for at most `cacheSeconds` (REVOCATION_CACHE_SECONDS,
 *   default 5): a revocation anywhere holds at every gateway isolate within
 *   that bound (and at every guard within the assertion TTL after that).
 * - "revoked" is cached until the session's absolute expiry (it never changes back).
 * - Any error while asking the ledger throws: the caller denies (fail closed).
 */
import { TollgateError } from '../errors.js';
import type { Clock } from '../platform/index.js';
import { REVOCATION_SHARDS, revocationShardName } from '../store/index.js';
import type { RevocationLedger } from './ledger.js';
import type { PrincipalLedgerClient } from './principals.js';

export { RevocationLedger } from './ledger.js';
export {
  createPrincipalStatus,
  memoryPrincipalLedger,
  type PrincipalLedgerClient,
  type PrincipalState,
  type PrincipalStatus,
  type PrincipalStatusOptions,
} from './principals.js';

/** The two RPC methods of the ledger, as seen by a caller. */
export interface RevocationLedgerClient {
  revoke(sid: string, untilEpochSeconds: number): Promise<void>;
  isRevoked(sid: string): Promise<boolean>;
}

/** FNV-1a over the sid (already random), modulo the shard count. */
export function revocationShard(sid: string, shards = REVOCATION_SHARDS): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < sid.length; i++) {
    h ^= sid.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % shards;
}

/** Route each sid to its shard of the `REVOCATIONS` namespace. */
export function ledgerClient(namespace: DurableObjectNamespace<RevocationLedger>): RevocationLedgerClient {
  const stub = (sid: string) => namespace.get(namespace.idFromName(revocationShardName(revocationShard(sid))));
  return {
    async revoke(sid, until) {
      await stub(sid).revoke(sid, until);
    },
    async isRevoked(sid) {
      return (await stub(sid).isRevoked(sid)) === true;
    },
  };
}

export interface RevocationChecker {
  /** `expiresAt`: the session's absolute expiry (epoch s), bounding how long a "revoked" answer is kept. */
  isRevoked(sid: string, expiresAt: number): Promise<boolean>;
  revoke(sid: string, expiresAt: number): Promise<void>;
}

export interface RevocationCheckerOptions {
  ledger: RevocationLedgerClient;
  clock: Clock;
  cacheSeconds: number;
  /** Bound on cached entries per isolate (oldest dropped first). Default 10 000. */
  maxEntries?: number;
}

export function createRevocationChecker(options: RevocationCheckerOptions): RevocationChecker {
  const { ledger, clock } = options;
  const maxEntries = options.maxEntries ?? 10_000;
  /** sid → answer and until when (epoch ms) it may be used. Map order = insertion order. */
  const cache = new Map<string, { revoked: boolean; until: number }>();

  function remember(sid: string, revoked: boolean, until: number): void {
    cache.delete(sid);
    if (cache.size >= maxEntries) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
    cache.set(sid, { revoked, until });
  }

  return {
    async isRevoked(sid, expiresAt) {
      const now = clock.now();
      const hit = cache.get(sid);
      if (hit && hit.until > now) return hit.revoked;
      let revoked: boolean;
      try {
        revoked = await ledger.isRevoked(sid);
      } catch (cause) {
        throw new TollgateError('internal', 'revocation check failed', { cause });
      }
      const until = revoked ? expiresAt * 1000 : now + options.cacheSeconds * 1000;
      if (until > now) remember(sid, revoked, until);
      else cache.delete(sid);
      return revoked;
    },
    async revoke(sid, expiresAt) {
      try {
        await ledger.revoke(sid, Math.max(0, Math.floor(expiresAt)));
      } catch (cause) {
        throw new TollgateError('internal', 'revocation failed', { cause });
      }
      remember(sid, true, expiresAt * 1000);
    },
  };
}

/** Service principals' state in the same ledger shards (keyed `service:<id>`; src/revocation/principals.ts). */
export function principalLedgerClient(namespace: DurableObjectNamespace<RevocationLedger>): PrincipalLedgerClient {
  const stub = (subject: string) => namespace.get(namespace.idFromName(revocationShardName(revocationShard(subject))));
  return {
    async setPrincipal(subject, disabled, notBefore) {
      await stub(subject).setPrincipal(subject, disabled, notBefore);
    },
    async principal(subject) {
      const s = await stub(subject).principal(subject);
      return { disabled: s.disabled === true, notBefore: Number(s.notBefore) };
    },
  };
}
