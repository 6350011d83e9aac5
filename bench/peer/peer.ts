/**
 * Bench 6 — Tollgate against a peer people deploy today: Apache httpd +
 * mod_auth_openidc (../shared/peers), run by our adapted copy of its harness
 * (bench/peer/bench.sh), ROUNDS=3 by default. Tollgate is target g (the gateway
 * → the harness's upstream) and h (gateway → guard → upstream), both under
 * `wrangler dev` started by the harness itself (GATEWAY_START is the wrangler
 * CLI process), with the harness's IdP (http://127.0.0.1:19300, client
 * gateway/gateway-secret). The gateway's own origin is http://localhost:19400
 * (the workload host 127.0.0.1:19400 may not be the origin's authority);
 * chain.localhost:19400 is the second workload host. Takes several minutes;
 * needs ../shared/peers/setup.sh to have run.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnGuard } from '../../scripts/stack.js';
import { generateSigningJwk } from '../../src/token/index.js';
import { emit, machine, round, type BenchResult, type Row } from '../lib/measure.js';
import { BENCH_DIR, RAW_DIR, REPO_ROOT } from '../lib/paths.js';
import { WRANGLER_CLI, WRANGLER_NODE_ARGS, wranglerEnv } from '../lib/wrangler.js';
import { bundleWorker, gatewayOptions, tomlVars } from '../lib/worker-config.js';

const PEERS_SRC = process.env.PEERS_SRC ?? join(REPO_ROOT, '..', 'shared', 'peers');
const PEERS_DIR = process.env.PEERS_DIR ?? '/tmp/peers';
const ROUNDS = process.env.ROUNDS ?? '3';
const ORIGIN = 'http://localhost:19400';
const GUARD_PORT = 19410;
const started = Date.now();
mkdirSync(RAW_DIR, { recursive: true });

if (!existsSync(join(PEERS_DIR, 'idp-app', 'node_modules', 'oidc-provider'))) {
  throw new Error(`the peer harness is not set up: run ${PEERS_SRC}/setup.sh first (apt: apache2, mod_auth_openidc, nginx, wrk)`);
}

const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-peer-'));
const persist = join(dir, 'wrangler');
const sql = (v: string) => `'${v.replace(/'/g, "''")}'`;

try {
  // State: migrations and the peer catalog, as scripts/stack.ts seeds the demo.
  const wr = (args: string[]) => execFileSync(process.execPath, [...WRANGLER_NODE_ARGS, ...args], { cwd: REPO_ROOT, env: wranglerEnv(), stdio: 'ignore' });
  wr(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persist]);
  const seed = join(dir, 'seed.sql');
  writeFileSync(seed, `INSERT INTO workloads (id, name) VALUES ('peer-app', 'Peer upstream'), ('peer-chain', 'Peer upstream behind a guard');
INSERT INTO workload_hosts (host, workload_id) VALUES ('127.0.0.1:19400', 'peer-app'), ('chain.localhost:19400', 'peer-chain');
INSERT INTO endpoints (id, workload_id, url, location, source, health) VALUES ('peer-app-upstream', 'peer-app', 'http://127.0.0.1:19100', 'onprem', 'static', 'unknown'), ('peer-chain-guard', 'peer-chain', ${sql(`http://127.0.0.1:${GUARD_PORT}`)}, 'onprem', 'static', 'unknown');
INSERT INTO roles (id, description, permissions) VALUES ('peer-user', 'Peer benchmark', '[]');
INSERT INTO grants (id, role_id, workload, methods, paths, conditions) VALUES ('peer-user-all', 'peer-user', 'peer-*', '["*"]', '["/**"]', '{}');
INSERT INTO bindings (id, subject_kind, subject, role_id, reason) VALUES ('peer-engineering', 'group', 'engineering', 'peer-user', 'bench');
UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'policy_version';
`);
  wr(['d1', 'execute', 'DB', '--local', '--persist-to', persist, '--file', seed]);

  const jwk = await generateSigningJwk('EdDSA');
  const envFile = join(dir, 'gateway.env');
  const vars: Record<string, string> = {
    TOLLGATE_ORIGIN: ORIGIN,
    OIDC_ISSUER: 'http://127.0.0.1:19300',
    OIDC_CLIENT_ID: 'gateway',
    OIDC_CLIENT_SECRET: 'gateway-secret',
    SESSION_SECRET: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url'),
    SIGNING_KEYS: JSON.stringify({ keys: [jwk] }),
    SIGNING_KID: String(jwk.kid),
  };
  writeFileSync(envFile, Object.entries(vars).map(([k, v]) => `${k}='${v}'`).join('\n') + '\n', { mode: 0o600 });

  // The guard for target h: started before the harness (it refuses until the gateway's JWKS answers, then recovers).
  const guard = spawnGuard({
    name: 'guard-peer',
    issuer: ORIGIN,
    jwksUrl: `${ORIGIN}/.well-known/jwks.json`,
    audience: 'peer-chain',
    upstream: 'http://127.0.0.1:19100',
    port: GUARD_PORT,
    logFile: join(RAW_DIR, 'peer-guard.log'),
  });
  mkdirSync(join(PEERS_DIR, 'run'), { recursive: true });
  writeFileSync(join(PEERS_DIR, 'run', 'guard.pid'), `${guard.pid}\n`);

  const gatewayStartDev = [process.execPath, ...WRANGLER_NODE_ARGS.slice(0, 2), WRANGLER_CLI, 'dev', '--config', join(REPO_ROOT, 'wrangler.toml'),
    '--ip', '127.0.0.1', '--port', '19400', '--inspector-port', '19420', '--persist-to', persist, '--env-file', envFile, '--show-interactive-dev-session=false'].join(' ');
  // Pass 2: the same gateway bundled as a deploy bundles it and run directly on Miniflare/workerd (no wrangler dev proxy).
  const bundle = await bundleWorker(join(REPO_ROOT, 'wrangler.toml'), join(dir, 'bundle'));
  const mfOptions = join(dir, 'mf-gateway.json');
  writeFileSync(mfOptions, JSON.stringify(gatewayOptions({ scriptPath: bundle, port: 19400, vars: { ...tomlVars(join(REPO_ROOT, 'wrangler.toml')), ...vars }, persist })));
  const gatewayStartMf = [process.execPath, '--import', 'tsx', join(BENCH_DIR, 'lib', 'miniflare-run.ts')].join(' ');

  const baseEnv = {
    ...wranglerEnv(),
    ROUNDS,
    PEERS_SRC,
    GATEWAY_URL: 'http://127.0.0.1:19400/app/',
    GATEWAY_CHAIN_HOST: 'chain.localhost:19400',
    GUARD_HEALTHZ: `http://127.0.0.1:${GUARD_PORT}/.tollgate/healthz`,
    // The upstream echoes Tollgate's headers too (and still the peer's).
    IDENTITY_HEADER_RE: '^(oidc_|x-forwarded-(user|email|groups|preferred-username)$|x-auth-request-|x-user|x-email$|x-groups$|remote-user$|x-remote-user$|tollgate-)',
    GATEWAY_EXPECT: '"tollgate-assertion":"ey[A-Za-z0-9_-]+\\.ey',
    GATEWAY_CHAIN_EXPECT: '"tollgate-user":"user:[A-Za-z0-9_-]+:alice".*"tollgate-email":"alice@',
    GATEWAY_REDIRECT_URIS: `${ORIGIN}/auth/callback`,
    GATEWAY_POST_LOGOUT_REDIRECT_URIS: `${ORIGIN}/auth/signed-out`,
  };
  const harness = async (label: string, extra: Record<string, string>): Promise<{ code: number; rows: Record<string, Record<string, string>>; out: string }> => {
    const out = join(RAW_DIR, `peer-${label}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    process.stderr.write(`\npeer: harness pass "${label}" → ${out}\n`);
    const code = await new Promise<number>((resolve) => {
      const child = spawn('bash', [join(BENCH_DIR, 'peer', 'bench.sh')], { cwd: REPO_ROOT, env: { ...baseEnv, BENCH_OUT: out, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (d: Buffer) => process.stderr.write(d));
      child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
      child.on('close', (c) => resolve(c ?? 1));
    });
    const tsv = join(out, 'summary.tsv');
    if (!existsSync(tsv)) throw new Error(`the harness exited ${code} without a summary (see ${out} and ${PEERS_DIR}/logs)`);
    const [head, ...lines] = readFileSync(tsv, 'utf8').trim().split('\n');
    const cols = head!.split('\t');
    const rows = Object.fromEntries(lines.map((l) => {
      const v = l.split('\t');
      return [v[0]!, Object.fromEntries(cols.map((c, i) => [c, v[i]!]))];
    })) as Record<string, Record<string, string>>;
    return { code, rows, out };
  };

  const dev = await harness('wrangler-dev', { GATEWAY_START: gatewayStartDev, ...(process.env.TARGETS ? {} : { TARGETS: 'a b c d e g h' }) });
  const mf = await harness('workerd', { GATEWAY_START: gatewayStartMf, MF_OPTIONS: mfOptions, MF_LOG: join(RAW_DIR, 'peer-gateway-mf.log'), ...(process.env.TARGETS ? {} : { TARGETS: 'a d g h' }) });
  await guard.stop();
  rmSync(join(PEERS_DIR, 'run', 'guard.pid'), { force: true });

  const peer = 'd';
  const rows: Row[] = [];
  for (const [pass, passName] of [[mf, 'workerd'], [dev, 'wrangler dev']] as const) {
    const by = pass.rows;
    const num = (t: string, k: string) => Number(by[t]?.[k]);
    for (const [t, name, goal] of [['g', `Tollgate gateway (${passName}) → upstream`, 1.0], ['h', `Tollgate gateway (${passName}) → guard → upstream`, 0.6]] as const) {
      if (!by[t] || !by[peer]) continue;
      const ratio = num(t, 'rps') / num(peer, 'rps');
      rows.push({
        bench: 'peer',
        name: `${t} ${name}: authenticated req/s`,
        value: num(t, 'rps'),
        unit: 'req/s',
        baselineName: 'd Apache + mod_auth_openidc (shm), same pass',
        baseline: num(peer, 'rps'),
        ratio: round(ratio, 2),
        goal: `≥ ${goal.toFixed(1)}x at equal or better p50`,
        met: ratio >= goal && num(t, 'p50_us') <= num(peer, 'p50_us') && by[t]!.valid === 'yes',
        note: `loaded p50 ${(num(t, 'p50_us') / 1000).toFixed(2)} vs ${(num(peer, 'p50_us') / 1000).toFixed(2)} ms; c1 p50 ${(num(t, 'lat_p50_us') / 1000).toFixed(2)} vs ${(num(peer, 'lat_p50_us') / 1000).toFixed(2)} ms; valid ${by[t]!.valid}`,
      });
      rows.push({
        bench: 'peer',
        name: `${t} (${passName}): p50, one connection pinned to CPU 0`,
        value: round(num(t, 'lat_p50_us') / 1000, 2),
        unit: 'ms',
        baselineName: 'd Apache + mod_auth_openidc (shm)',
        baseline: round(num(peer, 'lat_p50_us') / 1000, 2),
        ratio: round(num(t, 'lat_p50_us') / num(peer, 'lat_p50_us'), 2),
      });
    }
  }
  const code = dev.code || mf.code;
  const result: BenchResult = {
    bench: 'peer',
    title: 'Peer: Apache httpd + mod_auth_openidc vs Tollgate (harness ../shared/peers, adapted copy in bench/peer)',
    startedAt: new Date(started).toISOString(),
    seconds: round((Date.now() - started) / 1000, 1),
    rows,
    facts: { machine: machine(), rounds: Number(ROUNDS), harnessExit: { wranglerDev: dev.code, workerd: mf.code }, wranglerDev: { summary: dev.rows, out: dev.out }, workerd: { summary: mf.rows, out: mf.out } },
  };
  emit(result);
  if (code !== 0) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
