/**
 * The whole demo stack on loopback: the IdP, two demo workloads behind their
 * guards, and the gateway under `wrangler dev`. Used by `npm start`
 * (scripts/start.ts) and by every e2e test file (one stack per file).
 *
 *   browser ──► gateway 127.0.0.1:<port>  (wrangler dev; also serves inventory.localhost:<port>, billing.localhost:<port>)
 *                 │  OIDC ──► IdP http://localhost:<idpPort> (in this process)
 *                 └─► guard 127.0.0.1:<g> ──► app unix:<dir>/apps/<id>.sock (in this process)
 *
 * State lives in one directory (default `.tollgate/`, git-ignored): secrets.json
 * (generated once, reused), gateway.env, the wrangler state, app sockets, logs
 * and stack.json.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSigningJwk, loadKeyRing, mintAccessToken, userSubject } from '../src/token/index.js';
import { cryptoRandom } from '../src/platform/index.js';
import { startDemoApp, type RunningDemoApp } from './demo-app/index.js';
import { DEMO_USERS, startIdp, type DemoUser, type IdpLogEvent, type RunningIdp } from './idp/index.js';
import { assertPortFree, freePort, waitForOk } from './lib/net.js';
import { startChild, type Child } from './lib/processes.js';
import { demoServiceCredentials, demoServiceSql } from './lib/demo-service.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// wrangler's bin/wrangler.js is itself a wrapper: it spawns wrangler-dist/cli.js
// and does not forward SIGTERM. Run cli.js the way that wrapper does, so the pid
// we hold (and stop) is the wrangler process that owns workerd.
const WRANGLER_CLI = join(REPO_ROOT, 'node_modules', 'wrangler', 'wrangler-dist', 'cli.js');
const WRANGLER_NODE_ARGS = ['--no-warnings', '--experimental-vm-modules', WRANGLER_CLI];
const HOST = '127.0.0.1';

export type WorkloadId = 'inventory' | 'billing';
export const WORKLOADS: readonly { id: WorkloadId; title: string }[] = [
  { id: 'inventory', title: 'Inventory' },
  { id: 'billing', title: 'Billing' },
];

/** Something put between the gateway and one guard (tests: a recording hop). */
export interface Interposer {
  workload: WorkloadId;
  /** Start in front of the guard; return the URL the gateway should use as the endpoint. */
  start(guard: { host: string; port: number }): Promise<{ url: string; close(): Promise<void> }>;
}

export interface StackOptions {
  /** State directory. Default `<repo>/.tollgate`. */
  dir?: string;
  /** Gateway port (wrangler dev). Default 8787. The workload host names follow it. */
  gatewayPort?: number;
  /** IdP port. Default 9400. */
  idpPort?: number;
  /** Guard ports; 0 or absent = a free port. */
  guardPorts?: Partial<Record<WorkloadId, number>>;
  interpose?: Interposer;
  /** Each output line of the gateway and guards, prefixed with the process name (default: log files only). */
  onOutput?: (name: string, line: string) => void;
  /** IdP events (sign-ins, refused passwords). Default: appended to logs/idp.log. */
  onIdpEvent?: (event: IdpLogEvent) => void;
  /** wrangler config for `wrangler dev` (default: the repo's wrangler.toml). */
  wranglerConfig?: string;
  /** Milliseconds to wait for the gateway to answer. Default 120 000. */
  gatewayTimeoutMs?: number;
}

export interface StackWorkload {
  id: WorkloadId;
  title: string;
  /** Authority the gateway serves it on, e.g. `inventory.localhost:8787`. */
  host: string;
  /** Browser URL, e.g. `http://inventory.localhost:8787/`. */
  url: string;
  /** The endpoint URL in the catalog (the guard, or an interposer in front of it). */
  endpoint: string;
  guard: { port: number; url: string; pid: number };
  app: { socket: string };
}

export interface StackInfo {
  origin: string;
  gateway: { port: number; pid: number; jwks: string };
  idp: { issuer: string; port: number; clientId: string };
  users: { username: string; password: string; email: string; groups: string[] }[];
  workloads: StackWorkload[];
  dir: string;
  logs: string;
  pids: { stack: number; gateway: number; guards: Record<string, number> };
  /** The demo admin access token's file (the token itself is not in stack.json) and expiry (epoch s). */
  adminToken: { file: string; expiresAt: number; subject: string };
  /** The demo service account: its credentials file (the secret is not in stack.json) and token endpoint. */
  demoService: { file: string; clientId: string; tokenEndpoint: string };
  startedAt: string;
  readyMs: number;
  /** Milliseconds from the start at which each phase finished. */
  phases: Record<string, number>;
}

export interface Stack extends StackInfo {
  /** The demo admin access token (also in `adminToken.file`). */
  demoAdminToken: string;
  /** The demo service account's client secret (also in `demoService.file`). */
  demoServiceSecret: string;
  /** Stop everything this stack started (by pid) and wait for it. Idempotent. */
  close(): Promise<void>;
}

interface Secrets {
  signingJwks: { keys: Record<string, unknown>[] };
  sessionSecret: string;
  idpClientSecret: string;
}

const CLIENT_ID = 'tollgate';

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const t0 = Date.now();
  const dir = resolve(options.dir ?? join(REPO_ROOT, '.tollgate'));
  const gatewayPort = options.gatewayPort ?? 8787;
  const idpPort = options.idpPort ?? 9400;
  const origin = `http://${HOST}:${gatewayPort}`;
  const logs = join(dir, 'logs');
  for (const d of [dir, logs, join(dir, 'apps'), join(dir, 'wrangler')]) mkdirSync(d, { recursive: true, mode: 0o700 });

  const phases: Record<string, number> = {};
  const mark = (name: string) => {
    phases[name] = Date.now() - t0;
  };
  const cleanups: (() => Promise<void>)[] = [];
  const children: Child[] = [];
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    // Children first (guards, gateway), then in-process servers, newest first.
    await Promise.allSettled(children.map((c) => c.stop()));
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
  };

  try {
    lockDir(dir);
    cleanups.push(async () => rmSync(join(dir, 'stack.lock'), { force: true }));
    await assertPortFree(gatewayPort, HOST, 'gateway');
    const guardPorts = {} as Record<WorkloadId, number>;
    for (const w of WORKLOADS) {
      const p = options.guardPorts?.[w.id];
      if (p) await assertPortFree(p, HOST, `${w.id} guard`);
      guardPorts[w.id] = p || await freePort(HOST);
    }
    const secrets = await loadSecrets(join(dir, 'secrets.json'));
    mark('secrets');

    // The IdP and the apps live in this process.
    const idpLog = options.onIdpEvent ?? appendJsonLine(join(logs, 'idp.log'));
    const idp: RunningIdp = await startIdp({
      port: idpPort,
      host: HOST,
      clients: [{
        client_id: CLIENT_ID,
        client_secret: secrets.idpClientSecret,
        redirect_uris: [`${origin}/auth/callback`],
        post_logout_redirect_uris: [`${origin}/auth/signed-out`],
        token_endpoint_auth_method: 'client_secret_basic',
      }],
      users: DEMO_USERS,
      log: idpLog,
    });
    cleanups.push(() => idp.close());
    mark('idp');

    const apps = {} as Record<WorkloadId, RunningDemoApp>;
    for (const w of WORKLOADS) {
      apps[w.id] = await startDemoApp({ socketPath: join(dir, 'apps', `${w.id}.sock`), title: w.title, workload: w.id });
      const app = apps[w.id];
      cleanups.push(() => app.close());
    }

    const endpoints = {} as Record<WorkloadId, string>;
    for (const w of WORKLOADS) {
      endpoints[w.id] = `http://${HOST}:${guardPorts[w.id]}`;
      if (options.interpose?.workload === w.id) {
        const hop = await options.interpose.start({ host: HOST, port: guardPorts[w.id] });
        cleanups.push(() => hop.close());
        endpoints[w.id] = hop.url;
      }
    }

    writeGatewayEnv(join(dir, 'gateway.env'), { origin, issuer: idp.issuer, secrets });
    const seedFile = join(dir, 'seed.sql');
    const demoService = demoServiceCredentials(join(dir, 'demo-service.json'), origin, `http://${workloadHost('inventory', gatewayPort)}/`);
    writeFileSync(seedFile, seedSql(gatewayPort, endpoints) + demoServiceSql(demoService, 'inventory-user'));
    const persist = join(dir, 'wrangler');
    await runWrangler(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persist], join(logs, 'd1.log'), 'd1 migrations');
    mark('d1-migrations');
    await runWrangler(['d1', 'execute', 'DB', '--local', '--persist-to', persist, '--file', seedFile], join(logs, 'd1.log'), 'd1 seed');
    mark('d1-seed');

    const output = (name: string) => (line: string) => options.onOutput?.(name, line);
    const gateway = startChild({
      name: 'gateway',
      command: process.execPath,
      args: [...WRANGLER_NODE_ARGS, 'dev', '--ip', HOST, '--port', String(gatewayPort),
        '--inspector-port', String(await freePort(HOST)),
        '--persist-to', persist, '--env-file', join(dir, 'gateway.env'),
        '--show-interactive-dev-session=false',
        ...(options.wranglerConfig ? ['--config', options.wranglerConfig] : [])],
      cwd: REPO_ROOT,
      env: wranglerEnv(),
      logFile: join(logs, 'gateway.log'),
      onLine: output('gateway'),
    });
    children.push(gateway);
    const jwks = `${origin}/.well-known/jwks.json`;

    await waitForOk(jwks, { timeout: options.gatewayTimeoutMs ?? 120_000, child: gateway, what: 'gateway (wrangler dev)' });
    mark('gateway');

    // Guards start once the JWKS answers: a guard that starts first refuses
    // everything and retries the JWKS every ~2 s (fail closed, DESIGN §6), which
    // made start-up slower than starting them now.
    const guards = {} as Record<WorkloadId, Child>;
    for (const w of WORKLOADS) {
      guards[w.id] = spawnGuard({
        name: `guard-${w.id}`,
        issuer: origin,
        jwksUrl: jwks,
        audience: w.id,
        upstream: `unix:${apps[w.id].socketPath}`,
        port: guardPorts[w.id],
        logFile: join(logs, `guard-${w.id}.log`),
        onLine: output(`guard-${w.id}`),
      });
      children.push(guards[w.id]);
    }
    await Promise.all(WORKLOADS.map((w) => waitForOk(`http://${HOST}:${guardPorts[w.id]}/.tollgate/healthz`, {
      timeout: 30_000, child: guards[w.id], what: `${w.id} guard`,
    })));
    mark('guards');

    const adminToken = await writeDemoAdminToken(join(dir, 'demo-admin-token'), { origin, idpIssuer: idp.issuer, secrets });
    mark('admin-token');

    const info: StackInfo = {
      origin,
      gateway: { port: gatewayPort, pid: gateway.pid, jwks },
      idp: { issuer: idp.issuer, port: idp.port, clientId: CLIENT_ID },
      users: DEMO_USERS.map((u: DemoUser) => ({ username: u.username, password: u.password, email: u.email, groups: [...u.groups] })),
      workloads: WORKLOADS.map((w) => ({
        id: w.id,
        title: w.title,
        host: workloadHost(w.id, gatewayPort),
        url: `http://${workloadHost(w.id, gatewayPort)}/`,
        endpoint: endpoints[w.id],
        guard: { port: guardPorts[w.id], url: `http://${HOST}:${guardPorts[w.id]}`, pid: guards[w.id].pid },
        app: { socket: apps[w.id].socketPath },
      })),
      dir,
      logs,
      pids: { stack: process.pid, gateway: gateway.pid, guards: Object.fromEntries(WORKLOADS.map((w) => [w.id, guards[w.id].pid])) },
      adminToken: { file: adminToken.file, expiresAt: adminToken.expiresAt, subject: adminToken.subject },
      demoService: { file: demoService.file, clientId: demoService.clientId, tokenEndpoint: demoService.tokenEndpoint },
      startedAt: new Date(t0).toISOString(),
      readyMs: Date.now() - t0,
      phases,
    };
    writeFileSync(join(dir, 'stack.json'), `${JSON.stringify(info, null, 2)}\n`);
    return { ...info, demoAdminToken: adminToken.token, demoServiceSecret: demoService.clientSecret, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export function workloadHost(id: WorkloadId, gatewayPort: number): string {
  return `${id}.localhost:${gatewayPort}`;
}

/**
 * One stack per state directory: a second one would re-seed the first one's D1
 * and overwrite its env file. The lock names the holder's pid; a stale lock (its
 * process is gone) is taken over.
 */
function lockDir(dir: string): void {
  const file = join(dir, 'stack.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) {
        throw new Error(`another Tollgate stack (pid ${pid}) is using ${dir}; stop it first, or use --dir`);
      }
      rmSync(file, { force: true });
    }
  }
  throw new Error(`could not lock ${dir}`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// ---------------------------------------------------------------- secrets and config

/** Lifetime of the demo admin token: the maximum for admin access tokens (8 h). */
export const DEMO_ADMIN_TOKEN_SECONDS = 8 * 3600;

/**
 * The demo admin access token: a Tollgate access token (RFC 9068) for the demo
 * `admin` user — its Tollgate subject, groups ["admins"] (bound to the
 * `tollgate-admin` role by the seed), 8 h — signed with the dev signing key
 * from secrets.json, for curl against /admin/v1. Written 0600; never committed
 * (.tollgate/ is git-ignored).
 */
async function writeDemoAdminToken(file: string, c: { origin: string; idpIssuer: string; secrets: Secrets }): Promise<{ token: string; file: string; expiresAt: number; subject: string }> {
  const user = DEMO_USERS.find((u) => u.username === 'admin');
  if (!user) throw new Error('the demo users have no "admin"');
  const ring = await loadKeyRing(c.secrets.signingJwks as never, String(c.secrets.signingJwks.keys[0]?.kid ?? ''));
  const subject = await userSubject(c.idpIssuer, user.username);
  const now = Date.now();
  const token = await mintAccessToken(
    {
      issuer: c.origin,
      audience: `${c.origin}/admin/v1`,
      subject,
      clientId: 'tollgate-demo',
      lifetimeSeconds: DEMO_ADMIN_TOKEN_SECONDS,
      groups: [...user.groups],
      email: user.email,
    },
    ring.active,
    { now, random: cryptoRandom },
  );
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { token, file, expiresAt: Math.floor(now / 1000) + DEMO_ADMIN_TOKEN_SECONDS, subject };
}

/** Generated on first start and reused, so sessions survive a restart. Never committed (.tollgate/ is git-ignored). */
async function loadSecrets(file: string): Promise<Secrets> {
  if (existsSync(file)) {
    const s = JSON.parse(readFileSync(file, 'utf8')) as Partial<Secrets>;
    if (s.signingJwks?.keys?.length && s.sessionSecret && s.idpClientSecret) return s as Secrets;
    throw new Error(`${file} is incomplete; delete it to generate new secrets`);
  }
  const s: Secrets = {
    signingJwks: { keys: [await generateSigningJwk('EdDSA') as Record<string, unknown>] },
    sessionSecret: randomBytes(32).toString('base64url'),
    idpClientSecret: randomBytes(32).toString('base64url'),
  };
  writeFileSync(file, `${JSON.stringify(s, null, 2)}\n`, { mode: 0o600 });
  return s;
}

function writeGatewayEnv(file: string, c: { origin: string; issuer: string; secrets: Secrets }): void {
  const vars: Record<string, string> = {
    TOLLGATE_ORIGIN: c.origin,
    OIDC_ISSUER: c.issuer,
    OIDC_CLIENT_ID: CLIENT_ID,
    OIDC_CLIENT_SECRET: c.secrets.idpClientSecret,
    SESSION_SECRET: c.secrets.sessionSecret,
    SIGNING_KEYS: JSON.stringify(c.secrets.signingJwks),
    SIGNING_KID: String(c.secrets.signingJwks.keys[0]?.kid ?? ''),
    // Trusted issuers on loopback (the demo IdP) may be registered in the demo; never in production.
    ALLOW_INSECURE_ISSUERS: 'loopback',
  };
  // dotenv: single quotes keep the JSON's double quotes literal.
  const body = Object.entries(vars).map(([k, v]) => `${k}='${v}'`).join('\n');
  writeFileSync(file, `# generated by scripts/stack.ts on every start; do not edit, never commit\n${body}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

const sql = (v: string) => `'${v.replace(/'/g, "''")}'`;

/** The demo catalog and roles. Idempotent: the demo rows are replaced on every start (ports may change). */
export function seedSql(gatewayPort: number, endpoints: Record<WorkloadId, string>): string {
  const ids = WORKLOADS.map((w) => sql(w.id)).join(', ');
  const roles = [
    { id: 'inventory-user', description: 'Use the inventory app', permissions: [] as string[], grant: 'inventory' },
    { id: 'billing-user', description: 'Use the billing app', permissions: [], grant: 'billing' },
    { id: 'tollgate-admin', description: 'Administer Tollgate (admin API)', permissions: ['admin'], grant: undefined },
  ];
  const bindings: [string, string, string][] = [
    ['demo-engineering-inventory', 'engineering', 'inventory-user'],
    ['demo-contractors-inventory', 'contractors', 'inventory-user'],
    ['demo-admins-inventory', 'admins', 'inventory-user'],
    ['demo-admins-billing', 'admins', 'billing-user'],
    ['demo-admins-admin', 'admins', 'tollgate-admin'],
  ];
  const roleIds = roles.map((r) => sql(r.id)).join(', ');
  return `-- generated by scripts/stack.ts: the demo catalog and roles
DELETE FROM bindings WHERE role_id IN (${roleIds});
DELETE FROM grants WHERE role_id IN (${roleIds});
DELETE FROM roles WHERE id IN (${roleIds});
DELETE FROM endpoints WHERE workload_id IN (${ids});
DELETE FROM workload_hosts WHERE workload_id IN (${ids});
DELETE FROM workloads WHERE id IN (${ids});
${WORKLOADS.map((w) => `INSERT INTO workloads (id, name) VALUES (${sql(w.id)}, ${sql(w.title)});
INSERT INTO workload_hosts (host, workload_id) VALUES (${sql(workloadHost(w.id, gatewayPort))}, ${sql(w.id)});
INSERT INTO endpoints (id, workload_id, url, location, source, health) VALUES (${sql(`${w.id}-local`)}, ${sql(w.id)}, ${sql(endpoints[w.id])}, 'onprem', 'static', 'unknown');`).join('\n')}
${roles.map((r) => `INSERT INTO roles (id, description, permissions) VALUES (${sql(r.id)}, ${sql(r.description)}, ${sql(JSON.stringify(r.permissions))});`).join('\n')}
${roles.filter((r) => r.grant).map((r) => `INSERT INTO grants (id, role_id, workload, methods, paths, conditions) VALUES (${sql(`${r.id}-all`)}, ${sql(r.id)}, ${sql(r.grant ?? '')}, '["*"]', '["/**"]', '{}');`).join('\n')}
${bindings.map(([id, group, role]) => `INSERT INTO bindings (id, subject_kind, subject, role_id, reason) VALUES (${sql(id)}, 'group', ${sql(group)}, ${sql(role)}, 'demo');`).join('\n')}
UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'policy_version';
`;
}

// ---------------------------------------------------------------- processes

function wranglerEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: 'false',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    // No interactive prompts, no colour codes in the log files.
    CI: process.env.CI ?? 'true',
    FORCE_COLOR: '0',
    NO_COLOR: '1',
  };
}

export interface GuardProcessOptions {
  name: string;
  issuer: string;
  jwksUrl: string;
  audience: string;
  /** `http://…` or `unix:/path.sock`. */
  upstream: string;
  port: number;
  logFile: string;
  onLine?: (line: string) => void;
}

/** `node --import tsx functions/guard.ts`, configured by environment (DESIGN §6). */
export function spawnGuard(o: GuardProcessOptions): Child {
  // Only what a guard needs: none of the gateway's secrets.
  const { PATH, HOME, TMPDIR } = process.env;
  return startChild({
    name: o.name,
    command: process.execPath,
    args: ['--import', 'tsx', join(REPO_ROOT, 'functions', 'guard.ts')],
    cwd: REPO_ROOT,
    env: {
      ...(PATH ? { PATH } : {}),
      ...(HOME ? { HOME } : {}),
      ...(TMPDIR ? { TMPDIR } : {}),
      TOLLGATE_ISSUER: o.issuer,
      TOLLGATE_JWKS_URL: o.jwksUrl,
      TOLLGATE_AUDIENCE: o.audience,
      TOLLGATE_UPSTREAM: o.upstream,
      PORT: String(o.port),
      HOST,
    },
    logFile: o.logFile,
    onLine: o.onLine,
  });
}

async function runWrangler(args: string[], logFile: string, what: string): Promise<void> {
  const child = startChild({ name: what, command: process.execPath, args: [...WRANGLER_NODE_ARGS, ...args], cwd: REPO_ROOT, env: wranglerEnv(), logFile });
  const code = await child.exited;
  if (code !== 0) throw new Error(`${what} failed (${code}):\n${child.tail()}`);
}

function appendJsonLine(file: string): (event: IdpLogEvent) => void {
  return (event) => {
    try {
      writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), ...event })}\n`, { flag: 'a', mode: 0o600 });
    } catch {
      // logging must never break the IdP
    }
  };
}
