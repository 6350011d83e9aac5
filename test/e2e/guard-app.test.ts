// A guard process in front of a demo app, exactly as the stack wires them
// (spawnGuard, unix socket upstream), against a hand-made JWKS: no gateway.
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoApp, type RunningDemoApp } from '../../scripts/demo-app/index.js';
import { freePort, waitForOk } from '../../scripts/lib/net.js';
import type { Child } from '../../scripts/lib/processes.js';
import { spawnGuard } from '../../scripts/stack.js';
import { cryptoRandom } from '../../src/platform/index.js';
import { generateSigningJwk, loadKeyRing, mintAssertion, type KeyRing } from '../../src/token/index.js';
import { rawRequest } from '../support/http.js';

const ISSUER = 'http://127.0.0.1:1';

describe('guard in front of a demo app (hand-made JWKS)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-guard-'));
  let ring: KeyRing;
  let jwksServer: http.Server;
  let app: RunningDemoApp;
  let guard: Child;
  let port: number;

  beforeAll(async () => {
    ring = await loadKeyRing({ keys: [await generateSigningJwk('EdDSA')] });
    jwksServer = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(ring.jwks)));
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    app = await startDemoApp({ socketPath: join(dir, 'inventory.sock'), title: 'Inventory', workload: 'inventory' });
    port = await freePort();
    guard = spawnGuard({
      name: 'guard',
      issuer: ISSUER,
      jwksUrl: `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`,
      audience: 'inventory',
      upstream: `unix:${app.socketPath}`,
      port,
      logFile: join(dir, 'guard.log'),
    });
    await waitForOk(`http://127.0.0.1:${port}/.tollgate/healthz`, { timeout: 20_000, child: guard, what: 'guard' });
  });

  afterAll(async () => {
    await guard?.stop();
    await app?.close();
    await new Promise((r) => jwksServer?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const mint = (method: string, target: string, audience = 'inventory') => mintAssertion({
    issuer: ISSUER, audience, subject: 'user:abcdefabcdef:alice', requestId: 'rid-1', method, target,
    roles: ['inventory-user'], email: 'alice@example.com', sessionId: 'sid-1',
  }, ring.active, { now: Date.now(), random: cryptoRandom });

  it('passes a verified identity to the app, once', async () => {
    const target = '/api/whoami?x=%2e%2E/a';
    const assertion = await mint('GET', target);
    const res = await rawRequest(port, 'GET', target, { 'tollgate-assertion': assertion, 'tollgate-user': 'forged' });
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body);
    expect(body).toMatchObject({ user: 'user:abcdefabcdef:alice', email: 'alice@example.com', roles: ['inventory-user'], target });
    expect(body.headers['tollgate-assertion']).toBeUndefined();

    const replay = await rawRequest(port, 'GET', target, { 'tollgate-assertion': assertion });
    expect(replay.status).toBe(401);
    expect(replay.headers['content-type']).toMatch(/application\/problem\+json/);
  });

  it('refuses no assertion, another audience and another target', async () => {
    expect((await rawRequest(port, 'GET', '/')).status).toBe(401);
    expect((await rawRequest(port, 'GET', '/', { 'tollgate-assertion': await mint('GET', '/', 'billing') })).status).toBe(401);
    expect((await rawRequest(port, 'GET', '/b', { 'tollgate-assertion': await mint('GET', '/a') })).status).toBe(401);
  });

  it('streams a request body to the app', async () => {
    const body = Buffer.alloc(2 * 1024 * 1024, 1);
    const res = await rawRequest(port, 'POST', '/api/echo', { 'tollgate-assertion': await mint('POST', '/api/echo') }, body);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).bytes).toBe(body.length);
  });
});
