/**
 * The token endpoint, introspection and RFC 8414 metadata inside workerd,
 * through the real wiring: D1 service accounts, the ClientLimiter Durable
 * Object (rate limit, single-use client assertion jtis), the RevocationLedger,
 * the audit pipeline.
 */
import { env } from 'cloudflare:workers';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildGateway } from '../../functions/gateway.js';
import { memoryAuditSink, type TokenEvent } from '../../src/audit/index.js';
import { silentLogger } from '../../src/platform/index.js';
import { call, keyRing, nobodyToken, seedAdminRoles, auditorToken } from './support/admin.js';
import { gw } from './support/client.js';
import { GATEWAY_ORIGIN } from './support/constants.js';
import { AT, ASSERTION, EXCHANGE, INTROSPECT_URL, TOKEN_URL, basic, bind, clientToken, createAccount, tokenRequest, type Account } from './support/services.js';

let svc: Account;

beforeAll(async () => {
  await seedAdminRoles();
  svc = await createAccount('svc-oauth');
  await bind('svc-oauth', 'inventory-user');
});

async function oauthError(res: Response, status: number, error: string): Promise<Record<string, unknown>> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('content-type')).toBe(status === 429 ? 'application/problem+json' : 'application/json');
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('tollgate-request-id')).toMatch(/^[A-Za-z0-9_-]{16,}$/);
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(body.error).toBe(error);
  expect(typeof body.error_description).toBe('string');
  expect(body.request_id).toBe(res.headers.get('tollgate-request-id'));
  return body;
}

describe('authorization server metadata (RFC 8414)', () => {
  it('is served on the gateway origin with the endpoints and methods', async () => {
    const res = await gw(`${GATEWAY_ORIGIN}/.well-known/oauth-authorization-server`);
    expect(res.status).toBe(200);
    const m = (await res.json()) as Record<string, unknown>;
    expect(m).toMatchObject({
      issuer: GATEWAY_ORIGIN,
      token_endpoint: TOKEN_URL,
      introspection_endpoint: INTROSPECT_URL,
      jwks_uri: `${GATEWAY_ORIGIN}/.well-known/jwks.json`,
      grant_types_supported: ['client_credentials', EXCHANGE],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    });
    expect(m.token_endpoint_auth_signing_alg_values_supported).not.toContain('HS256');
    expect((await gw(`${GATEWAY_ORIGIN}/.well-known/oauth-authorization-server`, { method: 'POST' })).status).toBe(405);
    // Not on a workload host: there every path belongs to the workload.
    expect((await gw('http://inventory.localhost:8787/.well-known/oauth-authorization-server', { headers: { accept: 'application/json' } })).status).toBe(401);
  });
});

describe('POST /oauth/token', () => {
  it('client_credentials (client_secret_basic) → a verifiable RFC 9068 token; no-store', async () => {
    const res = await tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic(svc.id, svc.secret) });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('pragma')).toBe('no-cache');
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = (await res.json()) as { access_token: string; token_type: string; expires_in: number };
    expect(body.token_type).toBe('Bearer');
    expect(body.expires_in).toBe(600);
    const jwks = (await (await gw(`${GATEWAY_ORIGIN}/.well-known/jwks.json`)).json()) as { keys: never[] };
    const { payload, protectedHeader } = await jwtVerify(body.access_token, createLocalJWKSet(jwks), { issuer: GATEWAY_ORIGIN, audience: GATEWAY_ORIGIN, typ: 'at+jwt' });
    expect(protectedHeader.alg).toBe('EdDSA');
    expect(payload).toMatchObject({ sub: 'service:svc-oauth', client_id: 'svc-oauth' });
    expect(payload.exp! - payload.iat!).toBe(600);
  });

  it('client_secret_post and private_key_jwt; a client assertion is single use (Durable Object)', async () => {
    const post = await tokenRequest({ grant_type: 'client_credentials', client_id: svc.id, client_secret: svc.secret, audience: 'inventory' });
    expect(post.status).toBe(200);
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
    await createAccount('svc-jwt', { jwks: { keys: [jwk] }, token_endpoint_auth_methods: ['private_key_jwt'] });
    const assertion = await new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer('svc-jwt').setSubject('svc-jwt').setAudience(TOKEN_URL)
      .setIssuedAt().setExpirationTime('60s').sign(privateKey);
    const form = { grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion };
    const [a, b] = await Promise.all([tokenRequest(form), tokenRequest(form)]);
    expect([a.status, b.status].sort()).toEqual([200, 401]);
    await oauthError(await tokenRequest(form), 401, 'invalid_client');
  });

  it('bad client → 401 invalid_client with WWW-Authenticate', async () => {
    const attempts: Record<string, string>[] = [{ authorization: basic(svc.id, `tgs_${'x'.repeat(43)}`) }, { authorization: basic('nobody', 'x') }, {}];
    for (const headers of attempts) {
      const res = await tokenRequest({ grant_type: 'client_credentials' }, headers);
      await oauthError(res, 401, 'invalid_client');
      expect(res.headers.get('www-authenticate')).toBe('Basic realm="tollgate"');
    }
  });

  it.each([
    ['an unknown grant', 'grant_type=password&username=a&password=b', 'unsupported_grant_type'],
    ['no grant_type', 'client_id=x', 'invalid_request'],
    ['a repeated parameter', 'grant_type=client_credentials&grant_type=client_credentials', 'invalid_request'],
    ['a scope', 'grant_type=client_credentials&scope=admin', 'invalid_scope'],
    ['an unknown audience', 'grant_type=client_credentials&audience=nowhere', 'invalid_target'],
    ['a workload the policy gives it nothing on', 'grant_type=client_credentials&audience=billing', 'invalid_target'],
    ['token exchange without subject_token', `grant_type=${encodeURIComponent(EXCHANGE)}`, 'invalid_request'],
    ['token exchange with a garbage subject_token', `grant_type=${encodeURIComponent(EXCHANGE)}&subject_token=a.b.c&subject_token_type=${encodeURIComponent(AT)}`, 'invalid_grant'],
  ])('400 for %s', async (_n, body, error) => {
    await oauthError(await tokenRequest(body, { authorization: basic(svc.id, svc.secret) }), 400, error);
  });

  it('a grant type the account may not use → 400 unauthorized_client', async () => {
    const ccOnly = await createAccount('svc-cc-only', { grant_types: ['client_credentials'] });
    expect(ccOnly.body.grant_types).toEqual(['client_credentials']);
    const t = await clientToken(ccOnly);
    await oauthError(await tokenRequest({ grant_type: EXCHANGE, subject_token: t, subject_token_type: AT }, { authorization: basic(ccOnly.id, ccOnly.secret) }), 400, 'unauthorized_client');
    expect(svc.body.grant_types).toEqual(['client_credentials', EXCHANGE]);
  });

  it('a body that is not form-encoded is invalid_request; GET is 405', async () => {
    await oauthError(await gw(TOKEN_URL, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":"client_credentials"}' }), 400, 'invalid_request');
    const get = await gw(TOKEN_URL);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('rate limit per client through the Durable Object: 429 problem+json with Retry-After, other clients unaffected', async () => {
    const limited = await createAccount('svc-limited', { rate_limit_per_minute: 3 });
    for (let i = 0; i < 3; i++) await clientToken(limited);
    const res = await tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic(limited.id, limited.secret) });
    const body = await oauthError(res, 429, 'temporarily_unavailable');
    expect(body.type).toBe('https://tollgate.dev/problems/rate-limited');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    await clientToken(svc);
  });

  it('token exchange to a per-request assertion (htm/htu) for a direct call', async () => {
    const t = await clientToken(svc);
    const res = await tokenRequest({ grant_type: EXCHANGE, subject_token: t, subject_token_type: AT, requested_token_type: ASSERTION, audience: 'inventory', htm: 'GET', htu: '/items?x=1' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string; issued_token_type: string; token_type: string; expires_in: number };
    expect(body).toMatchObject({ issued_token_type: ASSERTION, token_type: 'N_A' });
    const ring = await keyRing();
    const { payload, protectedHeader } = await jwtVerify(body.access_token, createLocalJWKSet(ring.jwks), { issuer: GATEWAY_ORIGIN, audience: 'inventory', typ: 'tollgate-assertion+jwt' });
    expect(payload).toMatchObject({ sub: 'service:svc-oauth', htm: 'GET', htu: '/items?x=1', roles: ['inventory-user'] });
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(30);
    expect(protectedHeader.alg).toBe('EdDSA');
  });
});

describe('token records in the audit log', () => {
  it('issuance and refusals leave `token` records without secrets', async () => {
    const audit = memoryAuditSink();
    const app = await buildGateway(env, { audit, logger: silentLogger });
    const post = (body: string, authorization?: string) =>
      app.fetch(new Request(TOKEN_URL, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) }, body }));
    expect((await post('grant_type=client_credentials&audience=inventory', basic(svc.id, svc.secret))).status).toBe(200);
    expect((await post('grant_type=client_credentials&audience=billing', basic(svc.id, svc.secret))).status).toBe(400);
    await audit.settled();
    const events = audit.events.filter((e): e is TokenEvent => e.kind === 'token');
    expect(events).toMatchObject([
      { outcome: 'issued', subject: 'service:svc-oauth', clientId: 'svc-oauth', grantType: 'client_credentials', audience: 'inventory', workload: 'inventory', tokenType: 'access_token' },
      { outcome: 'refused', subject: 'service:svc-oauth', error: 'invalid_target', reasons: ['no-matching-grant'] },
    ]);
    expect(JSON.stringify(events)).not.toContain(svc.secret);
  });
});

describe('POST /oauth/introspect (RFC 7662)', () => {
  const introspect = (token: string, headers: Record<string, string>, extra = '') =>
    gw(INTROSPECT_URL, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: `token=${encodeURIComponent(token)}${extra}` });

  it('admins (auditor or admin) see any Tollgate token; the token’s own client sees its own; others see inactive', async () => {
    const t = await clientToken(svc, { audience: 'inventory' });
    const asAuditor = await introspect(t, { authorization: `Bearer ${await auditorToken()}` });
    expect(asAuditor.status).toBe(200);
    expect(asAuditor.headers.get('cache-control')).toBe('no-store');
    expect(await asAuditor.json()).toMatchObject({ active: true, sub: 'service:svc-oauth', client_id: 'svc-oauth', aud: 'inventory', token_type: 'Bearer' });
    expect(await (await introspect(t, { authorization: basic(svc.id, svc.secret) })).json()).toMatchObject({ active: true, sub: 'service:svc-oauth' });
    const other = await createAccount('svc-other');
    expect(await (await introspect(t, { authorization: basic(other.id, other.secret) })).json()).toEqual({ active: false });
    expect(await (await introspect('not-a-token', { authorization: `Bearer ${await auditorToken()}` })).json()).toEqual({ active: false });
  });

  it('without credentials 401; a principal without admin permission 403', async () => {
    const t = await clientToken(svc);
    await oauthError(await introspect(t, {}), 401, 'invalid_client');
    expect((await introspect(t, { authorization: `Bearer ${await nobodyToken()}` })).status).toBe(403);
  });

  it('a disabled account’s tokens are inactive at once', async () => {
    const a = await createAccount('svc-gone');
    const t = await clientToken(a);
    const auditor = { authorization: `Bearer ${await auditorToken()}` };
    expect(await (await introspect(t, auditor)).json()).toMatchObject({ active: true });
    const up = await call('PUT', '/service-accounts/svc-gone', { body: { disabled: true }, ifMatch: a.etag });
    expect(up.status, await up.text()).toBe(200);
    expect(await (await introspect(t, auditor)).json()).toEqual({ active: false });
    await oauthError(await tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic(a.id, a.secret) }), 401, 'invalid_client');
  });
});
