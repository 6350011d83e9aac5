/**
 * Bench — the audit record's cost per request, measured from outside: the
 * real gateway under `wrangler dev` (workerd), an allowed GET with a valid
 * session cookie, driven by wrk, in three builds of the same Worker:
 *
 *   queue   functions/gateway.ts as deployed: decision record → AUDIT queue
 *           (send under ctx.waitUntil); the consumer (same Worker, same
 *           workerd process locally) batches into D1
 *   direct  the documented fallback: one D1 insert per record under waitUntil
 *   none    no audit record at all (nullAuditSink) — the baseline
 *
 * Per variant: req/s, p50/p99 latency, and CPU time of the whole wrangler
 * process tree (node + workerd, from /proc) per request — locally the queue
 * consumer and D1 run in that tree too, so "queue" includes the consumer's
 * work, which in production runs in separate invocations. Rounds are
 * interleaved (none, queue, direct, …) and medians reported; after each queue
 * run the bench waits for the consumer to drain. Finally it checks that every
 * request of the queue variant has its record in D1.
 *
 * Env: AUDIT_ROUNDS (3), AUDIT_SECONDS (8), AUDIT_CONNS (16).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cryptoRandom } from '../src/platform/index.js';
import { createCookieCodec, type SessionClaims } from '../src/session/index.js';
import { generateSigningJwk } from '../src/token/index.js';
import { emit, machine, median, round, type BenchResult, type Row } from './lib/measure.js';
import { BENCH_DIR, REPO_ROOT } from './lib/paths.js';
import { freePortNumber } from './lib/ports.js';
import { runWrk, waitForLine, wrkErrors, type Proc, type WrkSummary } from './lib/proc.js';
import { WRANGLER_NODE_ARGS, wranglerDev, wranglerEnv } from './lib/wrangler.js';

const ROUNDS = Number(process.env.AUDIT_ROUNDS ?? 3);
const SECONDS = Number(process.env.AUDIT_SECONDS ?? 8);
const CONNS = Number(process.env.AUDIT_CONNS ?? 16);
const VARIANTS = ['none', 'queue', 'direct'] as const;
type Variant = (typeof VARIANTS)[number];

const started = Date.now();
const tmp = mkdtempSync(join(tmpdir(), 'tollgate-bench-audit-'));
const procs: Proc[] = [];
let upstreamClose: (() => void) | undefined;

async function cleanup(): Promise<void> {
  await Promise.allSettled(procs.map((p) => p.stop()));
  upstreamClose?.();
  rmSync(tmp, { recursive: true, force: true });
}

// ------------------------------------------------------------------ upstream: 200, small JSON
const upstreamPort = await freePortNumber();
await new Promise<void>((resolve) => {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '11' });
      res.end('{"ok":true}');
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(upstreamPort, '127.0.0.1', () => resolve());
  upstreamClose = () => server.close();
});

// ------------------------------------------------------------------ one wrangler dev per variant
const jwk = await generateSigningJwk('EdDSA', 'bench');
const sessionSecret = Buffer.from(cryptoRandom.bytes(32)).toString('base64url');
const codec = await createCookieCodec(sessionSecret);
const abs = (p: string) => join(REPO_ROOT, p);

const ENTRY: Record<Variant, string> = {
  queue: abs('functions/gateway.ts'),
  none: join(tmp, 'none-worker.ts'),
  direct: join(tmp, 'direct-worker.ts'),
};
// Variants are the deployed Worker with one override: written here so no Workers-typed file sits in bench/.
const variantWorker = (sink: string) => `
import { buildGateway } from ${JSON.stringify(abs('functions/gateway.ts'))};
import { ${sink.includes('direct') ? 'directAuditSink' : 'nullAuditSink'} } from ${JSON.stringify(abs('src/audit/index.ts'))};
import { createD1AuditStore } from ${JSON.stringify(abs('src/audit/d1.ts'))};
import { consoleLogger } from ${JSON.stringify(abs('src/platform/index.ts'))};
// Every Durable Object class the Worker declares (the deployed entry's named exports).
export * from ${JSON.stringify(abs('functions/gateway.ts'))};
let current;
export default {
  async fetch(request, env, ctx) {
    if (current?.env !== env) current = { env, app: buildGateway(env, { audit: ${sink} }) };
    return (await current.app).fetch(request, ctx);
  },
  async queue(batch) { batch.ackAll(); },
};
`;
writeFileSync(ENTRY.none, variantWorker('nullAuditSink'));
writeFileSync(ENTRY.direct, variantWorker('directAuditSink(createD1AuditStore(env.DB), consoleLogger)'));

function config(variant: Variant, port: number): string {
  const dir = join(tmp, variant);
  execFileSync('mkdir', ['-p', dir]);
  // wrangler.toml of the repo, with main and migrations_dir made absolute for this directory.
  const toml = readFileSync(abs('wrangler.toml'), 'utf8')
    .replace(/^main = .*$/m, `main = ${JSON.stringify(ENTRY[variant])}`)
    .replace(/^migrations_dir = .*$/m, `migrations_dir = ${JSON.stringify(abs('infra/migrations'))}`)
    .replace(/^TOLLGATE_ORIGIN = .*$/m, `TOLLGATE_ORIGIN = "http://127.0.0.1:${port}"`)
    // Its own name: three dev sessions side by side must not meet in wrangler's dev registry.
    .replace(/^name = .*$/m, `name = "tollgate-bench-audit-${variant}"`);
  writeFileSync(join(dir, 'wrangler.toml'), toml);
  const vars: Record<string, string> = {
    OIDC_ISSUER: 'http://127.0.0.1:9/',
    OIDC_CLIENT_ID: 'bench',
    OIDC_CLIENT_SECRET: 'bench-client-secret',
    SESSION_SECRET: sessionSecret,
    SIGNING_KEYS: JSON.stringify({ keys: [jwk] }),
    SIGNING_KID: 'bench',
  };
  writeFileSync(join(dir, '.dev.vars'), Object.entries(vars).map(([k, v]) => `${k}='${v}'`).join('\n') + '\n');
  return join(dir, 'wrangler.toml');
}

function wranglerRun(args: string[]): string {
  return execFileSync(process.execPath, [...WRANGLER_NODE_ARGS, ...args], { cwd: REPO_ROOT, env: wranglerEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function d1(configFile: string, persist: string, sql: string): unknown[] {
  const out = wranglerRun(['d1', 'execute', 'DB', '--local', '--persist-to', persist, '--config', configFile, '--json', '--command', sql]);
  return (JSON.parse(out) as { results: unknown[] }[])[0]?.results ?? [];
}

const HOSTS: Record<Variant, { port: number; host: string; config: string; persist: string; cookie: string; proc?: Proc }> = {} as never;

for (const v of VARIANTS) {
  const port = await freePortNumber();
  const host = `inventory.localhost:${port}`;
  const configFile = config(v, port);
  const persist = join(tmp, v, 'state');
  wranglerRun(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persist, '--config', configFile]);
  const seed = [
    `INSERT INTO workloads (id, name) VALUES ('inventory', 'Inventory')`,
    `INSERT INTO workload_hosts (host, workload_id) VALUES ('${host}', 'inventory')`,
    `INSERT INTO endpoints (id, workload_id, url) VALUES ('inventory-1', 'inventory', 'http://127.0.0.1:${upstreamPort}')`,
    `INSERT INTO roles (id, permissions) VALUES ('inventory-user', '[]')`,
    `INSERT INTO grants (id, role_id, workload, methods, paths) VALUES ('inventory-user/all', 'inventory-user', 'inventory', '["GET"]', '["/items/**"]')`,
    `INSERT INTO bindings (id, subject_kind, subject, role_id) VALUES ('eng', 'group', 'engineering', 'inventory-user')`,
  ].join('; ');
  d1(configFile, persist, seed);
  const now = Math.floor(Date.now() / 1000);
  const claims: SessionClaims = {
    sid: cryptoRandom.id(16),
    sub: 'user:benchbenchbe:alice',
    iss: 'http://127.0.0.1:9/',
    idpSub: 'alice',
    email: 'alice@example.com',
    groups: ['engineering', 'staff'],
    amr: ['pwd'],
    authTime: now,
    createdAt: now,
    seenAt: now + 3600, // far from the idle refresh, so no Set-Cookie changes the response
    expiresAt: now + 43200,
    host,
  };
  const cookie = `tg_session=${await codec.seal('session', claims, 43200, now)}`;
  HOSTS[v] = { port, host, config: configFile, persist, cookie };
}

for (const v of VARIANTS) {
  const h = HOSTS[v];
  const p = wranglerDev(`wrangler-${v}`, ['--port', String(h.port), '--config', h.config, '--persist-to', h.persist, '--inspector-port', String(await freePortNumber())], join(tmp, `${v}.log`));
  procs.push(p);
  h.proc = p;
  await waitForLine(p, /Ready on http:\/\/127\.0\.0\.1:\d+/, 90_000);
}

async function check(v: Variant): Promise<void> {
  const h = HOSTS[v];
  // node:http, not fetch: fetch will not send a Host header of our choosing.
  const { status, body, setCookie } = await new Promise<{ status: number; body: string; setCookie: boolean }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: h.port, path: '/items/1', headers: { host: h.host, cookie: h.cookie, accept: 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, setCookie: res.headers['set-cookie'] !== undefined }));
    });
    req.on('error', reject);
    req.end();
  });
  if (status !== 200 || body !== '{"ok":true}' || setCookie) throw new Error(`${v}: expected 200 from the upstream, got ${status} ${body.slice(0, 300)}`);
}

/** CPU seconds (user + system) of a process and all its descendants. */
function treeCpuSeconds(pid: number): number {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  const visit = (p: number) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / tick; // utime, stime
      for (const t of readdirSync(`/proc/${p}/task`)) {
        const kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim();
        if (kids) for (const k of kids.split(' ')) visit(Number(k));
      }
    } catch {
      // gone
    }
  };
  visit(pid);
  return total;
}

const lua = join(tmp, 'report.lua');
writeFileSync(
  lua,
  `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK requests=%d duration_us=%d bytes=%d err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`,
);

async function load(v: Variant, seconds: number): Promise<WrkSummary & { cpuUsPerReq: number }> {
  const h = HOSTS[v];
  const cpu0 = treeCpuSeconds(h.proc!.pid);
  const s = await runWrk([`-t2`, `-c${CONNS}`, `-d${seconds}s`, '--latency', '-s', lua, '-H', `Host: ${h.host}`, '-H', `Cookie: ${h.cookie}`, '-H', 'Accept: application/json', `http://127.0.0.1:${h.port}/items/1`]);
  const cpu1 = treeCpuSeconds(h.proc!.pid);
  return { ...s, cpuUsPerReq: ((cpu1 - cpu0) * 1e6) / s.requests };
}

function auditRows(v: Variant): number {
  const rows = d1(HOSTS[v].config, HOSTS[v].persist, "SELECT count(*) AS n FROM audit WHERE kind = 'decision'") as { n: number }[];
  return Number(rows[0]?.n ?? 0);
}

/** After a queue run: let the consumer finish (CPU of the tree settles) before the next variant is loaded. */
async function settle(v: Variant): Promise<number> {
  const pid = HOSTS[v].proc!.pid;
  const t0 = Date.now();
  let last = treeCpuSeconds(pid);
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = treeCpuSeconds(pid);
    if (now - last < 0.05 || Date.now() - t0 > 60_000) return (Date.now() - t0) / 1000;
    last = now;
  }
}

const samples: Record<Variant, (WrkSummary & { cpuUsPerReq: number })[]> = { none: [], queue: [], direct: [] };
const totalRequests: Record<Variant, number> = { none: 0, queue: 0, direct: 0 };
const drainSeconds: number[] = [];
try {
  for (const v of VARIANTS) {
    await check(v);
    await load(v, 3); // warm-up (JIT, keep-alive pools, snapshot)
    await settle(v);
  }
  // The queue's consumer flushes at most every second: give the warm-up's last batch time to land.
  await new Promise((r) => setTimeout(r, 3000));
  const baseline = { queue: auditRows('queue') };
  for (let r = 0; r < ROUNDS; r++) {
    for (const v of VARIANTS) {
      const s = await load(v, SECONDS);
      if (wrkErrors(s) > 0) throw new Error(`${v}: wrk errors ${JSON.stringify({ ...s, raw: undefined })}`);
      samples[v].push(s);
      totalRequests[v] += s.requests;
      drainSeconds.push(await settle(v));
      process.stderr.write(`round ${r + 1} ${v}: ${Math.round(s.rps)} req/s, p50 ${s.p50Us} µs, ${Math.round(s.cpuUsPerReq)} µs CPU/req\n`);
    }
  }
  await new Promise((r) => setTimeout(r, 3000));
  const written = auditRows('queue') - baseline.queue;
  // wrk counts the responses it completed; requests still in flight when a run ends were served (and
  // recorded) too, so at most CONNS per run more rows than responses. Fewer rows than responses = lost records.
  const inFlightBound = CONNS * ROUNDS;

  const med = (v: Variant, f: (s: WrkSummary & { cpuUsPerReq: number }) => number) => median(samples[v].map(f));
  const rps = (v: Variant) => med(v, (s) => s.rps);
  const cpu = (v: Variant) => med(v, (s) => s.cpuUsPerReq);
  const rows: Row[] = [];
  for (const v of VARIANTS) {
    rows.push({ bench: 'audit', name: `${v}: req/s`, value: round(rps(v), 0), unit: 'req/s', ...(v === 'none' ? {} : { baselineName: 'none', baseline: round(rps('none'), 0), ratio: round(rps(v) / rps('none'), 3) }) });
  }
  for (const v of VARIANTS) {
    rows.push({ bench: 'audit', name: `${v}: CPU per request (wrangler + workerd tree)`, value: round(cpu(v), 0), unit: 'µs', ...(v === 'none' ? {} : { baselineName: 'none', baseline: round(cpu('none'), 0), ratio: round(cpu(v) / cpu('none'), 3) }) });
  }
  for (const v of VARIANTS) rows.push({ bench: 'audit', name: `${v}: p50 latency`, value: round(med(v, (s) => s.p50Us) / 1000, 2), unit: 'ms' });
  rows.push({ bench: 'audit', name: 'queue: extra CPU per request vs none', value: round(cpu('queue') - cpu('none'), 0), unit: 'µs', note: 'includes the consumer and its D1 batch writes (same process locally)' });
  rows.push({ bench: 'audit', name: 'direct: extra CPU per request vs none', value: round(cpu('direct') - cpu('none'), 0), unit: 'µs' });
  rows.push({
    bench: 'audit',
    name: 'queue: records written / responses',
    value: written,
    unit: 'rows',
    baselineName: 'responses',
    baseline: totalRequests.queue,
    ratio: round(written / totalRequests.queue, 4),
    goal: `responses .. +${inFlightBound} (in flight)`,
    met: written >= totalRequests.queue && written <= totalRequests.queue + inFlightBound,
  });

  const result: BenchResult = {
    bench: 'audit',
    title: 'Audit record cost per request (gateway under wrangler dev, wrk, allowed GET)',
    startedAt: new Date(started).toISOString(),
    seconds: Math.round((Date.now() - started) / 1000),
    rows,
    facts: {
      machine: machine(),
      rounds: ROUNDS,
      secondsPerRun: SECONDS,
      connections: CONNS,
      wrkThreads: 2,
      drainSeconds,
      samples: Object.fromEntries(VARIANTS.map((v) => [v, samples[v].map((s) => ({ rps: Math.round(s.rps), p50Us: s.p50Us, p99Us: s.p99Us, cpuUsPerReq: Math.round(s.cpuUsPerReq), requests: s.requests }))])),
      note: 'One 2-vCPU VM runs wrk, the upstream, wrangler and workerd: req/s differences below ~10 % are within run-to-run noise; CPU per request is the steadier figure.',
      benchDir: BENCH_DIR,
    },
  };
  emit(result);
  writeFileSync(join(BENCH_DIR, 'results', 'audit.json'), JSON.stringify(result, null, 2) + '\n');
} finally {
  await cleanup();
}
