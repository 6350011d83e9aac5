/**
 * Storage and state inside workerd: the store conformance suite against D1 and
 * memory, the version-refreshed snapshot, the catalog index and the
 * RevocationLedger Durable Object with its isolate cache.
 */
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { compileCatalog, createSnapshotSource, type Workload } from '../../src/catalog/index.js';
import { isTollgateError } from '../../src/errors.js';
import { fixedClock, silentLogger } from '../../src/platform/index.js';
import {
  createRevocationChecker,
  ledgerClient,
  revocationShard,
  type RevocationLedger,
  type RevocationLedgerClient,
} from '../../src/revocation/index.js';
import { createD1Store, createMemoryStore, type ConfigData, type ConfigLoader } from '../../src/store/index.js';
import { storeConformance } from './support/store-conformance.js';

storeConformance('d1', async () => createD1Store({ DB: env.DB, CONFIG: env.CONFIG }));
storeConformance('memory', async () => createMemoryStore());

describe('D1 adapter details', () => {
  it('stores hand-off codes only as the hash it is given, and a redeemed row is gone', async () => {
    const store = createD1Store({ DB: env.DB, CONFIG: env.CONFIG });
    await store.handoffs.put(
      { codeHash: 'q'.repeat(43), sessionId: 's', host: 'h', nonceHash: 'n'.repeat(43), returnPath: '/', expiresAt: 9e9, sessionSeal: 'x' },
      1,
    );
    expect(await env.DB.prepare('SELECT count(*) AS n FROM handoff_codes WHERE code_hash = ?').bind('q'.repeat(43)).first('n')).toBe(1);
    await store.handoffs.take('q'.repeat(43), 1);
    expect(await env.DB.prepare('SELECT count(*) AS n FROM handoff_codes WHERE code_hash = ?').bind('q'.repeat(43)).first('n')).toBe(0);
  });

  it('purges expired codes when a new one is stored', async () => {
    const store = createD1Store({ DB: env.DB, CONFIG: env.CONFIG });
    const base = { sessionId: 's', host: 'h', nonceHash: 'n'.repeat(43), returnPath: '/', sessionSeal: 'x' };
    await store.handoffs.put({ ...base, codeHash: 'old'.padEnd(43, '0'), expiresAt: 50 }, 10);
    await store.handoffs.put({ ...base, codeHash: 'new'.padEnd(43, '0'), expiresAt: 200 }, 100);
    const left = await env.DB.prepare('SELECT code_hash FROM handoff_codes WHERE code_hash IN (?, ?)')
      .bind('old'.padEnd(43, '0'), 'new'.padEnd(43, '0'))
      .all();
    expect(left.results.map((r) => r.code_hash)).toEqual(['new'.padEnd(43, '0')]);
  });

  it('reads grants written without the role prefix (other tools) as they are', async () => {
    await env.DB.batch([
      env.DB.prepare(`INSERT INTO roles (id, permissions) VALUES ('plain', '[]')`),
      env.DB.prepare(`INSERT INTO grants (id, role_id, workload) VALUES ('plain-all', 'plain', 'inventory')`),
    ]);
    const c = await createD1Store({ DB: env.DB, CONFIG: env.CONFIG }).config.load();
    expect(c.roles.find((r) => r.id === 'plain')!.grants).toEqual([
      { id: 'plain-all', workload: 'inventory', methods: ['*'], paths: ['/**'] },
    ]);
  });

  it('a malformed JSON column is config-invalid, not a crash', async () => {
    await env.DB.prepare(`INSERT INTO roles (id, permissions) VALUES ('broken', 'not json')`).run();
    await expect(createD1Store({ DB: env.DB, CONFIG: env.CONFIG }).config.load()).rejects.toSatisfy(
      (e: unknown) => isTollgateError(e) && e.code === 'config-invalid',
    );
    await env.DB.prepare(`DELETE FROM roles WHERE id = 'broken'`).run();
  });
});

describe('catalog', () => {
  const w = (id: string, hosts: string[], url = 'http://127.0.0.1:9'): Workload => ({
    id,
    name: id,
    hosts,
    endpoints: [{ id: `${id}-1`, url, location: 'onprem', source: 'static', health: 'unknown' }],
  });

  it('indexes lower-cased authorities (port included) and ids', () => {
    const c = compileCatalog([w('a', ['A.localhost:8787']), w('b', ['b.example'])], { originAuthority: '127.0.0.1:8787' });
    expect(c.byHost('a.localhost:8787')?.id).toBe('a');
    expect(c.byHost('a.localhost')).toBeUndefined();
    expect(c.byHost('a.localhost:8788')).toBeUndefined();
    expect(c.byHost('b.example')?.id).toBe('b');
    expect(c.byId('b')?.hosts).toEqual(['b.example']);
    expect(c.servesHost('b.example')).toBe(true);
  });

  it('skips the origin, duplicate hosts and endpoints that are not plain origins', () => {
    const c = compileCatalog(
      [
        w('a', ['127.0.0.1:8787', 'dup.example']),
        w('b', ['dup.example', 'bad host']),
        w('c', ['c.example'], 'http://127.0.0.1:9/prefix'),
        w('d', ['d.example'], 'file:///etc/passwd'),
      ],
      { originAuthority: '127.0.0.1:8787' },
    );
    expect(c.byHost('127.0.0.1:8787')).toBeUndefined();
    expect(c.byHost('dup.example')?.id).toBe('a');
    expect(c.byId('c')?.endpoints).toEqual([]);
    expect(c.byId('d')?.endpoints).toEqual([]);
    expect(c.problems.length).toBe(5);
  });
});

describe('snapshot refreshed by version', () => {
  function setup(refreshSeconds: number) {
    const clock = fixedClock(1_000_000);
    let loads = 0;
    let pointer: string | null = '1';
    let version = '1';
    const data = (): ConfigData => ({
      roles: [],
      bindings: [],
      denyRules: [],
      workloads: [
        {
          id: `w${version}`,
          name: 'w',
          hosts: [`w${version}.example`],
          endpoints: [],
        },
      ],
      version,
    });
    const loader: ConfigLoader = {
      async load() {
        loads++;
        return data();
      },
    };
    let pointerReads = 0;
    const source = createSnapshotSource({
      loader,
      versions: {
        async current() {
          pointerReads++;
          return pointer;
        },
      },
      clock,
      logger: silentLogger,
      refreshSeconds,
      assertionTtlSeconds: 30,
      originAuthority: '127.0.0.1:8787',
    });
    return {
      clock,
      source,
      loads: () => loads,
      pointerReads: () => pointerReads,
      change(v: string) {
        version = v;
        pointer = v;
      },
      setPointer(v: string | null) {
        pointer = v;
      },
    };
  }

  it('loads at first use, then checks the pointer at most every refresh period and reloads only on change', async () => {
    const t = setup(5);
    expect((await t.source.get()).version).toBe('1');
    expect(t.loads()).toBe(1);
    await t.source.get();
    await t.source.get();
    expect(t.pointerReads()).toBe(1);
    t.change('2');
    t.clock.advance(4_999);
    expect((await t.source.get()).version).toBe('1'); // not yet checked
    t.clock.advance(1);
    expect((await t.source.get()).version).toBe('2');
    expect(t.loads()).toBe(2);
    expect((await t.source.get()).catalog.byHost('w2.example')?.id).toBe('w2');
    t.clock.advance(5_000);
    await t.source.get(); // unchanged pointer: no reload
    expect(t.loads()).toBe(2);
    expect(t.pointerReads()).toBe(3);
  });

  it('concurrent requests share one load', async () => {
    const t = setup(5);
    await Promise.all(Array.from({ length: 10 }, () => t.source.get()));
    expect(t.loads()).toBe(1);
  });

  it('keeps the last good snapshot when a reload fails', async () => {
    const clock = fixedClock(0);
    let fail = false;
    let pointer = '1';
    const source = createSnapshotSource({
      loader: {
        async load() {
          if (fail) throw new Error('d1 down');
          return { roles: [], bindings: [], denyRules: [], workloads: [], version: pointer };
        },
      },
      versions: { current: async () => pointer },
      clock,
      logger: silentLogger,
      refreshSeconds: 1,
      assertionTtlSeconds: 30,
      originAuthority: 'x',
    });
    expect((await source.get()).version).toBe('1');
    fail = true;
    pointer = '2';
    clock.advance(1000);
    expect((await source.get()).version).toBe('1');
    fail = false;
    clock.advance(1000);
    expect((await source.get()).version).toBe('2');
  });

  it('the gateway picks up a change through D1 + KV', async () => {
    const store = createD1Store({ DB: env.DB, CONFIG: env.CONFIG });
    const clock = fixedClock(Date.now());
    const source = createSnapshotSource({
      loader: store.config,
      versions: store.version,
      clock,
      logger: silentLogger,
      refreshSeconds: 5,
      assertionTtlSeconds: 30,
      originAuthority: '127.0.0.1:8787',
    });
    expect((await source.get()).catalog.byHost('new.localhost:8787')).toBeUndefined();
    await store.configWriter.putWorkload({ id: 'new', name: 'New', hosts: ['new.localhost:8787'], endpoints: [] });
    await store.version.publish(await store.configWriter.bumpVersion());
    expect((await source.get()).catalog.byHost('new.localhost:8787')).toBeUndefined(); // within the refresh period
    clock.advance(5_000);
    expect((await source.get()).catalog.byHost('new.localhost:8787')?.id).toBe('new');
  });
});

describe('RevocationLedger (Durable Object) and the isolate cache', () => {
  const ns = env.REVOCATIONS as DurableObjectNamespace<RevocationLedger>;
  const future = () => Math.floor(Date.now() / 1000) + 3600;

  it('revoke / isRevoked over RPC, sharded by sid', async () => {
    const ledger = ledgerClient(ns);
    expect(await ledger.isRevoked('sid-a')).toBe(false);
    await ledger.revoke('sid-a', future());
    expect(await ledger.isRevoked('sid-a')).toBe(true);
    expect(await ledger.isRevoked('sid-b')).toBe(false);
    const shards = new Set(Array.from({ length: 64 }, (_, i) => revocationShard(`sid-${i}`)));
    expect(shards.size).toBeGreaterThan(1);
  });

  it('an entry past its expiry no longer counts, and the alarm purges it', async () => {
    const ledger = ledgerClient(ns);
    await ledger.revoke('sid-old', Math.floor(Date.now() / 1000) - 1);
    expect(await ledger.isRevoked('sid-old')).toBe(false);
    const stub = ns.get(ns.idFromName(`revocations-${revocationShard('sid-old')}`));
    const left = await runInDurableObject(stub, async (instance: RevocationLedger, state) => {
      await instance.alarm();
      return state.storage.sql.exec('SELECT count(*) AS n FROM revoked WHERE sid = ?', 'sid-old').one().n;
    });
    expect(left).toBe(0);
  });

  it('treats a malformed sid as revoked and refuses malformed revocations', async () => {
    const stub = ns.get(ns.idFromName('revocations-0'));
    expect(await stub.isRevoked('not a sid!')).toBe(true);
    const refused = await runInDurableObject(stub, async (instance: RevocationLedger) => {
      const out: string[] = [];
      for (const [sid, until] of [['ok', Number.NaN], ['bad sid', 1], ['ok', -1]] as const) {
        try {
          await instance.revoke(sid, until);
        } catch (e) {
          out.push((e as Error).message);
        }
      }
      return out;
    });
    expect(refused).toEqual(['invalid expiry', 'invalid session id', 'invalid expiry']);
  });

  it('caches "not revoked" for at most the configured seconds, "revoked" until expiry', async () => {
    const clock = fixedClock(Date.now());
    let calls = 0;
    const real = ledgerClient(ns);
    const counting: RevocationLedgerClient = {
      revoke: (s, u) => real.revoke(s, u),
      isRevoked: (s) => {
        calls++;
        return real.isRevoked(s);
      },
    };
    const checker = createRevocationChecker({ ledger: counting, clock, cacheSeconds: 5 });
    const exp = future();
    expect(await checker.isRevoked('sid-c', exp)).toBe(false);
    // Revoked elsewhere (another isolate): this isolate may keep saying "no" for < 5 s.
    await real.revoke('sid-c', exp);
    clock.advance(4_999);
    expect(await checker.isRevoked('sid-c', exp)).toBe(false);
    expect(calls).toBe(1);
    clock.advance(1);
    expect(await checker.isRevoked('sid-c', exp)).toBe(true);
    expect(calls).toBe(2);
    clock.advance(3_000_000);
    expect(await checker.isRevoked('sid-c', exp)).toBe(true); // cached until expiry
    expect(calls).toBe(2);
    // Revoking through this checker is visible at once.
    expect(await checker.isRevoked('sid-d', exp)).toBe(false);
    await checker.revoke('sid-d', exp);
    expect(await checker.isRevoked('sid-d', exp)).toBe(true);
    expect(await real.isRevoked('sid-d')).toBe(true);
  });

  it('fails closed: a ledger error is an error, never "not revoked"', async () => {
    const checker = createRevocationChecker({
      ledger: {
        revoke: async () => {
          throw new Error('down');
        },
        isRevoked: async () => {
          throw new Error('down');
        },
      },
      clock: fixedClock(0),
      cacheSeconds: 5,
    });
    await expect(checker.isRevoked('sid-e', 100)).rejects.toSatisfy((e: unknown) => isTollgateError(e) && e.code === 'internal');
    await expect(checker.revoke('sid-e', 100)).rejects.toSatisfy((e: unknown) => isTollgateError(e) && e.code === 'internal');
  });

  it('bounds the cache', async () => {
    let calls = 0;
    const checker = createRevocationChecker({
      ledger: {
        revoke: async () => {},
        isRevoked: async () => {
          calls++;
          return false;
        },
      },
      clock: fixedClock(0),
      cacheSeconds: 60,
      maxEntries: 3,
    });
    for (const s of ['a', 'b', 'c', 'd']) await checker.isRevoked(s, 100);
    expect(calls).toBe(4);
    await checker.isRevoked('d', 100);
    expect(calls).toBe(4);
    await checker.isRevoked('a', 100); // evicted
    expect(calls).toBe(5);
  });
});
