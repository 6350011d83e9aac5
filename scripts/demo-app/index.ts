/**
 * A tiny demo workload. It listens on a Unix socket only, so the one way in is
 * through its guard, and it trusts the `Tollgate-*` headers for exactly that
 * reason: the guard strips whatever the client sent and sets them from a
 * verified assertion (DESIGN §6).
 *
 *   GET  /            HTML page: the identity the guard passed, a sign-out button
 *   GET  /api/whoami  JSON echo of the identity, method, raw target and headers
 *   POST /api/echo    streams the body; answers {bytes, sha256}
 *   GET  /api/bytes?n=N  streams N bytes (at most 64 MiB) of a fixed pattern
 *
 * Run in-process with startDemoApp(), or as a program:
 *   tsx scripts/demo-app/index.ts --socket .tollgate/apps/inventory.sock --title Inventory
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface DemoAppOptions {
  /** Unix socket path; a stale socket file is removed first. */
  socketPath: string;
  /** Shown as the page heading, e.g. "Inventory". */
  title: string;
  /** Workload id, echoed by /api/whoami. Default: the title in lower case. */
  workload?: string;
}

export interface RunningDemoApp {
  socketPath: string;
  close(): Promise<void>;
}

const MAX_STREAM_BYTES = 64 * 1024 * 1024;

export async function startDemoApp(options: DemoAppOptions): Promise<RunningDemoApp> {
  const workload = options.workload ?? options.title.toLowerCase();
  const server = http.createServer((req, res) => {
    handle(req, res, options.title, workload).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error');
    });
  });
  mkdirSync(dirname(options.socketPath), { recursive: true, mode: 0o700 });
  rmSync(options.socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Only this user (the guard runs as the same user) may connect.
  chmodSync(options.socketPath, 0o600);
  return {
    socketPath: options.socketPath,
    close: () => new Promise<void>((resolve) => {
      server.close(() => {
        rmSync(options.socketPath, { force: true });
        resolve();
      });
      server.closeAllConnections();
    }),
  };
}

interface Identity {
  user?: string;
  email?: string;
  roles: string[];
  deviceTrust?: string;
}

function identityOf(req: http.IncomingMessage): Identity {
  const one = (name: string): string | undefined => {
    const v = req.headers[name];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const roles = one('tollgate-roles');
  return {
    user: one('tollgate-user'),
    email: one('tollgate-email'),
    roles: roles ? roles.split(',').map((r) => r.trim()).filter(Boolean) : [],
    deviceTrust: one('tollgate-device-trust'),
  };
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse, title: string, workload: string): Promise<void> {
  // The raw target, exactly as the guard forwarded it.
  const target = req.url ?? '/';
  const path = target.split('?', 1)[0] ?? '/';
  const id = identityOf(req);

  if (path === '/api/whoami') {
    return json(res, 200, {
      workload,
      ...id,
      method: req.method,
      target,
      headers: req.headers,
    });
  }

  if (path === '/api/echo') {
    if (req.method !== 'POST') return json(res, 405, { error: 'method not allowed' }, { allow: 'POST' });
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      hash.update(chunk);
    }
    return json(res, 200, { bytes, sha256: hash.digest('hex') });
  }

  if (path === '/api/bytes') {
    const n = Number(new URLSearchParams(target.slice(path.length + 1)).get('n') ?? '0');
    if (!Number.isSafeInteger(n) || n < 0 || n > MAX_STREAM_BYTES) return json(res, 400, { error: 'n must be 0..67108864' });
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(n) });
    const block = Buffer.alloc(64 * 1024, 'tollgate ');
    for (let left = n; left > 0; left -= block.length) {
      if (!res.write(left >= block.length ? block : block.subarray(0, left))) {
        await new Promise((resolve) => res.once('drain', resolve));
      }
    }
    res.end();
    return undefined;
  }

  if (path.startsWith('/api/')) return json(res, 404, { error: 'not found' });
  if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
  const html = page(title, id, target);
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    // No form-action: the sign-out post is redirected on to the IdP, and Chromium
    // applies form-action to those redirects too.
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  });
  res.end(req.method === 'HEAD' ? undefined : html);
  return undefined;
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

function page(title: string, id: Identity, target: string): string {
  const row = (label: string, value: string | undefined, testId: string) =>
    `<tr><th>${esc(label)}</th><td data-testid="${testId}">${value === undefined ? '<em>absent</em>' : esc(value)}</td></tr>`;
  const identity = id.user
    ? `<p class="verified" data-testid="verified">✔ Identity verified by the Tollgate guard</p>
<table>
${row('User', id.user, 'user')}
${row('Email', id.email, 'email')}
${row('Roles', id.roles.length ? id.roles.join(', ') : undefined, 'roles')}
${row('Device trust', id.deviceTrust, 'device-trust')}
</table>`
    : '<p class="missing" data-testid="verified">No verified identity: this request did not come through the guard.</p>';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Tollgate demo</title>
<style>body{font-family:system-ui,sans-serif;margin:0;background:#f6f7f9}
header{background:#1f3a5f;color:#fff;padding:1rem 2rem}main{padding:1rem 2rem;max-width:48rem}
table{border-collapse:collapse;margin:1rem 0}th,td{text-align:left;padding:.4rem 1rem .4rem 0;border-bottom:1px solid #ddd}
.verified{color:#17692f;font-weight:600}.missing{color:#a00}code{background:#eee;padding:0 .2rem}</style></head>
<body><header><h1>${esc(title)}</h1></header>
<main>
${identity}
<p>Request: <code data-testid="target">${esc(target)}</code></p>
<form method="post" action="/.tollgate/logout"><button type="submit">Sign out</button></form>
</main></body></html>`;
}

function esc(v: string): string {
  return v.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function main(argv: string[]): Promise<void> {
  const arg = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const socketPath = arg('socket');
  const title = arg('title');
  if (!socketPath || !title) {
    process.stderr.write('usage: demo-app --socket <path> --title <Title> [--workload <id>]\n');
    process.exit(2);
  }
  const app = await startDemoApp({ socketPath, title, workload: arg('workload') });
  process.stdout.write(`${JSON.stringify({ event: 'demo-app.listening', socket: socketPath })}\n`);
  const stop = () => void app.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  void main(process.argv.slice(2));
}
