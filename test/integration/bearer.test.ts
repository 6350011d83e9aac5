/**
 * Services calling workloads through the gateway with `Authorization: Bearer`
 * (DESIGN §3 "Service"): the same decision as users (subject kind service),
 * the same per-request assertion, no redirects, the caller's Authorization
 * kept from the workload unless it asks, audience binding, revocation within
 * the bound — and east-west: A's identity decides A → B; no lateral movement.
 */
import { env } from 'cloudflare:workers';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildGateway } from '../../functions/gateway.js';
import { memoryAuditSink, type DecisionEvent } from '../../src/audit/index.js';
import { createReplayCache, createStaticKeySource, verifyAssertion } from '../../src/guard/index.js';
import { fixedClock, silentLogger } from '../../src/platform/index.js';
import { call, keyRing, seedAdminRoles } from './support/admin.js';
import { gw, hostSession, signIn } from './support/client.js';
import { BILLING, GATEWAY_ORIGIN, INVENTORY } from './support/constants.js';
import type { Echo } from './support/echo.js';
import { ASSERTION, AT, EXCHANGE, bearer, bind, claimsOf, clientToken, createAccount, tokenRequest, type Account } from './support/services.js';

const REPORTS = 'reports.localhost:8787';

let svcA: Account; // the identity of workload A (inventory)
let outsider: Account;

async function echo(res: Response): Promise<Echo> {
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text) as Echo;
}

async function assertionOf(e: Echo): Promise<Record<string, unknown>> {
  const a = e.headers['tollgate-assertion'];
  expect(a).toHaveLength(1);
  const { payload } = await jwtVerify(a![0]!, createLocalJWKSet((await keyRing()).jwks), { issuer: GATEWAY_ORIGIN, typ: 'tollgate-assertion+jwt' });
  return payload as Record<string, unknown>;
}

beforeAll(async () => {
  await seedAdminRoles();
  // Workload C ("reports") next to A (inventory) and B (billing), on the same recording upstream.
  const w = await call('POST', '/workloads', { body: { id: 'reports', name: 'Reports', hosts: [REPORTS], endpoints: [{ id: 'reports-1', url: env.TEST_UPSTREAM_URL }] } });
  expect(w.status, await w.text()).toBe(201);
  const role = await call('POST', '/roles', { body: { id: 'reports-reader', grants: [{ id: 'read', workload: 'reports', methods: ['GET'], paths: ['/**'] }] } });
  expect(role.status, await role.text()).toBe(201);
  svcA = await createAccount('svc-inventory');
  await bind('svc-inventory', 'inventory-user');
  outsider = await createAccount('svc-outsider');
});

describe('bearer requests on a workload host', () => {
  it('a gateway token: same decision, same assertion (sub service:<id>), Authorization not forwarded', async () => {
    const t = await clientToken(svcA);
    const e = await echo(await bearer(INVENTORY, '/items?x=1', t));
    const a = await assertionOf(e);
    expect(a).toMatchObject({ aud: 'inventory', sub: 'service:svc-inventory', htm: 'GET', htu: '/items?x=1', roles: ['inventory-user'] });
    expect(a).not.toHaveProperty('sid');
    expect(e.headers.authorization).toBeUndefined();
    expect(e.target).toBe('/items?x=1');
  });

  it('the workload setting forward_authorization lets the caller’s Authorization through', async () => {
    const get = await call('GET', '/workloads/reports');
    const w = (await get.json()) as Record<string, unknown>;
    expect(w.forward_authorization).toBe(false);
    const up = await call('PUT', '/workloads/reports', { body: { name: w.name, hosts: w.hosts, endpoints: w.endpoints, forward_authorization: true }, ifMatch: get.headers.get('etag')! });
    const upText = await up.text();
    expect(up.status, upText).toBe(200);
    expect((JSON.parse(upText) as Record<string, unknown>).forward_authorization).toBe(true);
    await bind('svc-inventory', 'reports-reader');
    const t = await clientToken(svcA);
    const e = await echo(await bearer(REPORTS, '/r', t));
    expect(e.headers.authorization).toEqual([`Bearer ${t}`]);
  });

  it('an invalid token: 401 with WWW-Authenticate error=invalid_token — also for a browser (no redirect)', async () => {
    for (const accept of ['application/json', 'text/html']) {
      const res = await gw(`http://${INVENTORY}/items`, { headers: { accept, authorization: 'Bearer not.a.token' } });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="tollgate", error="invalid_token"');
      expect(res.headers.get('location')).toBeNull();
    }
  });

  it('denied by policy: 403 problem+json with reason codes', async () => {
    const t = await clientToken(outsider);
    const res = await bearer(INVENTORY, '/items', t, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(((await res.json()) as { reasons: string[] }).reasons).toEqual(['no-matching-grant']);
  });

  it('a request with a gateway session cookie keeps the session path (its app may use Authorization itself)', async () => {
    const session = await hostSession(await signIn('alice'), INVENTORY);
    const e = await echo(await gw(`http://${INVENTORY}/x`, { headers: { accept: 'application/json', cookie: `tg_session=${session}`, authorization: 'Bearer app-own-token' } }));
    expect((await assertionOf(e)).sub).toMatch(/^user:/);
    expect(e.headers.authorization).toEqual(['Bearer app-own-token']);
  });

  it('decisions on the bearer path are audit records with a service subject', async () => {
    const audit = memoryAuditSink();
    const app = await buildGateway(env, { audit, logger: silentLogger });
    const t = await clientToken(svcA);
    const ok = await app.fetch(new Request(`http://${INVENTORY}/audited`, { headers: { authorization: `Bearer ${t}` } }));
    expect(ok.status).toBe(200);
    const bad = await app.fetch(new Request(`http://${INVENTORY}/audited`, { headers: { authorization: 'Bearer x.y.z' } }));
    expect(bad.status).toBe(401);
    await audit.settled();
    const decisions = audit.events.filter((e): e is DecisionEvent => e.kind === 'decision');
    expect(decisions[0]).toMatchObject({ subject: 'service:svc-inventory', decision: 'allow', workload: 'inventory', input: { subject: { kind: 'service', id: 'service:svc-inventory', sub: 'svc-inventory' } } });
    expect(decisions[0]!.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(decisions[1]).toMatchObject({ decision: 'deny', reasons: ['no-session'], session: 'bearer-malformed' });
    expect(JSON.stringify(audit.events)).not.toContain(t);
  });
});

describe('revocation holds within REVOCATION_CACHE_SECONDS at every isolate', () => {
  it('disabling a service account refuses its tokens: at once here, within the cache bound elsewhere', async () => {
    const victim = await createAccount('svc-victim');
    await bind('svc-victim', 'inventory-user');
    const t = await clientToken(victim);
    // Another isolate: its own gateway, its own cache, a clock we move.
    const clock = fixedClock(Date.now());
    const other = await buildGateway(env, { clock, logger: silentLogger, audit: memoryAuditSink() });
    const viaOther = () => other.fetch(new Request(`http://${INVENTORY}/x`, { headers: { authorization: `Bearer ${t}` } }));
    expect((await viaOther()).status).toBe(200);
    const up = await call('PUT', '/service-accounts/svc-victim', { body: { disabled: true }, ifMatch: victim.etag });
    expect(up.status, await up.text()).toBe(200);
    expect((await bearer(INVENTORY, '/x', t)).status).toBe(401); // the isolate that disabled it knows at once
    expect((await viaOther()).status).toBe(200); // still within the other isolate's 5 s
    clock.advance(5_001);
    expect((await viaOther()).status).toBe(401);
  });

  it('deleting a service account revokes its tokens', async () => {
    const gone = await createAccount('svc-deleted');
    await bind('svc-deleted', 'inventory-user');
    const t = await clientToken(gone);
    expect((await bearer(INVENTORY, '/x', t)).status).toBe(200);
    expect((await call('DELETE', '/service-accounts/svc-deleted', { ifMatch: gone.etag })).status).toBe(204);
    expect((await bearer(INVENTORY, '/x', t)).status).toBe(401);
  });
});

describe('east-west: workload A (inventory) calling B (billing) as its service identity', () => {
  it('policy decides on A’s identity: no grant on B → 403; with a grant → B receives an assertion for A', async () => {
    const t = await clientToken(svcA);
    const denied = await bearer(BILLING, '/invoices', t);
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { reasons: string[] }).reasons).toEqual(['no-matching-grant']);
    // Nor can A get a token for B's audience.
    expect((await tokenRequest({ grant_type: EXCHANGE, subject_token: t, subject_token_type: AT, audience: 'billing' })).status).toBe(400);

    await bind('svc-inventory', 'billing-user');
    const a = await assertionOf(await echo(await bearer(BILLING, '/invoices', t)));
    expect(a).toMatchObject({ aud: 'billing', sub: 'service:svc-inventory', htu: '/invoices' });
  });

  it('A’s per-request assertion replayed at B’s guard is refused', async () => {
    const t = await clientToken(svcA);
    const e = await echo(await bearer(INVENTORY, '/items', t));
    const assertion = e.headers['tollgate-assertion']![0]!;
    const keys = await createStaticKeySource((await keyRing()).jwks);
    const guard = (audience: string, replayCache = createReplayCache()) =>
      verifyAssertion('/items', 'GET', { 'tollgate-assertion': assertion }, { issuer: GATEWAY_ORIGIN, audience, keys, replayCache, clock: fixedClock(Date.now()) });
    expect(await guard('billing')).toEqual({ ok: false, reason: 'bad-audience' });
    // And at A's own guard it was good once only.
    const cache = createReplayCache();
    expect((await guard('inventory', cache)).ok).toBe(true);
    expect((await guard('inventory', cache)).ok).toBe(false);
  });

  it('a token issued for B’s audience cannot be used for C, nor exchanged for C', async () => {
    const forB = await clientToken(svcA, { audience: 'billing' });
    expect(claimsOf(forB).aud).toBe('billing');
    expect((await echo(await bearer(BILLING, '/ok', forB))).target).toBe('/ok');
    const atC = await bearer(REPORTS, '/r', forB);
    expect(atC.status).toBe(401);
    expect(atC.headers.get('www-authenticate')).toMatch(/invalid_token/);
    expect((await bearer(INVENTORY, '/items', forB)).status).toBe(401);
    const exchanged = await tokenRequest({ grant_type: EXCHANGE, subject_token: forB, subject_token_type: AT, audience: 'reports' });
    expect(exchanged.status).toBe(400);
    expect(((await exchanged.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('a direct call to B’s guard through token exchange needs B, the method and the path', async () => {
    const t = await clientToken(svcA);
    const r = await tokenRequest({ grant_type: EXCHANGE, subject_token: t, subject_token_type: AT, requested_token_type: ASSERTION, audience: 'billing', htm: 'POST', htu: '/invoices/9/pay' });
    expect(r.status, await r.clone().text()).toBe(200);
    const { access_token } = (await r.json()) as { access_token: string };
    const keys = await createStaticKeySource((await keyRing()).jwks);
    const verify = (target: string, method: string, audience: string) =>
      verifyAssertion(target, method, { 'tollgate-assertion': access_token }, { issuer: GATEWAY_ORIGIN, audience, keys, replayCache: createReplayCache(), clock: fixedClock(Date.now()) });
    expect((await verify('/invoices/9/pay', 'POST', 'inventory')).ok).toBe(false);
    expect((await verify('/invoices/9/refund', 'POST', 'billing')).ok).toBe(false);
    expect((await verify('/invoices/9/pay', 'GET', 'billing')).ok).toBe(false);
    expect((await verify('/invoices/9/pay', 'POST', 'billing')).ok).toBe(true);
  });
});
