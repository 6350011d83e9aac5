/**
 * The hot path's view of the trusted issuers: every issuer by `iss`, held in
 * isolate memory and re-read from D1 only when the published version (KV
 * `trusted-issuers-version`) changes, checked at most every `refreshSeconds`
 * — the same propagation bound as the policy (docs/runtime-notes.md).
 * Key caches live per JWKS URL and survive reloads, so an admin edit does not
 * make every isolate refetch every issuer's keys.
 */
import { createLocalJWKSet } from 'jose';
import type { Clock, Logger } from '../platform/index.js';
import { publicKeys, remoteJwks, type JwksCacheOptions, type KeyResolver, type RemoteJwks } from './jwks.js';
import type { TrustedIssuer } from './model.js';

export interface IssuerSource {
  all(): Promise<{ version: string; issuers: TrustedIssuer[] }>;
  currentVersion(): Promise<string | null>;
}

export interface IssuerRegistryOptions {
  source: IssuerSource;
  clock: Clock;
  logger: Logger;
  refreshSeconds: number;
  jwks: JwksCacheOptions;
}

export interface RegisteredIssuer {
  issuer: TrustedIssuer;
  keys: KeyResolver;
}

export interface IssuerRegistry {
  /** The enabled trusted issuer whose `issuer` is exactly `iss`. */
  lookup(iss: string): Promise<RegisteredIssuer | undefined>;
  /** Remote key sources by URL (tests and logs: fetch counts). */
  readonly remotes: ReadonlyMap<string, RemoteJwks>;
}

export function createIssuerRegistry(options: IssuerRegistryOptions): IssuerRegistry {
  const { source, clock, logger } = options;
  const remotes = new Map<string, RemoteJwks>();
  let byIss: Map<string, RegisteredIssuer> | undefined;
  let seen: string | null = null;
  let lastCheck = -Infinity;
  let inflight: Promise<Map<string, RegisteredIssuer>> | undefined;

  function keysOf(t: TrustedIssuer): KeyResolver | undefined {
    if (t.jwks) {
      const local = createLocalJWKSet(publicKeys(t.jwks));
      return (h, tok) => local(h, tok);
    }
    if (!t.jwksUri) return undefined;
    let r = remotes.get(t.jwksUri);
    if (!r) {
      r = remoteJwks(t.jwksUri, options.jwks);
      remotes.set(t.jwksUri, r);
    }
    return r.resolver;
  }

  async function load(pointer: string | null): Promise<Map<string, RegisteredIssuer>> {
    const { issuers } = await source.all();
    const next = new Map<string, RegisteredIssuer>();
    for (const t of issuers) {
      if (t.disabled) continue;
      try {
        const keys = keysOf(t);
        if (keys) next.set(t.issuer, { issuer: t, keys });
      } catch {
        logger.warn('trusted-issuer-skipped', { issuer_id: t.id });
      }
    }
    const live = new Set(issuers.map((t) => t.jwksUri).filter((u): u is string => u !== undefined));
    for (const url of remotes.keys()) if (!live.has(url)) remotes.delete(url);
    byIss = next;
    seen = pointer;
    return next;
  }

  async function refresh(): Promise<Map<string, RegisteredIssuer>> {
    lastCheck = clock.now();
    let pointer: string | null;
    try {
      pointer = await source.currentVersion();
    } catch (cause) {
      if (byIss) {
        logger.warn('trusted-issuers-version-check-failed', { error: cause instanceof Error ? cause.name : 'unknown' });
        return byIss;
      }
      throw cause;
    }
    if (byIss && pointer === seen) return byIss;
    try {
      return await load(pointer);
    } catch (cause) {
      if (byIss) {
        logger.error('trusted-issuers-reload-failed', { error: cause instanceof Error ? cause.name : 'unknown' });
        return byIss;
      }
      throw cause;
    }
  }

  async function current(): Promise<Map<string, RegisteredIssuer>> {
    const due = byIss === undefined || clock.now() - lastCheck >= options.refreshSeconds * 1000;
    if (!due) return byIss!;
    inflight ??= refresh().finally(() => {
      inflight = undefined;
    });
    return inflight;
  }

  return {
    async lookup(iss) {
      return (await current()).get(iss);
    },
    remotes,
  };
}
