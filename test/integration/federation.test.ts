/**
 * Workload identity federation inside workerd: trusted issuers registered
 * through the admin API (SSRF-checked, JWKS discovered), their JWTs used as
 * bearer tokens on workload hosts and as subject tokens at the token
 * endpoint, the JWT validation table end to end, JWKS rotation with the
 * refetch cooldown.
 */
import { env } from 'cloudflare:workers';
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildGateway } from '../../functions/gateway.js';
import { memoryAuditSink } from '../../src/audit/index.js';
import { fixedClock, silentLogger } from '../../src/platform/index.js';
import { call, changeRecords, expectProblem, seedAdminRoles } from './support/admin.js';
import { GATEWAY_ORIGIN, INVENTORY } from './support/constants.js';
import type { Echo } from './support/echo.js';
import { AT, EXCHANGE, JWT, bearer, bind, claimsOf, fakeIssuer, registerIssuer, rsaKey, tokenRequest, type FakeIssuer } from './support/services.js';

const AUD = 'api://tollgate-tests';
let gh: FakeIssuer;

const b64 = (v: unknown) => btoa(JSON.stringify(v)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

beforeAll(async () => {
  await seedAdminRoles();
  gh = await fakeIssuer('github');
  const res = await registerIssuer({
    id: 'github',
    preset: 'github-actions',
    issuer: gh.issuer,
    audiences: [AUD],
    rules: [
      { service: 'deployer', claims: { repository: 'octo-org/deploy', ref: 'refs/heads/main' } },
      { service: 'ci', claims: { repository: 'octo-org/*' } },
    ],
  });
  const text = await res.text();
  expect(res.status, text).toBe(201);
  // Discovered at registration, stored: the hot path never runs discovery.
  expect(JSON.parse(text)).toMatchObject({ jwks_uri: `${gh.issuer}/jwks`, algorithms: ['RS256'], max_lifetime_seconds: 3600 });
  await bind('deployer', 'inventory-user');
});

const ghClaims = (over: Record<string, unknown> = {}) => ({ aud: AUD, sub: 'repo:octo-org/deploy:ref:refs/heads/main', repository: 'octo-org/deploy', ref: 'refs/heads/main', ...over });

describe('external tokens as bearer tokens', () => {
  it('a GitHub Actions-style token maps to its service and gets the same decision and assertion', async () => {
    const res = await bearer(INVENTORY, '/deploy', await gh.sign(ghClaims()));
    const e = (await res.json()) as Echo;
    expect(res.status).toBe(200);
    expect(claimsOf(e.headers['tollgate-assertion']![0]!)).toMatchObject({ sub: 'service:deployer', aud: 'inventory', roles: ['inventory-user'] });
    expect(e.headers.authorization).toBeUndefined();
  });

  it('the second rule maps other repositories to "ci", which the policy gives nothing → 403', async () => {
    const res = await bearer(INVENTORY, '/deploy', await gh.sign(ghClaims({ repository: 'octo-org/other', sub: 'repo:octo-org/other:ref:refs/heads/main' })));
    expect(res.status).toBe(403);
  });

  const now = () => Math.floor(Date.now() / 1000);
  it.each([
    ['an unregistered issuer', async () => (await fakeIssuer('stranger')).sign(ghClaims())],
    ['a wrong audience', () => gh.sign(ghClaims({ aud: 'api://someone-else' }))],
    ['an expired token', () => gh.sign(ghClaims({ iat: now() - 900, exp: now() - 60 }))],
    ['a lifetime above the issuer maximum', () => gh.sign(ghClaims({ exp: now() + 7200 }))],
    ['no matching rule', () => gh.sign(ghClaims({ repository: 'evil-org/deploy' }))],
    ['a key the issuer does not publish (same kid)', async () => gh.sign(ghClaims(), {}, { ...(await rsaKey('github-1')) })],
    ['an unknown kid', async () => gh.sign(ghClaims(), { kid: 'rotated-away' }, await rsaKey('rotated-away'))],
    ['alg none', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: gh.issuer, exp: now() + 60, ...ghClaims() })}.`],
    ['HS256 signed with the issuer’s public key', async () => {
      const input = `${b64({ alg: 'HS256', kid: 'github-1', typ: 'JWT' })}.${b64({ iss: gh.issuer, iat: now(), exp: now() + 60, ...ghClaims() })}`;
      const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(JSON.stringify(gh.key.jwk)), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      const sig = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(input)));
      return `${input}.${btoa(String.fromCharCode(...sig)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`;
    }],
    ['a Tollgate assertion typ', () => gh.sign(ghClaims(), { typ: 'tollgate-assertion+jwt' })],
  ])('refuses %s (401)', async (_n, make) => {
    const res = await bearer(INVENTORY, '/deploy', await make());
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/invalid_token/);
  });
});

describe('JWKS rotation and the refetch cooldown', () => {
  it('a new kid is accepted after one refetch; a flood of unknown kids costs one fetch per cooldown', async () => {
    const rot = await fakeIssuer('rotating');
    expect((await registerIssuer({ id: 'rotating', preset: 'generic-oidc', issuer: rot.issuer, audiences: [AUD], rules: [{ service: 'deployer', claims: { sub: 'rotating-workload' } }] })).status).toBe(201);
    const clock = fixedClock(Date.now());
    const app = await buildGateway(env, { clock, logger: silentLogger, audit: memoryAuditSink() });
    const at = (token: string) => app.fetch(new Request(`http://${INVENTORY}/r`, { headers: { authorization: `Bearer ${token}` } }));
    const t0 = Math.floor(clock.now() / 1000);
    const claims = { aud: AUD, sub: 'rotating-workload', iat: t0, exp: t0 + 3000 };
    expect((await at(await rot.sign(claims))).status).toBe(200);
    const base = await rot.fetches();

    const k2 = await rsaKey('rotating-2');
    await rot.publish([rot.key.jwk, k2.jwk]);
    // Within the cooldown after the first fetch, the unknown kid is refused without a fetch…
    for (let i = 0; i < 20; i++) expect((await at(await rot.sign(claims, {}, { ...k2, jwk: { ...k2.jwk, kid: `junk-${i}` } }))).status).toBe(401);
    expect((await at(await rot.sign(claims, {}, k2))).status).toBe(401);
    expect(await rot.fetches()).toBe(base);
    // …after it, one refetch finds the new key.
    clock.advance(30_001);
    expect((await at(await rot.sign(claims, {}, k2))).status).toBe(200);
    expect(await rot.fetches()).toBe(base + 1);
    for (let i = 0; i < 20; i++) await at(await rot.sign(claims, {}, { ...k2, jwk: { ...k2.jwk, kid: `junk2-${i}` } }));
    expect(await rot.fetches()).toBe(base + 1);
  });

  it('a JWKS URL that redirects is never followed: tokens are refused', async () => {
    const r = await fakeIssuer('redirector');
    expect((await registerIssuer({ id: 'redirector', preset: 'generic-oidc', issuer: r.issuer, jwks_uri: `${r.issuer}/redirect`, audiences: [AUD], rules: [{ service: 'deployer', claims: { sub: 'x' } }] })).status).toBe(201);
    expect((await bearer(INVENTORY, '/r', await r.sign({ aud: AUD, sub: 'x' }))).status).toBe(401);
  });
});

describe('external tokens at the token endpoint', () => {
  it('token exchange: an external JWT → a Tollgate access token for its service', async () => {
    const res = await tokenRequest({ grant_type: EXCHANGE, subject_token: await gh.sign(ghClaims()), subject_token_type: JWT, audience: 'inventory' });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const body = JSON.parse(text) as { access_token: string; issued_token_type: string };
    expect(body.issued_token_type).toBe(AT);
    expect(claimsOf(body.access_token)).toMatchObject({ sub: 'service:deployer', aud: 'inventory', client_id: 'deployer' });
    expect((await bearer(INVENTORY, '/x', body.access_token)).status).toBe(200);
  });
});

describe('presets', () => {
  it('kubernetes service account tokens (inline JWKS, nested claims) and Entra managed identities (xms_mirid)', async () => {
    const k8sKey = await rsaKey('k8s-1');
    const k8s = 'https://kubernetes.cluster.example.com';
    const reg = await registerIssuer({
      id: 'cluster', preset: 'kubernetes', issuer: k8s, jwks: { keys: [k8sKey.jwk] }, audiences: [AUD],
      rules: [{ service: 'deployer', claims: { namespace: 'shop', service_account: 'orders' } }],
    });
    expect(reg.status, await reg.clone().text()).toBe(201);
    const now = Math.floor(Date.now() / 1000);
    const sa = (ns: string) => new SignJWT({ 'kubernetes.io': { namespace: ns, serviceaccount: { name: 'orders', uid: 'u' } } })
      .setProtectedHeader({ alg: 'RS256', kid: 'k8s-1' }).setIssuer(k8s).setAudience(AUD).setSubject(`system:serviceaccount:${ns}:orders`)
      .setIssuedAt(now).setExpirationTime(now + 600).sign(k8sKey.privateKey);
    expect((await bearer(INVENTORY, '/k', await sa('shop'))).status).toBe(200);
    expect((await bearer(INVENTORY, '/k', await sa('other'))).status).toBe(401);

    const entra = await fakeIssuer('tenant-v2');
    const mirid = '/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/deployer';
    expect((await registerIssuer({ id: 'entra', preset: 'entra', issuer: entra.issuer, audiences: [AUD], rules: [{ service: 'deployer', claims: { xms_mirid: mirid } }] })).status).toBe(201);
    expect((await bearer(INVENTORY, '/e', await entra.sign({ aud: AUD, sub: 'oid-1', oid: 'oid-1', xms_mirid: mirid }))).status).toBe(200);
    expect((await bearer(INVENTORY, '/e', await entra.sign({ aud: AUD, sub: 'oid-2', oid: 'oid-2', xms_mirid: `${mirid}-other` }))).status).toBe(401);
  });
});

describe('registration is checked (admin API)', () => {
  const base = { preset: 'generic-oidc', audiences: [AUD], rules: [{ service: 'x', claims: { sub: 'y' } }] };

  it('without the development setting: loopback, private and metadata addresses are refused (no SSRF)', async () => {
    const prodEnv = { ...env, ALLOW_INSECURE_ISSUERS: '' } as Env;
    const app = await buildGateway(prodEnv, { logger: silentLogger });
    const { token } = await import('./support/admin.js');
    const register = async (body: Record<string, unknown>) =>
      app.fetch(new Request(`${GATEWAY_ORIGIN}/admin/v1/trusted-issuers`, { method: 'POST', headers: { authorization: `Bearer ${await token()}`, 'content-type': 'application/json' }, body: JSON.stringify({ ...base, ...body }) }));
    for (const [body, pointer] of [
      [{ id: 'p1', issuer: gh.issuer }, '/issuer'],
      [{ id: 'p2', issuer: 'https://127.0.0.1/issuer', jwks_uri: 'https://example.com/jwks' }, '/issuer'],
      [{ id: 'p3', issuer: 'https://localhost/issuer', jwks_uri: 'https://example.com/jwks' }, '/issuer'],
      [{ id: 'p4', issuer: 'https://issuer.example.com', jwks_uri: 'https://169.254.169.254/latest/meta-data/' }, '/jwks_uri'],
      [{ id: 'p5', issuer: 'https://issuer.example.com', jwks_uri: 'https://10.0.0.7/jwks' }, '/jwks_uri'],
      [{ id: 'p6', issuer: 'https://issuer.example.com', jwks_uri: 'https://[::1]/jwks' }, '/jwks_uri'],
      [{ id: 'p7', issuer: 'https://issuer.example.com', jwks_uri: 'http://example.com/jwks' }, '/jwks_uri'],
      [{ id: 'p8', issuer: 'https://metadata.google.internal', jwks_uri: 'https://example.com/jwks' }, '/issuer'],
      [{ id: 'p9', issuer: `${gh.issuer}`, jwks_uri: `${gh.issuer}/jwks` }, '/issuer'],
    ] as const) {
      const body2 = await expectProblem(await register(body), 422, 'policy-invalid');
      expect(body2.errors?.[0]?.pointer).toBe(pointer);
    }
  });

  it('with the development setting, private ranges are still refused; discovery must name the same issuer', async () => {
    await expectProblem(await registerIssuer({ ...base, id: 'q1', issuer: 'https://issuer.example.com', jwks_uri: 'https://192.168.1.10/jwks' }), 422, 'policy-invalid');
    const liar = await expectProblem(await registerIssuer({ ...base, id: 'q2', issuer: `${gh.issuer.replace(/github$/, 'liar')}` }), 422, 'policy-invalid');
    expect(liar.detail).toMatch(/discovery/);
    await expectProblem(await registerIssuer({ ...base, id: 'q3', issuer: GATEWAY_ORIGIN, jwks_uri: `${GATEWAY_ORIGIN}/.well-known/jwks.json` }), 422, 'policy-invalid');
  });

  it.each([
    ['alg none', { algorithms: ['none'] }, 400, 'bad-request'],
    ['HS256', { algorithms: ['HS256'] }, 400, 'bad-request'],
    ['no audience', { audiences: [] }, 400, 'bad-request'],
    ['an unknown field', { audience: 'x' }, 400, 'bad-request'],
    ['a rule that pins nothing down', { rules: [{ service: 'x', claims: { iss: '*' } }] }, 422, 'policy-invalid'],
    ['a GitHub rule on an unknown claim', { preset: 'github-actions', rules: [{ service: 'x', claims: { repo: 'a/b' } }] }, 422, 'policy-invalid'],
    ['both jwks and jwks_uri', { jwks: { keys: [{ kty: 'RSA', n: 'x', e: 'AQAB' }] }, jwks_uri: 'https://example.com/jwks' }, 422, 'policy-invalid'],
    ['a private key in jwks', { jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'a', y: 'b', d: 'secret' }] } }, 422, 'policy-invalid'],
    ['an HMAC key in jwks', { jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }, 422, 'policy-invalid'],
  ])('refuses %s', async (_n, over, status, code) => {
    await expectProblem(await registerIssuer({ ...base, id: 'bad', issuer: 'https://issuer.example.com', ...over }), status, code);
  });

  it('a duplicate issuer is 409; update needs If-Match; delete stops its tokens; changes are audited', async () => {
    const other = await expectProblem(await registerIssuer({ ...base, id: 'github-again', issuer: gh.issuer }), 409, 'conflict');
    expect(other.errors?.[0]?.pointer).toBe('/issuer');
    const d = await fakeIssuer('doomed');
    const created = await registerIssuer({ ...base, id: 'doomed', issuer: d.issuer, rules: [{ service: 'deployer', claims: { sub: 'doomed-wl' } }] });
    expect(created.status).toBe(201);
    const t = await d.sign({ aud: AUD, sub: 'doomed-wl' });
    expect((await bearer(INVENTORY, '/d', t)).status).toBe(200);
    // Update: a new audience takes effect; the old one is refused.
    const body = { ...base, issuer: d.issuer, audiences: ['api://other'], rules: [{ service: 'deployer', claims: { sub: 'doomed-wl' } }] };
    await expectProblem(await call('PUT', '/trusted-issuers/doomed', { body }), 428, 'precondition-required');
    const up = await call('PUT', '/trusted-issuers/doomed', { body, ifMatch: created.headers.get('etag')! });
    const upText = await up.text();
    expect(up.status, upText).toBe(200);
    expect(JSON.parse(upText)).toMatchObject({ audiences: ['api://other'], jwks_uri: `${d.issuer}/jwks` });
    expect((await bearer(INVENTORY, '/d', t)).status).toBe(401);
    expect((await bearer(INVENTORY, '/d', await d.sign({ aud: 'api://other', sub: 'doomed-wl' }))).status).toBe(200);
    await expectProblem(await call('PUT', '/trusted-issuers/doomed', { body: { ...body, issuer: gh.issuer }, ifMatch: up.headers.get('etag')! }), 409, 'conflict');
    await expectProblem(await call('DELETE', '/trusted-issuers/doomed'), 428, 'precondition-required');
    await expectProblem(await call('DELETE', '/trusted-issuers/doomed', { ifMatch: created.headers.get('etag')! }), 412, 'precondition-failed');
    expect((await call('DELETE', '/trusted-issuers/doomed', { ifMatch: up.headers.get('etag')! })).status).toBe(204);
    expect((await bearer(INVENTORY, '/d', await d.sign({ aud: 'api://other', sub: 'doomed-wl' }))).status).toBe(401);
    const records = (await changeRecords()).filter((r) => r.data.resource === 'trusted-issuer' && r.data.id === 'doomed');
    expect(records.map((r) => r.data.action)).toEqual(['create', 'update', 'delete']);
    const list = (await (await call('GET', '/trusted-issuers?limit=200')).json()) as { items: { id: string }[] };
    expect(list.items.map((i) => i.id)).toContain('github');
  });
});
