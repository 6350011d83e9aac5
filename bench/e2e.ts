/**
 * Bench 5 — end to end on loopback, load from wrk (a separate process):
 *   a  the app directly (node:http, bench/guard/app.ts)
 *   b  a pass-through Worker (no auth) → app
 *   c  the gateway → app (no guard)
 *   d  the full chain: gateway → guard (`functions/guard.ts` as the stack runs it) → app
 * b–d twice: under `wrangler dev` as the demo runs them (…-dev; wrangler's dev
 * proxy Worker and its per-request logging through Node are in the path), and
 * as bundled Workers run directly on Miniflare/workerd (…-mf; the same bundle
 * `wrangler deploy` would upload, the same D1/KV/Durable Object state), which
 * is the closer stand-in for the deployed gateway.
 * The real stack (`startStack`, gateway 8897, IdP 9497) with a session made by
 * a real sign-in (admin, both workloads); wrk dials 127.0.0.1 with the
 * workload's Host header and replays the session cookie. The two demo
 * workloads' endpoints are pointed at the bench app (billing: directly;
 * inventory: through a guard) in D1 before the gateway's first workload
 * request, so every target ends in the same app. Rounds interleaved; medians.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnGuard, startStack, type Stack } from '../scripts/stack.js';
import { loopbackFetch } from '../test/support/http.js';
import { emit, machine, median, round, type BenchResult, type Row } from './lib/measure.js';
import { BENCH_DIR, RAW_DIR, REPO_ROOT } from './lib/paths.js';
import { freePortNumber } from './lib/ports.js';
import { startNodeReady, waitForLine, wrkErrors, type Proc, type WrkSummary } from './lib/proc.js';
import { signIn } from './lib/signin.js';
import { WRANGLER_NODE_ARGS, wranglerDev, wranglerEnv } from './lib/wrangler.js';
import { bundleWorker, envFileVars, gatewayOptions, passthroughOptions, tomlVars } from './lib/worker-config.js';
import { profileWorkerd, type WorkerdProfile } from './lib/workerd-profile.js';
import { loadWithCpu, startWorkerd, waitPortFree, wrkArgs } from './lib/workerd.js';

const GATEWAY_PORT = Number(process.env.E2E_GATEWAY_PORT ?? 8897);
const IDP_PORT = Number(process.env.E2E_IDP_PORT ?? 9497);
const PASS_PORT = Number(process.env.E2E_PASS_PORT ?? 8898);
const FLOOR_PORT = Number(process.env.E2E_FLOOR_PORT ?? 8899);
const ROUNDS = Number(process.env.E2E_ROUNDS ?? 2);
const SECONDS = Number(process.env.E2E_SECONDS ?? 3);
const DEV_SECONDS = Number(process.env.E2E_DEV_SECONDS ?? 2);
const PROFILE = process.env.E2E_PROFILE === '1';
const THREADS = 2;
const CONNS = 32;
const PATH = '/api/bench';

const started = Date.now();
mkdirSync(RAW_DIR, { recursive: true });
const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-e2e-'));
const procs: Proc[] = [];
let stack: Stack | undefined;
const stopAll = async () => {
  await Promise.allSettled(procs.map((p) => p.stop()));
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
};

interface Target {
  id: string;
  name: string;
  url: string;
  headers: string[];
  /** Process tree whose CPU time per request is recorded (Miniflare + workerd), where meaningful. */
  cpuOf?: number;
}

try {
  const app = await startNodeReady('app', join(BENCH_DIR, 'guard', 'app.ts'), {});
  procs.push(app);
  // Bundles for phase 2, built the way a deploy builds them, while the stack starts.
  const bundles = Promise.all([
    bundleWorker(join(REPO_ROOT, 'wrangler.toml'), join(dir, 'bundle-gateway'), PROFILE ? { minify: false } : {}),
    bundleWorker(join(BENCH_DIR, 'passthrough', 'wrangler.toml'), join(dir, 'bundle-pass')),
    bundleWorker(join(BENCH_DIR, 'floor', 'wrangler.toml'), join(dir, 'bundle-floor')),
  ]);
  bundles.catch(() => undefined); // awaited below; a failure surfaces there
  const passDev = wranglerDev('passthrough', ['--config', join(BENCH_DIR, 'passthrough', 'wrangler.toml'), '--port', String(PASS_PORT), '--inspector-port', String(await freePortNumber()), '--var', `UPSTREAM:http://127.0.0.1:${app.port}`], join(RAW_DIR, 'e2e-passthrough-dev.log'));
  procs.push(passDev);
  const t0 = Date.now();
  stack = await startStack({ dir, gatewayPort: GATEWAY_PORT, idpPort: IDP_PORT });
  const stackMs = Date.now() - t0;
  const inventory = stack.workloads.find((w) => w.id === 'inventory')!;
  const billing = stack.workloads.find((w) => w.id === 'billing')!;

  // A guard in front of the bench app, started exactly as the stack starts its guards.
  const guardPort = await freePortNumber();
  const guard = spawnGuard({
    name: 'guard-bench',
    issuer: stack.origin,
    jwksUrl: stack.gateway.jwks,
    audience: 'inventory',
    upstream: `http://127.0.0.1:${app.port}`,
    port: guardPort,
    logFile: join(RAW_DIR, 'e2e-guard.log'),
  });
  procs.push({ name: 'guard', pid: guard.pid, child: undefined as never, output: [], stop: () => guard.stop() });
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://127.0.0.1:${guardPort}/.tollgate/healthz`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (i > 100) throw new Error('bench guard not healthy');
    await new Promise((r) => setTimeout(r, 100));
  }

  // Point both workloads at the bench app before the gateway loads its snapshot (first workload request).
  const sql = `UPDATE endpoints SET url = 'http://127.0.0.1:${guardPort}' WHERE workload_id = 'inventory'; UPDATE endpoints SET url = 'http://127.0.0.1:${app.port}' WHERE workload_id = 'billing';`;
  execFileSync(process.execPath, [...WRANGLER_NODE_ARGS, 'd1', 'execute', 'DB', '--local', '--persist-to', join(dir, 'wrangler'), '--command', sql], { cwd: REPO_ROOT, env: wranglerEnv(), stdio: 'ignore' });

  // A real sign-in (admin may use both workloads).
  const admin = stack.users.find((u) => u.username === 'admin')!;
  const inv = await signIn(inventory.url, admin.username, admin.password);
  const bil = await signIn(billing.url, admin.username, admin.password, inv.jar);
  process.stderr.write(`e2e: signed in (${inv.hops.length} hops, then ${bil.hops.length}); stack ready in ${stackMs} ms\n`);

  // The pass-through Worker under its own wrangler dev (started while the stack came up).
  await waitForLine(passDev, /Ready on/, 60_000);

  const gatewayHeaders = (host: string, cookie: string) => ['-H', `Host: ${host}`, '-H', `Cookie: ${cookie}`];
  const appTarget: Target = { id: 'a', name: 'app directly', url: `http://127.0.0.1:${app.port}${PATH}`, headers: [] };
  const devTargets: Target[] = [
    { id: 'b-dev', name: 'pass-through Worker (wrangler dev) → app', url: `http://127.0.0.1:${PASS_PORT}${PATH}`, headers: [] },
    { id: 'c-dev', name: 'gateway (wrangler dev) → app', url: `http://127.0.0.1:${GATEWAY_PORT}${PATH}`, headers: gatewayHeaders(billing.host, bil.cookie) },
    { id: 'd-dev', name: 'gateway (wrangler dev) → guard → app', url: `http://127.0.0.1:${GATEWAY_PORT}${PATH}`, headers: gatewayHeaders(inventory.host, inv.cookie) },
  ];
  const sizes: Record<string, number> = {};
  const runs: Record<string, WrkSummary[]> = {};
  const cpuUs: Record<string, number[]> = {};
  const wrk = (t: Target, seconds: number, cpuOf?: number) => loadWithCpu(wrkArgs(t, THREADS, CONNS), seconds, cpuOf);
  /** Check every target, warm each up for 1 s (unless `warm` is false), then interleaved rounds. */
  const measure = async (targets: Target[], rounds: number, seconds: number, warm = true) => {
    for (const t of targets) await check(t);
    if (warm) for (const t of targets) await wrk(t, 1);
    for (let r = 0; r < rounds; r++) {
      for (const t of targets) {
        const { summary: x, cpuUs: c } = await wrk(t, seconds, t.cpuOf);
        if (c !== undefined) (cpuUs[t.id] ??= []).push(c);
        (runs[t.id] ??= []).push(x);
        process.stderr.write(`e2e: ${t.id} ${t.name}: ${x.rps.toFixed(0)} req/s, p50 ${(x.p50Us / 1000).toFixed(2)} ms, p99 ${(x.p99Us / 1000).toFixed(2)} ms, errors ${wrkErrors(x)}, ${(x.bytes / x.requests).toFixed(0)} B/resp\n`);
      }
    }
    // Still signed in after the load (no refresh storm, no revocation).
    for (const t of targets) await check(t);
  };
  /** One request like wrk's: 200 from the app; through the full chain, with the identity the guard verified. */
  async function check(t: Target): Promise<void> {
    const h: Record<string, string> = {};
    for (let i = 0; i < t.headers.length; i += 2) {
      const [k, ...v] = t.headers[i + 1]!.split(': ');
      h[k!.toLowerCase()] = v.join(': ');
    }
    const url = h.host ? `http://${h.host}${PATH}` : t.url;
    delete h.host;
    const res = await loopbackFetch(url, { headers: h });
    const body = await res.text();
    if (res.status !== 200 || !body.includes('"ok":true')) throw new Error(`${t.name}: ${res.status} ${body.slice(0, 300)}`);
    if (t.id.startsWith('d') && !body.includes('"user":"user:')) throw new Error(`${t.name}: the app did not get a verified identity: ${body}`);
    sizes[t.id] = body.length;
  }

  // Phase 1: under wrangler dev, as the demo runs.
  await measure(devTargets, 1, DEV_SECONDS);

  // Phase 2: the same Workers bundled and run directly on Miniflare/workerd, on the same ports and state.
  await passDev.stop();
  process.kill(stack.pids.gateway, 'SIGTERM');
  await waitPortFree(GATEWAY_PORT);
  await waitPortFree(PASS_PORT);
  const vars = { ...tomlVars(join(REPO_ROOT, 'wrangler.toml')), ...envFileVars(join(dir, 'gateway.env')) };
  const inspectorPort = PROFILE ? await freePortNumber() : undefined;
  const [gatewayBundle, passBundle, floorBundle] = await bundles;
  const [gwMf, passMf, floorMf] = await Promise.all([
    startWorkerd('gateway-mf', { ...gatewayOptions({ scriptPath: gatewayBundle, port: GATEWAY_PORT, vars, persist: join(dir, 'wrangler') }), ...(inspectorPort ? { inspectorPort } : {}) }, dir, join(RAW_DIR, 'e2e-gateway-mf.log')),
    startWorkerd('passthrough-mf', passthroughOptions({ scriptPath: passBundle, port: PASS_PORT, upstream: `http://127.0.0.1:${app.port}` }), dir, join(RAW_DIR, 'e2e-passthrough-mf.log')),
    startWorkerd('floor-mf', passthroughOptions({ scriptPath: floorBundle, port: FLOOR_PORT, upstream: `http://127.0.0.1:${app.port}` }), dir, join(RAW_DIR, 'e2e-floor-mf.log')),
  ]);
  procs.push(gwMf, passMf, floorMf);
  const mfTargets: Target[] = [
    { id: 'b-mf', name: 'pass-through Worker (workerd) → app', url: `http://127.0.0.1:${PASS_PORT}${PATH}`, headers: [], cpuOf: passMf.pid },
    { id: 'f-mf', name: 'floor Worker: pass-through + cookie decrypt + Ed25519 sign (workerd) → app', url: `http://127.0.0.1:${FLOOR_PORT}${PATH}`, headers: [], cpuOf: floorMf.pid },
    { id: 'c-mf', name: 'gateway (workerd) → app', url: `http://127.0.0.1:${GATEWAY_PORT}${PATH}`, headers: gatewayHeaders(billing.host, bil.cookie), cpuOf: gwMf.pid },
    { id: 'd-mf', name: 'gateway (workerd) → guard → app', url: `http://127.0.0.1:${GATEWAY_PORT}${PATH}`, headers: gatewayHeaders(inventory.host, inv.cookie) },
  ];
  // The app alone is an order of magnitude faster than anything in front of it (a 1-s run is tens of thousands of
  // requests), and warm from the checks: one round, no warm-up.
  await measure([appTarget], 1, 1, false);
  await measure(mfTargets, ROUNDS, SECONDS);
  const targets = [appTarget, ...mfTargets, ...devTargets];
  // Unloaded latency, one connection (what the peer benchmark compares p50 on): the runtime's own share is the pass-through's.
  const single: Record<string, WrkSummary> = {};
  for (const t of mfTargets.filter((x) => x.id !== 'f-mf')) {
    single[t.id] = (await loadWithCpu(wrkArgs(t, 1, 1), 1)).summary;
    process.stderr.write(`e2e: ${t.id} one connection: p50 ${(single[t.id]!.p50Us / 1000).toFixed(2)} ms, errors ${wrkErrors(single[t.id]!)}\n`);
  }

  // Optional (E2E_PROFILE=1): the gateway's CPU profile inside workerd, through its inspector, under the full-chain load.
  let workerdProfile: WorkerdProfile | undefined;
  if (inspectorPort) {
    workerdProfile = await profileWorkerd(inspectorPort, async () => void (await wrk(mfTargets.find((t) => t.id === 'd-mf')!, 3)));
    process.stderr.write(`e2e: workerd profile (${workerdProfile.samples} samples), inclusive:\n${workerdProfile.inclusive.slice(0, 30).map((x) => `  ${x.inclPct.toFixed(1).padStart(5)}%  ${x.fn}`).join('\n')}\nself:\n${workerdProfile.top.slice(0, 20).map((x) => `  ${x.selfPct.toFixed(1).padStart(5)}%  ${x.fn}`).join('\n')}\n`);
  }

  const agg = Object.fromEntries(targets.map((t) => {
    const xs = runs[t.id]!;
    return [t.id, { rps: median(xs.map((x) => x.rps)), p50: median(xs.map((x) => x.p50Us)), p99: median(xs.map((x) => x.p99Us)), errors: xs.reduce((n, x) => n + wrkErrors(x), 0) }];
  }));
  const a = agg.a!;
  const rel: Record<string, { base: string; baseName: string }> = {
    'b-mf': { base: 'a', baseName: 'a app directly' },
    'f-mf': { base: 'b-mf', baseName: 'b pass-through Worker (workerd)' },
    'c-mf': { base: 'b-mf', baseName: 'b pass-through Worker (workerd)' },
    'd-mf': { base: 'b-mf', baseName: 'b pass-through Worker (workerd)' },
    'b-dev': { base: 'a', baseName: 'a app directly' },
    'c-dev': { base: 'b-dev', baseName: 'b pass-through Worker (wrangler dev)' },
    'd-dev': { base: 'b-dev', baseName: 'b pass-through Worker (wrangler dev)' },
  };
  const rows: Row[] = targets.map((t) => {
    const m = agg[t.id]!;
    const r = rel[t.id];
    const base = r ? agg[r.base]! : undefined;
    return {
      bench: 'e2e',
      name: `${t.id} ${t.name}`,
      value: round(m.rps, 0),
      unit: 'req/s',
      ...(base && r ? { baselineName: r.baseName, baseline: round(base.rps, 0), ratio: round(m.rps / base.rps, 2) } : {}),
      note: `p50 ${(m.p50 / 1000).toFixed(2)} ms, p99 ${(m.p99 / 1000).toFixed(2)} ms (app directly: ${(a.p50 / 1000).toFixed(2)} / ${(a.p99 / 1000).toFixed(2)} ms); wrk errors ${m.errors}`,
    } satisfies Row;
  });
  // Latency added by the gateway, full chain, over the pass-through Worker (workerd).
  for (const id of ['c-mf', 'd-mf']) {
    const m = agg[id]!;
    const b = agg['b-mf']!;
    rows.push({
      bench: 'e2e',
      name: `${id}: p50 under load`,
      value: round(m.p50 / 1000, 2),
      unit: 'ms',
      baselineName: 'b pass-through Worker (workerd)',
      baseline: round(b.p50 / 1000, 2),
      ratio: round(m.p50 / b.p50, 2),
      note: `p99 ${(m.p99 / 1000).toFixed(2)} vs ${(b.p99 / 1000).toFixed(2)} ms`,
    });
  }
  // CPU per request inside the runtime, measured from outside (/proc): the hot-path goal in the runtime the gateway ships in.
  const cpu = Object.fromEntries(Object.entries(cpuUs).map(([k, v]) => [k, median(v)])) as Record<'b-mf' | 'f-mf' | 'c-mf', number>;
  process.stderr.write(`e2e: CPU per request (Miniflare + workerd): pass-through ${cpu['b-mf'].toFixed(0)} µs, floor ${cpu['f-mf'].toFixed(0)} µs, gateway ${cpu['c-mf'].toFixed(0)} µs\n`);
  rows.push(
    {
      bench: 'e2e',
      name: 'c-mf gateway: CPU per request, workerd (process tree, from /proc)',
      value: round(cpu['c-mf'], 0),
      unit: 'µs',
      baselineName: 'f floor Worker (pass-through + decrypt + sign)',
      baseline: round(cpu['f-mf'], 0),
      ratio: round(cpu['c-mf'] / cpu['f-mf'], 2),
      goal: '≤ 1.3x',
      met: cpu['c-mf'] / cpu['f-mf'] <= 1.3,
      // The differences to the pass-through (gateway − b, floor − b) are in the note only: on a shared
      // machine they are often smaller than the noise between rounds.
      note: `pass-through Worker ${round(cpu['b-mf'], 0)} µs (gateway − pass-through ${round(cpu['c-mf'] - cpu['b-mf'], 0)} µs, floor − pass-through ${round(cpu['f-mf'] - cpu['b-mf'], 0)} µs); the gateway's tree includes its audit queue consumer and D1 writes, which production runs elsewhere; samples ${JSON.stringify(cpuUs)}`,
    },
  );
  for (const id of ['c-mf', 'd-mf']) {
    const m = single[id]!;
    const b = single['b-mf']!;
    rows.push({
      bench: 'e2e',
      name: `${id}: p50, one connection`,
      value: round(m.p50Us / 1000, 2),
      unit: 'ms',
      baselineName: 'b pass-through Worker (workerd), one connection',
      baseline: round(b.p50Us / 1000, 2),
      ratio: round(m.p50Us / b.p50Us, 2),
      note: `p99 ${(m.p99Us / 1000).toFixed(2)} vs ${(b.p99Us / 1000).toFixed(2)} ms; wrk errors ${wrkErrors(m)}`,
    });
  }
  const result: BenchResult = {
    bench: 'e2e',
    title: 'End to end on loopback (gateway under wrangler dev/workerd, guard, app; wrk)',
    startedAt: new Date(started).toISOString(),
    seconds: round((Date.now() - started) / 1000, 1),
    rows,
    facts: {
      machine: machine(),
      wrk: `-t${THREADS} -c${CONNS}; workerd targets ${ROUNDS} interleaved rounds of ${SECONDS} s (medians), wrangler dev targets 1 round of ${DEV_SECONDS} s, the app directly 1 round of 1 s; Host header + session cookie`,
      responseBytes: sizes,
      stackReadyMs: stackMs,
      ...(workerdProfile ? { workerdProfile } : {}),
      cpuPerRequestUs: cpuUs,
      runs: Object.fromEntries(Object.entries(runs).map(([k, xs]) => [k, xs.map((x) => ({ rps: round(x.rps, 0), p50Us: x.p50Us, p99Us: x.p99Us, errors: wrkErrors(x) }))])),
    },
  };
  emit(result);
} finally {
  await stopAll();
}
