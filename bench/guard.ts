/**
 * Bench 3 — the guard: req/s through `startGuard` (verification + forwarding
 * to a node:http app) vs a bare node:http reverse proxy to the same app, same
 * run, rounds interleaved. Load from a separate process: wrk with a Lua script
 * that sends one pre-minted, never reused assertion per request (single use).
 * Plus the replay cache's memory at a sustained 10,000 distinct assertions/s
 * over the TTL (simulated clock). Goal: guard ≥ 0.8× the bare proxy.
 * GUARD_PROTOTYPE=1 adds a third target: the same guard with verification
 * dispatched synchronously through node:crypto (bench/guard/sync-verify.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cryptoRandom } from '../src/platform/index.js';
import { generateSigningJwk, loadKeyRing, mintAssertion, type KeyRing } from '../src/token/index.js';
import { emit, machine, median, round, type BenchResult, type Row } from './lib/measure.js';
import { runWrk, startNodeReady, wrkErrors, type Proc, type WrkSummary } from './lib/proc.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ISSUER = 'http://127.0.0.1:8787';
const AUDIENCE = 'bench';
const PATH = '/bench';
const ROUNDS = Number(process.env.GUARD_ROUNDS ?? 3);
const SECONDS = Number(process.env.GUARD_SECONDS ?? 4);
const CONNS = 32;
const PROTOTYPE = process.env.GUARD_PROTOTYPE === '1';
const THREADS = 1;

const started = Date.now();
const tmp = mkdtempSync(join(tmpdir(), 'tollgate-bench-guard-'));
const procs: Proc[] = [];
const stopAll = async () => {
  await Promise.allSettled(procs.map((p) => p.stop()));
  rmSync(tmp, { recursive: true, force: true });
};

let fileNo = 0;
/** Mint `n` assertions now (each valid 60 s) into a file, one per line. */
async function mintFile(ring: KeyRing, n: number): Promise<string> {
  const lines: string[] = new Array(n);
  const now = Date.now();
  const batch = 2000;
  for (let i = 0; i < n; i += batch) {
    const part = await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, k) => mintAssertion({
      issuer: ISSUER,
      audience: AUDIENCE,
      subject: 'user:abcdefghijkl:alice',
      requestId: `bench-${i + k}`,
      method: 'GET',
      target: PATH,
      sessionId: 'sid-bench',
      roles: ['inventory-user'],
      email: 'alice@example.com',
      ttlSeconds: 60,
    }, ring.active, { now, random: cryptoRandom })));
    for (let k = 0; k < part.length; k++) lines[i + k] = part[k]!;
  }
  const file = join(tmp, `assertions-${fileNo++}.txt`);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

async function load(port: number, seconds: number, file: string): Promise<WrkSummary> {
  return runWrk(
    [`-t${THREADS}`, `-c${CONNS}`, `-d${seconds}s`, '--timeout', '5s', '--latency', '-s', join(HERE, 'guard', 'assertions.lua'), `http://127.0.0.1:${port}${PATH}`],
    [file, String(THREADS)],
  );
}

function replayMemory(ttl: number): { entries: number; cacheBytes: number; floorBytes: number; simulatedSeconds: number } {
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(HERE, 'guard', 'replay-memory.ts')], {
    env: { ...process.env, RATE: '10000', TTL: String(ttl) },
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').pop()!) as ReturnType<typeof replayMemory>;
}

try {
  const jwk = await generateSigningJwk('EdDSA');
  const ring = await loadKeyRing({ keys: [jwk] });
  const jwksFile = join(tmp, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify(ring.jwks));

  const app = await startNodeReady('app', join(HERE, 'guard', 'app.ts'), {});
  procs.push(app);
  const guard = await startNodeReady('guard', join(HERE, 'guard', 'guard-proc.ts'), {
    JWKS_FILE: jwksFile, ISSUER, AUDIENCE, UPSTREAM_PORT: String(app.port),
  });
  procs.push(guard);
  const bare = await startNodeReady('bare-proxy', join(HERE, 'guard', 'bare-proxy.ts'), { UPSTREAM_PORT: String(app.port) });
  procs.push(bare);
  // Optional (GUARD_PROTOTYPE=1): the same guard with verification dispatched synchronously (bench/guard/sync-verify.ts).
  const syncGuard = PROTOTYPE ? await startNodeReady('guard-sync-verify', join(HERE, 'guard', 'guard-proc.ts'), {
    JWKS_FILE: jwksFile, ISSUER, AUDIENCE, UPSTREAM_PORT: String(app.port),
    SYNC_VERIFY: '1',
  }) : undefined;
  if (syncGuard) procs.push(syncGuard);

  // Functional check: the guard passes a fresh assertion, refuses its replay, and the app sees the identity.
  const one = (await mintFile(ring, 1));
  const token = (await import('node:fs')).readFileSync(one, 'utf8').trim();
  const first = await fetch(`http://127.0.0.1:${guard.port}${PATH}`, { headers: { 'tollgate-assertion': token } });
  const body = await first.text();
  const replay = await fetch(`http://127.0.0.1:${guard.port}${PATH}`, { headers: { 'tollgate-assertion': token } });
  await replay.arrayBuffer();
  if (first.status !== 200 || !body.includes('user:abcdefghijkl:alice') || replay.status !== 401) {
    throw new Error(`guard check failed: ${first.status} ${body} / replay ${replay.status}`);
  }

  // Warm-up both (JIT, keep-alive pools), then interleaved rounds.
  let guessRps = 10_000;
  const warmFile = await mintFile(ring, Math.ceil(guessRps * 1.5));
  const warm = await load(guard.port, 1, warmFile);
  // The bare proxy gets the same script, header and file (it ignores the assertion).
  await load(bare.port, 1, warmFile);
  guessRps = Math.max(7000, warm.rps) * 1.5;
  if (syncGuard) await load(syncGuard.port, 1, await mintFile(ring, Math.ceil(guessRps * 1.5)));
  const guardRuns: WrkSummary[] = [];
  const bareRuns: WrkSummary[] = [];
  const syncRuns: WrkSummary[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const file = await mintFile(ring, Math.ceil(guessRps * SECONDS * 1.4));
    const g = await load(guard.port, SECONDS, file);
    guardRuns.push(g);
    guessRps = Math.max(guessRps, g.rps * 1.5);
    const b = await load(bare.port, SECONDS, file);
    bareRuns.push(b);
    const sv = syncGuard ? await load(syncGuard.port, SECONDS, await mintFile(ring, Math.ceil(guessRps * SECONDS * 1.4))) : undefined;
    if (sv) syncRuns.push(sv);
    process.stderr.write(`guard: round ${r + 1}: guard ${g.rps.toFixed(0)} req/s (p50 ${g.p50Us} µs, errors ${wrkErrors(g)}), bare proxy ${b.rps.toFixed(0)} req/s (p50 ${b.p50Us} µs, errors ${wrkErrors(b)}), ${sv ? `guard with sync verify ${sv.rps.toFixed(0)} req/s (errors ${wrkErrors(sv)})` : ''}\n`);
  }
  const gRps = median(guardRuns.map((x) => x.rps));
  const bRps = median(bareRuns.map((x) => x.rps));
  const sRps = syncRuns.length ? median(syncRuns.map((x) => x.rps)) : NaN;
  const errors = guardRuns.reduce((n, x) => n + wrkErrors(x), 0) + bareRuns.reduce((n, x) => n + wrkErrors(x), 0);
  const syncErrors = syncRuns.reduce((n, x) => n + wrkErrors(x), 0);

  const mem30 = replayMemory(30);
  const mem60 = replayMemory(60);
  const mib = (b: number) => b / 2 ** 20;
  process.stderr.write(`guard: replay cache at 10,000/s: ttl 30 → ${mem30.entries} entries ${mib(mem30.cacheBytes).toFixed(1)} MiB; ttl 60 → ${mem60.entries} entries ${mib(mem60.cacheBytes).toFixed(1)} MiB\n`);

  const rows: Row[] = [
    {
      bench: 'guard',
      name: `guard req/s (verify + forward), wrk -t${THREADS} -c${CONNS}`,
      value: round(gRps, 0),
      unit: 'req/s',
      baselineName: 'bare node:http proxy',
      baseline: round(bRps, 0),
      ratio: round(gRps / bRps, 2),
      goal: '≥ 0.8x',
      met: gRps / bRps >= 0.8 && errors === 0,
      note: `median of ${ROUNDS} interleaved ${SECONDS}-s rounds; p50 ${median(guardRuns.map((x) => x.p50Us))} vs ${median(bareRuns.map((x) => x.p50Us))} µs; wrk errors ${errors}`,
    },
    ...(syncRuns.length ? [
    {
      bench: 'guard',
      name: 'prototype: same guard, verify via node:crypto (sync, cached KeyObject)',
      value: round(sRps, 0),
      unit: 'req/s',
      baselineName: 'bare node:http proxy',
      baseline: round(bRps, 0),
      ratio: round(sRps / bRps, 2),
      note: `not shipped (bench/guard/sync-verify.ts); vs the guard as shipped ${(sRps / gRps).toFixed(2)}x; wrk errors ${syncErrors}`,
    } satisfies Row,
    ] : []),
    {
      bench: 'guard',
      name: 'replay cache at 10,000 assertions/s, TTL 30 s (+5 s skew)',
      value: round(mib(mem30.cacheBytes), 1),
      unit: 'MiB',
      baselineName: `${mem30.entries.toLocaleString('en-US')} bare jti strings`,
      baseline: round(mib(mem30.floorBytes), 1),
      ratio: round(mem30.cacheBytes / mem30.floorBytes, 2),
    },
    {
      bench: 'guard',
      name: 'replay cache at 10,000 assertions/s, TTL 60 s (max)',
      value: round(mib(mem60.cacheBytes), 1),
      unit: 'MiB',
      baselineName: `${mem60.entries.toLocaleString('en-US')} bare jti strings`,
      baseline: round(mib(mem60.floorBytes), 1),
      ratio: round(mem60.cacheBytes / mem60.floorBytes, 2),
    },
  ];
  const result: BenchResult = {
    bench: 'guard',
    title: 'Guard: verification + forwarding vs a bare node:http proxy; replay-cache memory',
    startedAt: new Date(started).toISOString(),
    seconds: round((Date.now() - started) / 1000, 1),
    rows,
    facts: {
      machine: machine(),
      wrk: `-t${THREADS} -c${CONNS} -d${SECONDS}s, ${ROUNDS} rounds, Lua script with one pre-minted assertion per request`,
      guardRps: guardRuns.map((x) => round(x.rps, 0)),
      bareRps: bareRuns.map((x) => round(x.rps, 0)),
      ...(syncRuns.length ? { syncVerifyRps: syncRuns.map((x) => round(x.rps, 0)) } : {}),
      guardP50Us: guardRuns.map((x) => x.p50Us),
      guardP99Us: guardRuns.map((x) => x.p99Us),
      bareP50Us: bareRuns.map((x) => x.p50Us),
      bareP99Us: bareRuns.map((x) => x.p99Us),
      wrkErrors: errors,
      replayMemory: { ttl30: mem30, ttl60: mem60 },
    },
  };
  emit(result);
} finally {
  await stopAll();
}
