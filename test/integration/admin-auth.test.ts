/**
 * Admin API authentication and authorisation: bearer access tokens (RFC 9068
 * shape, verified against the gateway's own key ring), admin sessions with the
 * cross-site refusal, permissions from roles (auditor reads, admin writes),
 * 401 / 403 problem+json; the public OpenAPI document and docs page.
 */
import { env } from 'cloudflare:workers';
import { SignJWT, base64url } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createD1Store } from '../../src/store/index.js';
import { generateSigningJwk, loadKeyRing, userSubject } from '../../src/token/index.js';
import { ADMIN, IDP_ISSUER, auditorToken, call, expectProblem, keyRing, nobodyToken, seedAdminRoles, token } from './support/admin.js';
import { GATEWAY_ORIGIN } from './support/constants.js';
import { NAVIGATE, signIn } from './support/client.js';

let adminSession = '';
let aliceSession = '';

beforeAll(async () => {
  await seedAdminRoles();
  // The IdP's "admin" user (group "admins") gets the admin permission through a role, as in the demo.
  const store = createD1Store({ DB: env.DB, CONFIG: env.CONFIG });
  await store.configWriter.putBinding({ id: 'idp-admins', subject: { kind: 'group', value: 'admins' }, roleId: 'tg-admin' });
  await store.version.publish(await store.configWriter.bumpVersion());
  adminSession = await signIn('admin');
  aliceSession = await signIn('alice');
});

const now = () => Math.floor(Date.now() / 1000);

/** A JWT over the active key's private key, with any header and claims (to build bad tokens). */
async function craft(header: Record<string, unknown>, claims: Record<string, unknown>, key?: CryptoKey): Promise<string> {
  const ring = await keyRing();
  const h = { alg: ring.active.alg, kid: ring.active.kid, typ: 'at+jwt', ...header };
  return new SignJWT(claims).setProtectedHeader(h as never).sign(key ?? ring.active.privateKey);
}

async function goodClaims(over: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  return {
    iss: GATEWAY_ORIGIN,
    aud: ADMIN,
    sub: await userSubject(IDP_ISSUER, 'admin'),
    client_id: 'tests',
    iat: now(),
    exp: now() + 600,
    jti: 'j' + Math.random(),
    groups: ['tg-admins'],
    ...over,
  };
}

describe('bearer tokens', () => {
  it('a valid admin token reads and writes', async () => {
    expect((await call('GET', '/roles')).status).toBe(200);
    const res = await call('POST', '/roles', { body: { id: 'bearer-made' } });
    expect(res.status).toBe(201);
  });

  it('a crafted token with good claims is accepted (the shape tests build bad ones from)', async () => {
    const res = await call('GET', '/roles', { token: await craft({}, await goodClaims()) });
    expect(res.status).toBe(200);
  });

  it('no credentials: 401 problem+json with WWW-Authenticate: Bearer', async () => {
    for (const [method, path] of [['GET', '/roles'], ['POST', '/bindings'], ['DELETE', '/workloads/x'], ['GET', '/sessions']] as const) {
      const res = await call(method, path, { token: null, body: method === 'POST' ? {} : undefined });
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
      await expectProblem(res, 401, 'unauthenticated');
    }
  });

  it.each([
    ['wrong audience', async () => craft({}, await goodClaims({ aud: `${GATEWAY_ORIGIN}/other` }))],
    ['audience of a workload', async () => craft({}, await goodClaims({ aud: 'billing' }))],
    ['wrong issuer', async () => craft({}, await goodClaims({ iss: 'http://127.0.0.1:9999' }))],
    ['expired', async () => craft({}, await goodClaims({ iat: now() - 7200, exp: now() - 60 }))],
    ['issued in the future', async () => craft({}, await goodClaims({ iat: now() + 600, exp: now() + 1200 }))],
    ['lifetime over 8 h', async () => craft({}, await goodClaims({ iat: now() - 10, exp: now() + 8 * 3600 + 60 }))],
    ['typ JWT instead of at+jwt', async () => craft({ typ: 'JWT' }, await goodClaims())],
    ['typ of a per-request assertion', async () => craft({ typ: 'tollgate-assertion+jwt' }, await goodClaims())],
    ['no jti', async () => craft({}, await goodClaims({ jti: undefined }))],
    ['no client_id', async () => craft({}, await goodClaims({ client_id: undefined }))],
    ['groups not a list of strings', async () => craft({}, await goodClaims({ groups: 'tg-admins' }))],
    ['unknown kid', async () => craft({ kid: 'nobody-knows' }, await goodClaims())],
    ['signed by a key outside the ring, with the ring’s kid', async () => {
      const other = await loadKeyRing({ keys: [await generateSigningJwk('EdDSA', 'x')] });
      return craft({}, await goodClaims(), other.active.privateKey);
    }],
    ['alg none', async () => {
      const enc = (o: unknown) => base64url.encode(JSON.stringify(o));
      return `${enc({ alg: 'none', typ: 'at+jwt', kid: (await keyRing()).active.kid })}.${enc(await goodClaims())}.`;
    }],
    ['alg HS256 with the public key as secret', async () => {
      const ring = await keyRing();
      const secret = new TextEncoder().encode(JSON.stringify(ring.jwks.keys[0]));
      return new SignJWT(await goodClaims()).setProtectedHeader({ alg: 'HS256', kid: ring.active.kid, typ: 'at+jwt' }).sign(secret);
    }],
    ['a tampered payload', async () => {
      const t = await craft({}, await goodClaims());
      const [h, , s] = t.split('.');
      return `${h}.${base64url.encode(JSON.stringify(await goodClaims({ groups: ['tg-admins', 'x'] })))}.${s}`;
    }],
    ['garbage', async () => 'not-a-jwt'],
  ])('refuses a token: %s (401)', async (_name, make) => {
    const t = await make();
    const res = await call('GET', '/roles', { token: t });
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
    const body = await expectProblem(res, 401, 'unauthenticated');
    expect(JSON.stringify(body)).not.toContain(t.slice(0, 20));
  });

  it.each([['Basic YWRtaW46eA=='], ['Bearer'], ['Bearer a b'], ['bearer  '], ['Token abc']])('refuses Authorization: %s (401)', async (value) => {
    const res = await call('GET', '/roles', { token: null, headers: { authorization: value } });
    await expectProblem(res, 401, 'unauthenticated');
  });

  it('accepts a token signed by another published key of the ring (rotation)', async () => {
    const e = env as unknown as { SIGNING_KEYS: string };
    const next = (JSON.parse(e.SIGNING_KEYS) as { keys: { kid: string }[] }).keys.find((k) => k.kid === 'test-next')!;
    const ring = await loadKeyRing({ keys: [next as never] }, 'test-next');
    const t = await new SignJWT(await goodClaims()).setProtectedHeader({ alg: 'ES256', kid: 'test-next', typ: 'at+jwt' }).sign(ring.active.privateKey);
    expect((await call('GET', '/roles', { token: t })).status).toBe(200);
  });

  it('the auditor reads but cannot change anything (403)', async () => {
    const t = await auditorToken();
    expect((await call('GET', '/roles', { token: t })).status).toBe(200);
    expect((await call('GET', '/roles/tg-admin', { token: t })).status).toBe(200);
    expect((await call('GET', '/sessions', { token: t })).status).toBe(200);
    await expectProblem(await call('POST', '/roles', { token: t, body: { id: 'auditor-made' } }), 403, 'forbidden');
    await expectProblem(await call('PUT', '/roles/tg-admin', { token: t, body: { permissions: [] }, ifMatch: '"1"' }), 403, 'forbidden');
    await expectProblem(await call('DELETE', '/bindings/tg-admins', { token: t, ifMatch: '"1"' }), 403, 'forbidden');
    await expectProblem(await call('POST', '/sessions:revoke', { token: t, body: { subject: 'user:x:y' } }), 403, 'forbidden');
    expect((await call('GET', '/roles/auditor-made')).status).toBe(404);
  });

  it('a principal without a permission gets 403 on reads too, before any validation', async () => {
    const t = await nobodyToken();
    await expectProblem(await call('GET', '/roles', { token: t }), 403, 'forbidden');
    await expectProblem(await call('POST', '/roles', { token: t, raw: '{not json', headers: { 'content-type': 'application/json' } }), 403, 'forbidden');
  });

  it('permissions follow the policy: removing the binding removes the permission', async () => {
    const t = await token({ groups: ['temp-admins'], subject: 'user:temphash0000:eve' });
    await expectProblem(await call('GET', '/roles', { token: t }), 403, 'forbidden');
    const b = await call('POST', '/bindings', { body: { id: 'temp', subject: { kind: 'group', value: 'temp-admins' }, role_id: 'tg-auditor' } });
    expect(b.status).toBe(201);
    expect((await call('GET', '/roles', { token: t })).status).toBe(200);
    const expired = await call('PUT', '/bindings/temp', {
      body: { subject: { kind: 'group', value: 'temp-admins' }, role_id: 'tg-auditor', expires_at: now() - 1 },
      ifMatch: b.headers.get('etag')!,
    });
    expect(expired.status).toBe(200);
    await expectProblem(await call('GET', '/roles', { token: t }), 403, 'forbidden');
  });
});

describe('admin sessions (browser)', () => {
  const cookie = () => `tg_session=${adminSession}`;

  it('same-origin reads and writes with the session work', async () => {
    const read = await call('GET', '/roles', { token: null, headers: { cookie: cookie(), 'sec-fetch-site': 'same-origin' } });
    expect(read.status).toBe(200);
    const noHeaders = await call('GET', '/roles', { token: null, headers: { cookie: cookie() } });
    expect(noHeaders.status).toBe(200); // a safe method without Origin / Sec-Fetch-Site (curl with a cookie jar)
    const write = await call('POST', '/roles', { token: null, body: { id: 'session-made' }, headers: { cookie: cookie(), origin: GATEWAY_ORIGIN } });
    expect(write.status).toBe(201);
    const write2 = await call('POST', '/roles', { token: null, body: { id: 'session-made-2' }, headers: { cookie: cookie(), 'sec-fetch-site': 'same-origin' } });
    expect(write2.status).toBe(201);
  });

  it.each([
    ['a cross-site Origin', 'POST', { origin: 'http://evil.example' }],
    ['a workload host Origin', 'POST', { origin: 'http://billing.localhost:8787' }],
    ['Origin null', 'POST', { origin: 'null' }],
    ['Sec-Fetch-Site cross-site', 'POST', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site same-site (a sibling host)', 'POST', { 'sec-fetch-site': 'same-site' }],
    ['same-origin Sec-Fetch-Site but a foreign Origin', 'POST', { 'sec-fetch-site': 'same-origin', origin: 'http://evil.example' }],
    ['neither Origin nor Sec-Fetch-Site on a write', 'POST', {}],
    ['neither on a delete', 'DELETE', {}],
    ['Sec-Fetch-Site cross-site on a read', 'GET', { 'sec-fetch-site': 'cross-site' }],
    ['a foreign Origin on a read', 'GET', { origin: 'http://evil.example' }],
  ])('refuses a cookie request with %s (403) and changes nothing', async (_n, method, headers) => {
    const before = await call('GET', '/roles/evil');
    expect(before.status).toBe(404);
    const path = method === 'POST' ? '/roles' : method === 'DELETE' ? '/roles/session-made' : '/roles';
    const res = await call(method, path, {
      token: null,
      body: method === 'POST' ? { id: 'evil' } : undefined,
      ifMatch: method === 'DELETE' ? '"1"' : undefined,
      headers: { cookie: `tg_session=${adminSession}`, ...headers },
    });
    await expectProblem(res, 403, 'forbidden');
    expect((await call('GET', '/roles/evil')).status).toBe(404);
  });

  it('a non-admin session is 403; no session is 401; a browser navigation without a session goes to sign-in', async () => {
    await expectProblem(await call('GET', '/roles', { token: null, headers: { cookie: `tg_session=${aliceSession}` } }), 403, 'forbidden');
    await expectProblem(await call('GET', '/roles', { token: null, headers: { cookie: 'tg_session=forged' } }), 401, 'unauthenticated');
    const nav = await call('GET', '/roles', { token: null, headers: NAVIGATE });
    expect(nav.status).toBe(302);
    const loc = new URL(nav.headers.get('location')!);
    expect(loc.origin + loc.pathname).toBe(`${GATEWAY_ORIGIN}/auth/login`);
    expect(loc.searchParams.get('return')).toBe(`${ADMIN}/roles`);
  });

  it('admin API paths on a workload host are the workload’s, not the admin API', async () => {
    const res = await call('GET', 'http://billing.localhost:8787/admin/v1/roles');
    expect(res.status).toBe(401); // the workload host's session check, not the admin API
    expect(await res.text()).not.toContain('admin API');
  });
});

describe('OpenAPI document and docs page', () => {
  it('serves an OpenAPI 3.1 document generated from the schemas', async () => {
    const res = await call('GET', '/openapi.json', { token: null });
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; responses: Record<string, unknown> }>>; components: { schemas: Record<string, { additionalProperties?: boolean }>; securitySchemes: Record<string, unknown> } };
    expect(doc.openapi).toBe('3.1.0');
    for (const p of ['/admin/v1/roles', '/admin/v1/roles/{id}', '/admin/v1/bindings', '/admin/v1/bindings/{id}', '/admin/v1/deny-rules', '/admin/v1/deny-rules/{id}', '/admin/v1/workloads', '/admin/v1/workloads/{id}', '/admin/v1/sessions', '/admin/v1/sessions/{id}', '/admin/v1/sessions:revoke']) {
      expect(Object.keys(doc.paths)).toContain(p);
    }
    expect(Object.keys(doc.paths['/admin/v1/roles/{id}']!).sort()).toEqual(['delete', 'get', 'put']);
    expect(doc.paths['/admin/v1/roles/{id}']!.put!.responses).toHaveProperty('428');
    expect(doc.paths['/admin/v1/roles/{id}']!.put!.responses).toHaveProperty('412');
    expect(doc.paths['/admin/v1/bindings']!.get!.parameters!.map((p) => p.name)).toEqual(expect.arrayContaining(['limit', 'cursor', 'role_id', 'subject']));
    expect(doc.components.schemas.BindingCreate!.additionalProperties).toBe(false);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['bearer', 'session']);
  });

  it('renders a self-contained docs page from it', async () => {
    const res = await call('GET', '/docs', { token: null, headers: NAVIGATE });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    const html = await res.text();
    expect(html).toContain('/admin/v1/bindings/{id}');
    expect(html).toContain('BindingCreate');
    expect(html).not.toMatch(/<(script|link|img|iframe|object|embed)\b/i);
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
  });

  it('unknown admin paths are 404 problems; wrong methods 405 with Allow', async () => {
    await expectProblem(await call('GET', '/nothing-here'), 404, 'not-found');
    const res = await call('PATCH', '/roles/tg-admin', { body: {} });
    expect(res.headers.get('allow')).toBe('GET, HEAD, PUT, DELETE');
    await expectProblem(res, 405, 'method-not-allowed');
    expect((await call('DELETE', '/roles')).headers.get('allow')).toBe('GET, HEAD, POST');
  });
});

it('the token helper mints RFC 9068 tokens (header typ at+jwt, kid of the ring)', async () => {
  const t = await token();
  const [h, p] = t.split('.').slice(0, 2).map((s) => JSON.parse(new TextDecoder().decode(base64url.decode(s))) as Record<string, unknown>);
  expect(h).toMatchObject({ typ: 'at+jwt', kid: (await keyRing()).active.kid });
  expect(p).toMatchObject({ iss: GATEWAY_ORIGIN, aud: ADMIN, client_id: 'tests' });
  expect(typeof p!.jti).toBe('string');
});
