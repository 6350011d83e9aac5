// The demo workload on its own: Unix socket only, identity headers rendered escaped.
import http from 'node:http';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoApp, type RunningDemoApp } from '../../scripts/demo-app/index.js';

function request(socketPath: string, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request({ socketPath, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('demo app', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-app-'));
  const socket = join(dir, 'apps', 'inventory.sock');
  let app: RunningDemoApp;
  beforeAll(async () => {
    app = await startDemoApp({ socketPath: socket, title: 'Inventory' });
  });
  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens on a socket only this user may open', () => {
    expect(statSync(socket).isSocket()).toBe(true);
    expect(statSync(socket).mode & 0o077).toBe(0);
  });

  it('renders the identity the guard passed, escaped, with a sign-out form', async () => {
    const res = await request(socket, 'GET', '/x?y=1', {
      'tollgate-user': 'user:abc:<alice>',
      'tollgate-email': 'alice@example.com',
      'tollgate-roles': 'inventory-user,other',
      'tollgate-device-trust': 'low',
    });
    expect(res.status).toBe(200);
    expect(res.body).toContain('<h1>Inventory</h1>');
    expect(res.body).toContain('verified by the Tollgate guard');
    expect(res.body).toContain('user:abc:&#60;alice&#62;');
    expect(res.body).not.toContain('<alice>');
    expect(res.body).toContain('inventory-user, other');
    expect(res.body).toContain('<form method="post" action="/.tollgate/logout">');
  });

  it('says so when no identity arrived', async () => {
    const res = await request(socket, 'GET', '/');
    expect(res.body).toContain('No verified identity');
  });

  it('echoes identity and the raw target as JSON', async () => {
    const res = await request(socket, 'GET', '/api/whoami?a=%2F..', { 'tollgate-user': 'user:h:bob', 'tollgate-roles': 'r1' });
    expect(JSON.parse(res.body)).toMatchObject({ workload: 'inventory', user: 'user:h:bob', roles: ['r1'], method: 'GET', target: '/api/whoami?a=%2F..' });
  });

  it('hashes a streamed body', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024, 7);
    const res = await request(socket, 'POST', '/api/echo', { 'content-type': 'application/octet-stream' }, body);
    const { createHash } = await import('node:crypto');
    expect(JSON.parse(res.body)).toEqual({ bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') });
  });

  it('streams N bytes', async () => {
    const res = await request(socket, 'GET', '/api/bytes?n=100000');
    expect(res.body.length).toBe(100000);
    expect((await request(socket, 'GET', '/api/bytes?n=-1')).status).toBe(400);
  });
});
