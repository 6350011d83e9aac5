// Services against the running stack (IdP, gateway under wrangler dev, real
// guards, demo apps): a Node OAuth client (openid-client's
// clientCredentialsGrant) gets a token for the demo service account and calls
// a guarded workload through the gateway; token exchange for a direct call
// to a guard; east-west end to end — A's identity decides A → B, A's
// assertion is refused at B's guard, a token for B is refused at C.
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackFetch, rawRequest } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

const ASSERTION = 'urn:tollgate:token-type:assertion';
const AT = 'urn:ietf:params:oauth:token-type:access_token';
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

interface WhoAmI {
  workload: string;
  user?: string;
  roles: string[];
  target: string;
  headers: Record<string, string>;
}

async function oauthClient(clientId: string, secret: string): Promise<client.Configuration> {
  // The gateway origin is on 127.0.0.1 over http in the demo: allowed for loopback only.
  return client.discovery(new URL(stack.origin), clientId, undefined, client.ClientSecretBasic(secret), {
    algorithm: 'oauth2',
    execute: [client.allowInsecureRequests],
  });
}

async function admin(method: string, path: string, body?: unknown, ifMatch?: string): Promise<Response> {
  const res = await loopbackFetch(`${stack.origin}/admin/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${stack.demoAdminToken}`,
      accept: 'application/json',
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(ifMatch ? { 'if-match': ifMatch } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return res as unknown as Response;
}

function onWorkload(id: 'inventory' | 'billing', path: string, token: string) {
  return loopbackFetch(`${stack.workload(id).url.replace(/\/$/, '')}${path}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
}

async function exchange(params: Record<string, string>): Promise<Response> {
  return (await loopbackFetch(`${stack.origin}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: EXCHANGE, ...params }).toString(),
  })) as unknown as Response;
}

describe('the demo service account with a real OAuth client', () => {
  it('npm start wrote its credentials under the state directory', async () => {
    const { readFileSync, statSync } = await import('node:fs');
    const file = JSON.parse(readFileSync(stack.demoService.file, 'utf8')) as Record<string, string>;
    expect(file).toMatchObject({ client_id: 'demo-service', client_secret: stack.demoServiceSecret, token_endpoint: `${stack.origin}/oauth/token` });
    expect(statSync(stack.demoService.file).mode & 0o077).toBe(0);
  });

  it('clientCredentialsGrant → a bearer token → the guarded inventory app sees service:demo-service', async () => {
    const config = await oauthClient('demo-service', stack.demoServiceSecret);
    expect(config.serverMetadata().token_endpoint).toBe(`${stack.origin}/oauth/token`);
    const tokens = await client.clientCredentialsGrant(config);
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.expires_in).toBeLessThanOrEqual(900);
    const res = await onWorkload('inventory', '/api/whoami?via=bearer', tokens.access_token);
    expect(res.status).toBe(200);
    const who = (await res.json()) as WhoAmI;
    expect(who).toMatchObject({ workload: 'inventory', user: 'service:demo-service', roles: ['inventory-user'], target: '/api/whoami?via=bearer' });
    // The guard stripped the assertion; the caller's Authorization never reached the app.
    expect(who.headers.authorization).toBeUndefined();
    expect(who.headers['tollgate-assertion']).toBeUndefined();
    // The demo service may not use billing.
    const billing = await onWorkload('billing', '/api/whoami', tokens.access_token);
    expect(billing.status).toBe(403);
    expect(((await billing.json()) as { reasons: string[] }).reasons).toEqual(['no-matching-grant']);
  });

  it('a token bound to inventory (resource) works there', async () => {
    const config = await oauthClient('demo-service', stack.demoServiceSecret);
    const tokens = await client.clientCredentialsGrant(config, { resource: stack.workload('inventory').url });
    expect((await onWorkload('inventory', '/api/whoami', tokens.access_token)).status).toBe(200);
  });

  it('a wrong secret is refused by the token endpoint (invalid_client)', async () => {
    const config = await oauthClient('demo-service', `tgs_${'A'.repeat(43)}`);
    await expect(client.clientCredentialsGrant(config)).rejects.toMatchObject({ status: 401 });
  });

  it('token exchange → a per-request assertion for a direct call to the inventory guard, usable once', async () => {
    const tokens = await client.clientCredentialsGrant(await oauthClient('demo-service', stack.demoServiceSecret));
    const res = await exchange({ subject_token: tokens.access_token, subject_token_type: AT, requested_token_type: ASSERTION, audience: 'inventory', htm: 'GET', htu: '/api/whoami?direct=1' });
    expect(res.status).toBe(200);
    const { access_token: assertion, issued_token_type } = (await res.json()) as { access_token: string; issued_token_type: string };
    expect(issued_token_type).toBe(ASSERTION);
    const guard = stack.workload('inventory').guard.port;
    const first = await rawRequest(guard, 'GET', '/api/whoami?direct=1', { 'tollgate-assertion': assertion });
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toMatchObject({ user: 'service:demo-service', target: '/api/whoami?direct=1' });
    expect((await rawRequest(guard, 'GET', '/api/whoami?direct=1', { 'tollgate-assertion': assertion })).status).toBe(401);
  });
});

describe('east-west, end to end', () => {
  let aSecret = '';

  beforeAll(async () => {
    // Workload A (inventory)'s own service identity.
    const res = await admin('POST', '/service-accounts', { id: 'inventory-svc', name: 'Inventory service identity' });
    expect(res.status).toBe(201);
    aSecret = ((await res.json()) as { client_secret: string }).client_secret;
    expect((await admin('POST', '/bindings', { id: 'inventory-svc-self', subject: { kind: 'service', value: 'inventory-svc' }, role_id: 'inventory-user' })).status).toBe(201);
  });

  it('A calling B through the gateway is decided on A’s identity: no grant → 403; grant → B sees service:inventory-svc', async () => {
    const config = await oauthClient('inventory-svc', aSecret);
    const token = (await client.clientCredentialsGrant(config)).access_token;
    expect((await onWorkload('billing', '/api/whoami', token)).status).toBe(403);
    expect((await admin('POST', '/bindings', { id: 'inventory-svc-billing', subject: { kind: 'service', value: 'inventory-svc' }, role_id: 'billing-user' })).status).toBe(201);
    // The binding reaches the gateway within POLICY_REFRESH_SECONDS (local KV is instant).
    let res = await onWorkload('billing', '/api/whoami', token);
    for (let i = 0; i < 40 && res.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 250));
      res = await onWorkload('billing', '/api/whoami', token);
    }
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ workload: 'billing', user: 'service:inventory-svc', roles: ['billing-user'] });
  });

  it('A’s per-request assertion replayed at B’s guard is refused', async () => {
    const token = (await client.clientCredentialsGrant(await oauthClient('inventory-svc', aSecret))).access_token;
    const r = await exchange({ subject_token: token, subject_token_type: AT, requested_token_type: ASSERTION, audience: 'inventory', htm: 'GET', htu: '/api/whoami' });
    const { access_token: assertion } = (await r.json()) as { access_token: string };
    const atB = await rawRequest(stack.workload('billing').guard.port, 'GET', '/api/whoami', { 'tollgate-assertion': assertion });
    expect(atB.status).toBe(401);
    expect(atB.headers['content-type']).toMatch(/problem\+json/);
    // At A's own guard it was (and is, once) good.
    expect((await rawRequest(stack.workload('inventory').guard.port, 'GET', '/api/whoami', { 'tollgate-assertion': assertion })).status).toBe(200);
  });

  it('a token issued for B’s audience cannot be used for C (another workload), nor exchanged for it', async () => {
    const config = await oauthClient('inventory-svc', aSecret);
    const forB = (await client.clientCredentialsGrant(config, { audience: 'billing' })).access_token;
    expect((await onWorkload('billing', '/api/whoami', forB)).status).toBe(200);
    const atC = await onWorkload('inventory', '/api/whoami', forB);
    expect(atC.status).toBe(401);
    expect(atC.headers.get('www-authenticate')).toMatch(/invalid_token/);
    const ex = await exchange({ subject_token: forB, subject_token_type: AT, audience: 'inventory' });
    expect(ex.status).toBe(400);
    expect(((await ex.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('disabling A’s service account stops its tokens at the gateway', async () => {
    const token = (await client.clientCredentialsGrant(await oauthClient('inventory-svc', aSecret))).access_token;
    expect((await onWorkload('inventory', '/api/whoami', token)).status).toBe(200);
    const get = await admin('GET', '/service-accounts/inventory-svc');
    const up = await admin('PUT', '/service-accounts/inventory-svc', { disabled: true }, get.headers.get('etag')!);
    expect(up.status).toBe(200);
    let status = 200;
    for (let i = 0; i < 30 && status === 200; i++) {
      status = (await onWorkload('inventory', '/api/whoami', token)).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toBe(401);
  });
});
