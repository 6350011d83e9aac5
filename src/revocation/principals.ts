/**
 * Service principals' revocation state (docs/services.md, "Revocation"), from
 * the RevocationLedger Durable Object (strongly consistent), cached per
 * isolate like session revocations:
 *
 * - a state is reused for at most `cacheSeconds` (REVOCATION_CACHE_SECONDS,
 *   default 5), so disabling a service account holds at every gateway isolate
 *   within that bound — and at every guard within that plus the assertion TTL;
 * - the isolate that changes a state knows it at once;
 * - any error asking the ledger throws: the caller refuses (fail closed).
 *
 * (Runtime-neutral: the Durable Object client is `principalLedgerClient` in index.ts.)
 *
 * A token is usable when the principal is not disabled and the token's `iat`
 * is not before the principal's not-before time.
 */
import { TollgateError } from '../errors.js';
import type { Clock } from '../platform/index.js';

export interface PrincipalState {
  disabled: boolean;
  /** Epoch seconds: tokens issued (iat) before this are refused. */
  notBefore: number;
}

/** The ledger's principal methods, as a caller sees them. */
export interface PrincipalLedgerClient {
  setPrincipal(subject: string, disabled: boolean, notBefore: number): Promise<void>;
  principal(subject: string): Promise<PrincipalState>;
}

export interface PrincipalStatus {
  /** True when a token of `subject` issued at `iat` (epoch s; undefined = unknown) may be used now. */
  usable(subject: string, iat: number | undefined): Promise<boolean>;
  /** Disable (and kill every token issued up to now), or enable (older tokens stay dead). */
  set(subject: string, state: { disabled: boolean; notBefore: number }): Promise<void>;
}

export interface PrincipalStatusOptions {
  ledger: PrincipalLedgerClient;
  clock: Clock;
  cacheSeconds: number;
  /** Bound on cached entries per isolate (oldest dropped first). Default 10 000. */
  maxEntries?: number;
}

export function createPrincipalStatus(options: PrincipalStatusOptions): PrincipalStatus {
  const { ledger, clock } = options;
  const maxEntries = options.maxEntries ?? 10_000;
  const cache = new Map<string, { state: PrincipalState; until: number }>();

  function remember(subject: string, state: PrincipalState, until: number): void {
    cache.delete(subject);
    if (cache.size >= maxEntries) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
    cache.set(subject, { state, until });
  }

  async function state(subject: string): Promise<PrincipalState> {
    const now = clock.now();
    const hit = cache.get(subject);
    if (hit && hit.until > now) return hit.state;
    let s: PrincipalState;
    try {
      s = await ledger.principal(subject);
    } catch (cause) {
      throw new TollgateError('internal', 'principal revocation check failed', { cause });
    }
    if (options.cacheSeconds > 0) remember(subject, s, now + options.cacheSeconds * 1000);
    return s;
  }

  return {
    async usable(subject, iat) {
      const s = await state(subject);
      if (s.disabled) return false;
      if (s.notBefore > 0 && (iat === undefined || !Number.isFinite(iat) || iat < s.notBefore)) return false;
      return true;
    },
    async set(subject, next) {
      try {
        await ledger.setPrincipal(subject, next.disabled, Math.max(0, Math.floor(next.notBefore)));
      } catch (cause) {
        throw new TollgateError('internal', 'principal revocation failed', { cause });
      }
      // The ledger keeps the later not-before; so does this isolate's copy.
      const prior = cache.get(subject)?.state.notBefore ?? 0;
      remember(subject, { disabled: next.disabled, notBefore: Math.max(prior, Math.floor(next.notBefore)) }, clock.now() + Math.max(options.cacheSeconds, 1) * 1000);
    },
  };
}

/** In-memory ledger (unit tests, benchmarks). */
export function memoryPrincipalLedger(): PrincipalLedgerClient & { states: Map<string, PrincipalState> } {
  const states = new Map<string, PrincipalState>();
  return {
    states,
    async setPrincipal(subject, disabled, notBefore) {
      const prior = states.get(subject)?.notBefore ?? 0;
      states.set(subject, { disabled, notBefore: Math.max(prior, notBefore) });
    },
    async principal(subject) {
      return states.get(subject) ?? { disabled: false, notBefore: 0 };
    },
  };
}
