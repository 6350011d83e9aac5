/**
 * What the gateway's per-request side work costs inside workerd (not part of
 * `npm run bench`; run `node --import tsx bench/workerd-ablation.ts`, ~2 min).
 * The deployable bundle is wrapped by a module that swaps one thing — console
 * output off, the audit queue's send a no-op, or both — and each variant is
 * run on Miniflare/workerd against the same state and session as bench/e2e.ts
 * (gateway → app), wrk -t2 -c32, rounds interleaved, each variant in a fresh
 * Miniflare process. Dependency swaps only: no gateway code changes.
 *
 * `no D1 write` keeps the producer and acknowledges each queue batch without
 * writing it: what the consumer's insert costs (in production it runs in its
 * own invocation; 2026-11-28, 4 rounds: 542 → 522 µs per request).
 * ABLATIONS=a,b picks variants (base always runs); ROUNDS=n (default 2).
 * AB_REF=<git ref> adds the gateway built from that commit (a temporary git
 * worktree) to the same rounds: an A/B of a code change under the same load
 * and noise. FLOOR=1 adds the floor Worker (bench/floor: a pass-through plus
 * one cookie decryption and one Ed25519 signature) and prints each variant's
 * CPU per request against it; with `no audit send` that is the gateway under
 * the Node hot-path bench's accounting (audit events built and serialised,
 * the queue a stand-in).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Stack } from '../scripts/stack.js';
import { median, round } from './lib/measure.js';
import { BENCH_DIR, RAW_DIR, REPO_ROOT } from './lib/paths.js';
import { startNodeReady, wrkErrors, type Proc } from './lib/proc.js';
import { signIn } from './lib/signin.js';
import { WRANGLER_NODE_ARGS, wranglerEnv } from './lib/wrangler.js';
import { bundleWorker, envFileVars, gatewayOptions, passthroughOptions, tomlVars } from './lib/worker-config.js';
import { loadWithCpu, startWorkerd, wrkArgs } from './lib/workerd.js';

const PORT = 8897;
const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-ablation-'));
mkdirSync(RAW_DIR, { recursive: true });
const procs: Proc[] = [];
let stack: Stack | undefined;
const AB_REF = process.env.AB_REF;
const worktree = join(dir, 'ab-worktree');

const WRAPPERS: Record<string, string> = {
  base: `export * from './gateway.js'; export { default } from './gateway.js';`,
  'no console output': `import gw from './gateway.js'; export * from './gateway.js';
const quiet = () => {}; console.log = quiet; console.warn = quiet;
export default gw;`,
  'no audit send': `import gw from './gateway.js'; export * from './gateway.js';
let patched; const noAudit = { send: async () => {}, sendBatch: async () => {} };
export default { ...gw, fetch(request, env, ctx) { if (!patched || patched.base !== env) patched = { base: env, env: { ...env, AUDIT: noAudit } }; return gw.fetch(request, patched.env, ctx); } };`,
  'no D1 write': `import gw from './gateway.js'; export * from './gateway.js';
export default { ...gw, async queue(batch) { batch.ackAll(); } };`,
  'neither': `import gw from './gateway.js'; export * from './gateway.js';
const quiet = () => {}; console.log = quiet; console.warn = quiet;
let patched; const noAudit = { send: async () => {}, sendBatch: async () => {} };
export default { ...gw, fetch(request, env, ctx) { if (!patched || patched.base !== env) patched = { base: env, env: { ...env, AUDIT: noAudit } }; return gw.fetch(request, patched.env, ctx); } };`,
};

try {
  const app = await startNodeReady('app', join(BENCH_DIR, 'guard', 'app.ts'), {});
  procs.push(app);
  const bundleDir = join(dir, 'bundle');
  const bundled = bundleWorker(join(REPO_ROOT, 'wrangler.toml'), bundleDir);
  bundled.catch(() => undefined); // awaited below; a failure surfaces there
  stack = await startStack({ dir, gatewayPort: PORT, idpPort: 9497 });
  await bundled;
  const billing = stack.workloads.find((w) => w.id === 'billing')!;
  execFileSync(process.execPath, [...WRANGLER_NODE_ARGS, 'd1', 'execute', 'DB', '--local', '--persist-to', join(dir, 'wrangler'), '--command', `UPDATE endpoints SET url = 'http://127.0.0.1:${app.port}' WHERE workload_id = 'billing';`], { cwd: REPO_ROOT, env: wranglerEnv(), stdio: 'ignore' });
  const admin = stack.users.find((u) => u.username === 'admin')!;
  const { cookie } = await signIn(billing.url, admin.username, admin.password);
  process.kill(stack.pids.gateway, 'SIGTERM');
  await new Promise((r) => setTimeout(r, 2500));
  const vars = { ...tomlVars(join(REPO_ROOT, 'wrangler.toml')), ...envFileVars(join(dir, 'gateway.env')) };
  const results: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  const picked = process.env.ABLATIONS?.split(',').map((x) => x.trim());
  const variants: { name: string; source: string; dir: string; floor?: string }[] = Object.entries(WRAPPERS)
    .filter(([name]) => name === 'base' || !picked || picked.includes(name))
    .map(([name, source]) => ({ name, source, dir: bundleDir }));
  if (process.env.FLOOR === '1') {
    const floorBundle = await bundleWorker(join(BENCH_DIR, 'floor', 'wrangler.toml'), join(dir, 'bundle-floor'));
    variants.push({ name: 'floor Worker', source: '', dir: '', floor: floorBundle });
  }
  if (AB_REF) {
    execFileSync('git', ['worktree', 'add', '--detach', worktree, AB_REF], { cwd: REPO_ROOT, stdio: 'ignore' });
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(worktree, 'node_modules'));
    const abDir = join(dir, 'bundle-ab');
    await bundleWorker(join(worktree, 'wrangler.toml'), abDir);
    variants.push({ name: `base at ${AB_REF}`, source: WRAPPERS.base!, dir: abDir });
  }
  for (let round_ = 0; round_ < Number(process.env.ROUNDS ?? 2); round_++) {
    for (const { name, source, dir: entryDir, floor } of variants) {
      let options: Record<string, unknown>;
      if (floor) options = passthroughOptions({ scriptPath: floor, port: PORT, upstream: `http://127.0.0.1:${app.port}` });
      else {
        const entry = join(entryDir, `entry-${variants.findIndex((v) => v.name === name)}.js`);
        writeFileSync(entry, source);
        options = { ...gatewayOptions({ scriptPath: entry, port: PORT, vars, persist: join(dir, 'wrangler') }), modulesRules: [{ type: 'ESModule', include: ['**/*.js'] }] };
      }
      const gw = await startWorkerd('gateway-mf', options, dir, join(RAW_DIR, 'ablation-gateway.log'));
      const args = wrkArgs({ url: `http://127.0.0.1:${PORT}/api/bench`, headers: ['-H', `Host: ${billing.host}`, '-H', `Cookie: ${cookie}`] }, 2, 32);
      await loadWithCpu(args, 1);
      const { summary: s, cpuUs } = await loadWithCpu(args, 4, gw.pid);
      await gw.stop();
      (results[name] ??= []).push(s.rps);
      (cpu[name] ??= []).push(cpuUs);
      process.stderr.write(`ablation: ${name}: ${s.rps.toFixed(0)} req/s, p50 ${(s.p50Us / 1000).toFixed(1)} ms, CPU ${cpuUs.toFixed(0)} µs/request (Miniflare + workerd), errors ${wrkErrors(s)}\n`);
    }
  }
  const base = median(results.base!);
  const floorCpu = cpu['floor Worker'] ? median(cpu['floor Worker']) : undefined;
  console.log(JSON.stringify(Object.fromEntries(Object.entries(results).map(([k, v]) => [k, {
    rps: round(median(v), 0),
    vsBase: round(median(v) / base, 2),
    runs: v.map((x) => round(x, 0)),
    cpuUsPerRequest: round(median(cpu[k]!), 0),
    cpuRuns: cpu[k]!.map((x) => round(x, 0)),
    ...(floorCpu ? { cpuVsFloor: round(median(cpu[k]!) / floorCpu, 2) } : {}),
  }])), null, 2));
} finally {
  await Promise.allSettled(procs.map((p) => p.stop()));
  await stack?.close();
  if (AB_REF) {
    try {
      execFileSync('git', ['worktree', 'remove', '--force', worktree], { cwd: REPO_ROOT, stdio: 'ignore' });
    } catch {
      // never added
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
