/**
 * Bench 3 — the guard: req/s through `startGuard` (verification + forwarding
 * to a node:http app) vs a bare node:http reverse proxy to the same app, same
 * run, rounds interleaved. Load from a separate process: wrk with a Lua script
 * that sends one pre-minted, never reused assertion per request (single use).
 * Plus the replay cache's memory at a sustained 10,000 distinct assertions/s
 * over the TTL (simulated clock). Goal: guard ≥ 0.8× the bare proxy.
 * More guard processes in the same rounds explain the figure: the guard with
 * ES256 keys and assertions (the other algorithm DESIGN §5 allows), the guard
 * with every signature checked on the libuv threadpool (jose/WebCrypto, the
 * dispatch before `adaptive`), and the guard with the signature check answered
 * at once (bench/guard/noop-verify.ts, an ablation: what everything but the
 * signature costs). GUARD_SYNC=1 adds the guard that always verifies
 * synchronously through node:crypto. One-connection p50 is measured for the
 * guard as shipped, the threadpool-only guard and the bare proxy.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
const SECONDS = Number(process.env.GUARD_SECONDS ?? 2);
const CONNS = 32;
const SYNC_ONLY = process.env.GUARD_SYNC === '1';
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

/**
 * `n` assertions for the ablation guard that skips the signature check: one
 * real assertion re-encoded with a fresh jti each (its signature no longer
 * matches, which that guard does not look at) — minting 100k real ones per
 * round would take longer than the round.
 */
function unsignedCopiesFile(template: string, n: number): string {
  const [header, payload, signature] = template.split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>;
  const lines: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    claims.jti = cryptoRandom.id(16);
    lines[i] = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
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

interface Variant {
  id: string;
  name: string;
  ring: KeyRing;
  port: number;
  runs: WrkSummary[];
}

try {
  const ring = await loadKeyRing({ keys: [await generateSigningJwk('EdDSA')] });
  const es256 = await loadKeyRing({ keys: [await generateSigningJwk('ES256')] });
  const jwksFile = (r: KeyRing, name: string) => {
    const f = join(tmp, `${name}.json`);
    writeFileSync(f, JSON.stringify(r.jwks));
    return f;
  };
  const edJwks = jwksFile(ring, 'jwks-eddsa');

  const app = await startNodeReady('app', join(HERE, 'guard', 'app.ts'), {});
  procs.push(app);
  const guardEnv = (file: string, extra: Record<string, string> = {}) => ({ JWKS_FILE: file, ISSUER, AUDIENCE, UPSTREAM_PORT: String(app.port), ...extra });
  const startGuardVariant = async (id: string, name: string, r: KeyRing, env: Record<string, string>): Promise<Variant> => {
    const p = await startNodeReady(`guard-${id}`, join(HERE, 'guard', 'guard-proc.ts'), env);
    procs.push(p);
    return { id, name, ring: r, port: p.port, runs: [] };
  };
  const guard = await startGuardVariant('eddsa', 'guard as shipped (EdDSA, adaptive dispatch)', ring, guardEnv(edJwks));
  const bare = await startNodeReady('bare-proxy', join(HERE, 'guard', 'bare-proxy.ts'), { UPSTREAM_PORT: String(app.port) });
  procs.push(bare);
  const variants: Variant[] = [
    await startGuardVariant('es256', 'guard, ES256 keys and assertions', es256, guardEnv(jwksFile(es256, 'jwks-es256'))),
    await startGuardVariant('threadpool', 'guard, every signature on the threadpool (jose)', ring, guardEnv(edJwks, { SIGNATURE_DISPATCH: 'threadpool' })),
    await startGuardVariant('noop', 'ablation: guard with the signature check skipped', ring, guardEnv(edJwks, { NOOP_VERIFY: '1', SIGNATURE_DISPATCH: 'threadpool' })),
    // Optional (GUARD_SYNC=1): every signature checked synchronously through node:crypto.
    ...(SYNC_ONLY ? [await startGuardVariant('sync', 'guard, every signature synchronous (node:crypto)', ring, guardEnv(edJwks, { SIGNATURE_DISPATCH: 'sync' }))] : []),
  ];
  const threadpool = variants.find((v) => v.id === 'threadpool')!;

  // Functional check: every guard passes a fresh assertion, refuses its replay, and the app sees the identity.
  for (const v of [guard, ...variants]) {
    const token = readFileSync(await mintFile(v.ring, 1), 'utf8').trim();
    const first = await fetch(`http://127.0.0.1:${v.port}${PATH}`, { headers: { 'tollgate-assertion': token } });
    const body = await first.text();
    const replay = await fetch(`http://127.0.0.1:${v.port}${PATH}`, { headers: { 'tollgate-assertion': token } });
    await replay.arrayBuffer();
    if (first.status !== 200 || !body.includes('user:abcdefghijkl:alice') || replay.status !== 401) {
      throw new Error(`guard check failed (${v.id}): ${first.status} ${body} / replay ${replay.status}`);
    }
  }

  // Warm-up every target (JIT, keep-alive pools), then interleaved rounds.
  let guessRps = 10_000;
  const warmFile = await mintFile(ring, Math.ceil(guessRps * 1.3));
  const warm = await load(guard.port, 1, warmFile);
  guessRps = Math.max(7000, warm.rps) * 1.3;
  for (const v of variants) {
    const file = v.id === 'noop' ? unsignedCopiesFile(readFileSync(warmFile, 'utf8').split('\n', 1)[0]!, 25_000) : v.ring === ring ? warmFile : await mintFile(v.ring, Math.ceil(guessRps * 1.2));
    await load(v.port, 1, file);
  }
  const bareRuns: WrkSummary[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Every signed file of the round is minted before any load, so no target runs right after the minting's CPU burst.
    const file = await mintFile(ring, Math.ceil(guessRps * SECONDS * 1.2));
    const signedFiles = new Map<string, string>();
    for (const v of variants) {
      // Each guard process has its own replay cache: a variant with the same key reuses the round's file.
      if (v.id !== 'noop') signedFiles.set(v.id, v.ring === ring ? file : await mintFile(v.ring, Math.ceil(guessRps * SECONDS * 1.2)));
    }
    const g = await load(guard.port, SECONDS, file);
    guard.runs.push(g);
    guessRps = Math.max(guessRps, g.rps * 1.3);
    // The bare proxy gets the same script, header and file (it ignores the assertion).
    const b = await load(bare.port, SECONDS, file);
    bareRuns.push(b);
    for (const v of variants) {
      // The ablation may run near the bare proxy's rate; its unsigned copies cost nothing to make.
      const assertions = signedFiles.get(v.id) ?? unsignedCopiesFile(readFileSync(file, 'utf8').split('\n', 1)[0]!, Math.ceil(Math.max(guessRps, b.rps * 1.2) * SECONDS * 1.2));
      v.runs.push(await load(v.port, SECONDS, assertions));
    }
    process.stderr.write(`guard: round ${r + 1}: guard ${g.rps.toFixed(0)} req/s (p50 ${g.p50Us} µs, errors ${wrkErrors(g)}), bare proxy ${b.rps.toFixed(0)} req/s (p50 ${b.p50Us} µs, errors ${wrkErrors(b)})${variants.map((v) => `, ${v.id} ${v.runs.at(-1)!.rps.toFixed(0)} req/s (errors ${wrkErrors(v.runs.at(-1)!)})`).join('')}\n`);
  }
  // Unloaded latency, one connection: what the verification adds to one request.
  const oneConn = async (port: number, file: string) => runWrk(['-t1', '-c1', '-d1s', '--timeout', '5s', '--latency', '-s', join(HERE, 'guard', 'assertions.lua'), `http://127.0.0.1:${port}${PATH}`], [file, '1']);
  const singleFile = await mintFile(ring, 6_000);
  const guardOne = await oneConn(guard.port, singleFile);
  const threadpoolOne = await oneConn(threadpool.port, singleFile);
  const bareOne = await oneConn(bare.port, singleFile);
  process.stderr.write(`guard: one connection: guard p50 ${guardOne.p50Us} µs (errors ${wrkErrors(guardOne)}), threadpool-only ${threadpoolOne.p50Us} µs, bare proxy p50 ${bareOne.p50Us} µs\n`);
  const guardRuns = guard.runs;
  const gRps = median(guardRuns.map((x) => x.rps));
  const bRps = median(bareRuns.map((x) => x.rps));
  const errors = guardRuns.reduce((n, x) => n + wrkErrors(x), 0) + bareRuns.reduce((n, x) => n + wrkErrors(x), 0);

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
    ...variants.map((v): Row => {
      const rps = median(v.runs.map((x) => x.rps));
      const errs = v.runs.reduce((n, x) => n + wrkErrors(x), 0);
      return {
        bench: 'guard',
        name: v.name,
        value: round(rps, 0),
        unit: 'req/s',
        baselineName: 'bare node:http proxy',
        baseline: round(bRps, 0),
        ratio: round(rps / bRps, 2),
        note: `vs the guard as shipped ${(rps / gRps).toFixed(2)}x; p50 ${median(v.runs.map((x) => x.p50Us))} µs; wrk errors ${errs}${v.id === 'noop' ? '; measurement only, never shipped' : ''}`,
      };
    }),
    {
      bench: 'guard',
      name: 'guard p50, one connection',
      value: guardOne.p50Us,
      unit: 'µs',
      baselineName: 'bare node:http proxy, one connection',
      baseline: bareOne.p50Us,
      ratio: round(guardOne.p50Us / bareOne.p50Us, 2),
      note: `p99 ${guardOne.p99Us} vs ${bareOne.p99Us} µs; wrk errors ${wrkErrors(guardOne)}`,
    },
    {
      bench: 'guard',
      name: 'guard p50, one connection, every signature on the threadpool',
      value: threadpoolOne.p50Us,
      unit: 'µs',
      baselineName: 'bare node:http proxy, one connection',
      baseline: bareOne.p50Us,
      ratio: round(threadpoolOne.p50Us / bareOne.p50Us, 2),
      note: `the guard as shipped ${(guardOne.p50Us / threadpoolOne.p50Us).toFixed(2)}x this; wrk errors ${wrkErrors(threadpoolOne)}`,
    },
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
      variantRps: Object.fromEntries(variants.map((v) => [v.id, v.runs.map((x) => round(x.rps, 0))])),
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
