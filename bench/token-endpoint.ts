/**
 * Token endpoint throughput and token / assertion sizes (docs/services.md, "Measurements").
 *
 *   npx tsx bench/token-endpoint.ts        (TOKEN_BENCH_SECONDS=5 TOKEN_BENCH_ROUNDS=2)
 *
 * 1. Sizes: every kind of token the gateway issues, from real responses.
 * 2. Throughput on loopback, load from wrk (a separate process, 2 threads,
 *    32 connections), medians of rounds, for
 *      jwks       GET /.well-known/jwks.json (no auth: the runtime's floor)
 *      cc-basic   POST /oauth/token client_credentials, client_secret_basic
 *                 (D1 read of the account + SHA-256 + ClientLimiter DO + ledger + mint)
 *      xchg-asrt  POST /oauth/token token exchange → per-request assertion (verify + ledger + DO + decision + mint)
 *      bearer     GET inventory /api/whoami with a bearer token → gateway → guard → app
 *    under `wrangler dev` as the demo runs (…-dev) and bundled on Miniflare/workerd
 *    with the same state (…-mf; the closer stand-in for the deployed Worker).
 * 3. In-process (Node, one core, memory stores): the CPU cost of one issuance
 *    without storage or network.
 *
 * Results: bench/token-endpoint.results.json. Uses bench/lib's wrk and Miniflare
 * helpers read-only.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Stack } from '../scripts/stack.js';
import { createServiceAccountAdmin } from '../src/admin/service-accounts.js';
import { compileCatalog, type GatewaySnapshot } from '../src/catalog/index.js';
import { createIssuerRegistry } from '../src/federation/index.js';
import { handleTokenRequest, parseOAuthForm, type OAuthService } from '../src/oauth/index.js';
import { compile } from '../src/policy/index.js';
import { cryptoRandom, fixedClock, silentLogger } from '../src/platform/index.js';
import { memoryLimiter } from '../src/ratelimit/memory.js';
import { createPrincipalStatus, memoryPrincipalLedger } from '../src/revocation/principals.js';
import { createMemoryServiceStores } from '../src/store/services-memory.js';
import { generateSigningJwk, loadKeyRing } from '../src/token/index.js';
import { loopbackFetch } from '../test/support/http.js';
import { BENCH_DIR, RAW_DIR, REPO_ROOT } from './lib/paths.js';
import { runWrk, wrkErrors, type Proc, type WrkSummary } from './lib/proc.js';
import { bundleWorker, envFileVars, gatewayOptions, tomlVars } from './lib/worker-config.js';
import { freePortNumber } from './lib/ports.js';
import { startWorkerd, waitPortFree } from './lib/workerd.js';

const SECONDS = Number(process.env.TOKEN_BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.TOKEN_BENCH_ROUNDS ?? 2);
const THREADS = 2;
const CONNS = 32;
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const AT = 'urn:ietf:params:oauth:token-type:access_token';
const ASSERTION = 'urn:tollgate:token-type:assertion';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Scenario {
  id: string;
  name: string;
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** Rotate the Authorization header over these values, one per request (many clients). */
  rotateAuthorization?: string[];
}

function luaFor(s: Scenario, file: string): string {
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  const lines = [`wrk.method = "${s.method}"`];
  if (s.body !== undefined) lines.push(`wrk.body = "${esc(s.body)}"`);
  for (const [k, v] of Object.entries(s.headers)) lines.push(`wrk.headers["${esc(k)}"] = "${esc(v)}"`);
  if (s.rotateAuthorization) {
    lines.push(`local auths = { ${s.rotateAuthorization.map((a) => `"${esc(a)}"`).join(', ')} }`);
    lines.push(`local i = math.random(#auths)
request = function()
  i = i % #auths + 1
  wrk.headers["Authorization"] = auths[i]
  return wrk.format()
end`);
  }
  lines.push(`done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK requests=%d duration_us=%d bytes=%d err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

async function check(s: Scenario): Promise<void> {
  const res = await loopbackFetch(s.url, { method: s.method, headers: s.headers, ...(s.body !== undefined ? { body: s.body } : {}) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${s.id}: ${res.status} ${text.slice(0, 300)}`);
}

const runs: Record<string, WrkSummary[]> = {};

async function measure(scenarios: Scenario[], dir: string): Promise<void> {
  for (const s of scenarios) await check(s);
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of scenarios) {
      const script = luaFor(s, join(dir, `${s.id}.lua`));
      // The Host header of a workload URL: wrk connects to 127.0.0.1 and sends it as given.
      const url = new URL(s.url);
      const target = url.hostname.endsWith('.localhost') ? `http://127.0.0.1:${url.port}${url.pathname}${url.search}` : s.url;
      const hostHeader = url.hostname.endsWith('.localhost') ? ['-H', `Host: ${url.host}`] : [];
      const r = await runWrk([`-t${THREADS}`, `-c${CONNS}`, `-d${SECONDS}s`, '--latency', '-s', script, ...hostHeader, target]);
      (runs[s.id] ??= []).push(r);
      process.stderr.write(`token-bench: ${s.id.padEnd(16)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${(r.p50Us / 1000).toFixed(1)} ms  p99 ${(r.p99Us / 1000).toFixed(1)} ms  errors ${wrkErrors(r)}\n`);
    }
  }
}

async function post(url: string, body: Record<string, string>, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const res = await loopbackFetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(body).toString() });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** The CPU cost of issuance alone: the same code, memory stores, no network. */
async function inProcess(): Promise<Record<string, { perSecond: number; usPerOp: number }>> {
  const clock = fixedClock(Date.now());
  const stores = createMemoryServiceStores();
  const principals = createPrincipalStatus({ ledger: memoryPrincipalLedger(), clock, cacheSeconds: 5 });
  const keyRing = await loadKeyRing({ keys: [await generateSigningJwk('EdDSA', 'k')] });
  const workloads = [{ id: 'inventory', name: 'i', hosts: ['inventory.example.com'], endpoints: [] }];
  const doc = {
    roles: [{ id: 'r', permissions: [], grants: [{ id: 'g', workload: 'inventory', methods: ['*'], paths: ['/**'] }] }],
    bindings: [{ id: 'b', subject: { kind: 'service' as const, value: 'svc' }, roleId: 'r' }],
    denyRules: [],
  };
  const snapshot: GatewaySnapshot = { version: '1', policy: compile(doc, { workloads: ['inventory'] }), catalog: compileCatalog(workloads, { originAuthority: 'gw.example.com' }), document: doc, needsCountry: false, loadedAt: clock.now() };
  const urlPolicy = { allowInsecure: 'none' as const };
  const oauth: OAuthService = {
    config: { accessTokenTtlSeconds: 600, rateLimitPerMinute: 1e5, allowInsecureIssuers: 'none', jwksCooldownSeconds: 30 },
    accounts: stores.accounts,
    issuers: stores.issuers,
    registry: createIssuerRegistry({ source: stores.issuers, clock, logger: silentLogger, refreshSeconds: 60, jwks: { fetch: async () => new Response('', { status: 599 }), clock, urlPolicy } }),
    limiter: memoryLimiter(clock),
    principals,
    urlPolicy,
    fetch: async () => new Response('', { status: 599 }),
  };
  const admin = createServiceAccountAdmin({ store: stores.accounts, principals, random: cryptoRandom, nowMs: () => clock.now() });
  const { secret } = await admin.create('svc', { rate_limit_per_minute: 100000 }, { actor: { subject: 'bench', via: 'token' }, requestId: 'r', now: Math.floor(clock.now() / 1000) });
  const authorization = `Basic ${Buffer.from(`svc:${secret}`).toString('base64')}`;
  const ctx = { oauth, origin: 'https://gw.example.com', scheme: 'https', keyRing, clock, random: cryptoRandom, logger: silentLogger, snapshot, assertionTtlSeconds: 30, requestId: 'rid', audit: () => {} };
  const cc = () => handleTokenRequest(parseOAuthForm('grant_type=client_credentials'), authorization, ctx);
  const subject = (await cc()).access_token;
  const xchg = `grant_type=${encodeURIComponent(EXCHANGE)}&subject_token=${subject}&subject_token_type=${encodeURIComponent(AT)}&requested_token_type=${encodeURIComponent(ASSERTION)}&audience=inventory&htm=GET&htu=%2Fapi%2Fwhoami`;
  const ex = () => handleTokenRequest(parseOAuthForm(xchg), null, ctx);
  const out: Record<string, { perSecond: number; usPerOp: number }> = {};
  for (const [name, op] of [['cc-basic', cc], ['xchg-asrt', ex]] as const) {
    for (let i = 0; i < 300; i++) await op();
    const n = 3000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await op();
    const ms = performance.now() - t0;
    out[name] = { perSecond: Math.round((n / ms) * 1000), usPerOp: Math.round((ms / n) * 1000 * 10) / 10 };
    process.stderr.write(`token-bench: in-process ${name}: ${out[name]!.perSecond} /s (${out[name]!.usPerOp} µs each)\n`);
  }
  return out;
}

const procs: Proc[] = [];
rmSync(join(RAW_DIR, 'token-endpoint-mf.log'), { force: true });
let stack: Stack | undefined;
const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-token-'));
try {
  const gatewayPort = await freePortNumber();
  stack = await startStack({ dir, gatewayPort, idpPort: 0 });
  const origin = stack.origin;
  const tokenUrl = `${origin}/oauth/token`;
  const admin = { authorization: `Bearer ${stack.demoAdminToken}`, 'content-type': 'application/json' };
  const made = await loopbackFetch(`${origin}/admin/v1/service-accounts`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'bench-svc', rate_limit_per_minute: 100000 }) });
  if (made.status !== 201) throw new Error(`service account: ${made.status} ${await made.text()}`);
  const secret = String(((await made.json()) as { client_secret: string }).client_secret);
  const bound = await loopbackFetch(`${origin}/admin/v1/bindings`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'bench-svc-inventory', subject: { kind: 'service', value: 'bench-svc' }, role_id: 'inventory-user' }) });
  if (bound.status !== 201) throw new Error(`binding: ${bound.status}`);
  await new Promise((r) => setTimeout(r, 5500)); // POLICY_REFRESH_SECONDS
  const basic = `Basic ${Buffer.from(`bench-svc:${secret}`).toString('base64')}`;
  // Many clients: the per-client ClientLimiter object serialises one client's requests; a real endpoint serves many.
  const many: string[] = [];
  for (let i = 0; i < 32; i++) {
    const r = await loopbackFetch(`${origin}/admin/v1/service-accounts`, { method: 'POST', headers: admin, body: JSON.stringify({ id: `bench-${i}`, rate_limit_per_minute: 100000 }) });
    if (r.status !== 201) throw new Error(`service account bench-${i}: ${r.status}`);
    many.push(`Basic ${Buffer.from(`bench-${i}:${((await r.json()) as { client_secret: string }).client_secret}`).toString('base64')}`);
  }

  // ---- sizes
  const inv = stack.workloads.find((w) => w.id === 'inventory')!;
  const gatewayToken = String((await post(tokenUrl, { grant_type: 'client_credentials' }, { authorization: basic })).access_token);
  const workloadToken = String((await post(tokenUrl, { grant_type: 'client_credentials', resource: inv.url }, { authorization: basic })).access_token);
  const demoBasic = `Basic ${Buffer.from(`demo-service:${stack.demoServiceSecret}`).toString('base64')}`;
  const actorToken = String((await post(tokenUrl, { grant_type: 'client_credentials' }, { authorization: demoBasic })).access_token);
  const delegated = String((await post(tokenUrl, { grant_type: EXCHANGE, subject_token: gatewayToken, subject_token_type: AT, actor_token: actorToken, actor_token_type: AT, audience: 'inventory' })).access_token);
  const assertion = String((await post(tokenUrl, { grant_type: EXCHANGE, subject_token: gatewayToken, subject_token_type: AT, requested_token_type: ASSERTION, audience: 'inventory', htm: 'GET', htu: '/api/whoami' })).access_token);
  const delegatedAssertion = String((await post(tokenUrl, { grant_type: EXCHANGE, subject_token: gatewayToken, subject_token_type: AT, actor_token: actorToken, actor_token_type: AT, requested_token_type: ASSERTION, audience: 'inventory', htm: 'GET', htu: '/api/whoami' })).access_token);
  const sizes = {
    'access token, gateway audience (client_credentials)': gatewayToken.length,
    'access token, one workload (resource)': workloadToken.length,
    'access token, delegated (act)': delegated.length,
    'assertion from token exchange (htm GET, htu /api/whoami)': assertion.length,
    'assertion from token exchange, delegated (act)': delegatedAssertion.length,
    'bearer header on the wire ("Authorization: Bearer " + gateway token)': 'Authorization: Bearer '.length + gatewayToken.length,
  };
  process.stderr.write(`token-bench: sizes ${JSON.stringify(sizes, null, 2)}\n`);

  const form = 'application/x-www-form-urlencoded';
  const scenarios = (suffix: string): Scenario[] => [
    { id: `jwks-${suffix}`, name: 'GET /.well-known/jwks.json', url: `${origin}/.well-known/jwks.json`, method: 'GET', headers: {} },
    { id: `cc-basic-${suffix}`, name: 'client_credentials (client_secret_basic), one client', url: tokenUrl, method: 'POST', headers: { 'Content-Type': form, Authorization: basic }, body: 'grant_type=client_credentials' },
    { id: `cc-many-${suffix}`, name: 'client_credentials (client_secret_basic), 32 clients', url: tokenUrl, method: 'POST', headers: { 'Content-Type': form, Authorization: many[0]! }, body: 'grant_type=client_credentials', rotateAuthorization: many },
    {
      id: `xchg-asrt-${suffix}`,
      name: 'token exchange → assertion (the client exchanges its own token)',
      url: tokenUrl,
      method: 'POST',
      headers: { 'Content-Type': form, Authorization: basic },
      body: new URLSearchParams({ grant_type: EXCHANGE, subject_token: gatewayToken, subject_token_type: AT, requested_token_type: ASSERTION, audience: 'inventory', htm: 'GET', htu: '/api/whoami' }).toString(),
    },
    { id: `bearer-${suffix}`, name: 'bearer → gateway → guard → app', url: `${inv.url}api/whoami`, method: 'GET', headers: { Authorization: `Bearer ${gatewayToken}` } },
  ];
  await measure(scenarios('dev'), dir);

  // ---- the same gateway bundled on Miniflare/workerd, same port and state (guards keep running)
  const bundle = await bundleWorker(join(REPO_ROOT, 'wrangler.toml'), join(dir, 'bundle'));
  process.kill(stack.pids.gateway, 'SIGTERM');
  await waitPortFree(gatewayPort);
  const vars = { ...tomlVars(join(REPO_ROOT, 'wrangler.toml')), ...envFileVars(join(dir, 'gateway.env')) };
  const options = gatewayOptions({ scriptPath: bundle, port: gatewayPort, vars, persist: join(dir, 'wrangler') }) as { durableObjects: Record<string, unknown> };
  options.durableObjects = { ...options.durableObjects, CLIENT_LIMITS: { className: 'ClientLimiter', useSQLite: true } };
  procs.push(await startWorkerd('gateway-mf', options, dir, join(RAW_DIR, 'token-endpoint-mf.log')));
  await measure(scenarios('mf'), dir);

  const inproc = await inProcess();
  const agg = Object.fromEntries(Object.entries(runs).map(([id, xs]) => [id, {
    rps: Math.round(median(xs.map((x) => x.rps))),
    p50Ms: Math.round(median(xs.map((x) => x.p50Us)) / 100) / 10,
    p99Ms: Math.round(median(xs.map((x) => x.p99Us)) / 100) / 10,
    errors: xs.reduce((n, x) => n + wrkErrors(x), 0),
  }]));
  const result = {
    bench: 'token-endpoint',
    at: new Date().toISOString(),
    machine: { node: process.version, cpus: (await import('node:os')).cpus().length },
    load: { tool: 'wrk', threads: THREADS, connections: CONNS, seconds: SECONDS, rounds: ROUNDS },
    sizes,
    throughput: agg,
    inProcess: inproc,
  };
  writeFileSync(join(BENCH_DIR, 'token-endpoint.results.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  for (const p of procs) await p.stop().catch(() => {});
  await stack?.close();
  if (process.env.TOKEN_BENCH_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
}
