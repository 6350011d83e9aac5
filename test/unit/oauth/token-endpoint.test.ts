/**
 * The token endpoint's core in Node (frozen clock, memory stores): every grant
 * type, every client authentication method, and every error response.
 */
import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TollgateError } from '../../../src/errors.js';
import { createReplayCache, createStaticKeySource, verifyAssertion } from '../../../src/guard/index.js';
import { oauthCodeOf, TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_ASSERTION, TOKEN_TYPE_JWT } from '../../../src/oauth/index.js';
import { fixedClock } from '../../../src/platform/index.js';
import { basic, clientKey, NOW, NOW_S, ORIGIN, REQ, TOKEN_ENDPOINT, world, type World } from './world.js';

const CC = { grant_type: 'client_credentials' };
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

async function claimsOf(w: World, token: string, audience: string | string[] = ORIGIN) {
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(w.keyRing.jwks), { issuer: ORIGIN, audience, currentDate: new Date(w.clock.now()), typ: 'at+jwt' });
  return { payload, protectedHeader };
}

async function refused(p: Promise<unknown>): Promise<{ code: string | undefined; status: string; err: TollgateError }> {
  const err = await p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TollgateError);
  const t = err as TollgateError;
  return { code: oauthCodeOf(t), status: t.code, err: t };
}

async function assertion(w: World, id: string, key: { privateKey: CryptoKey; jwk: { kid?: string; alg?: string } }, over: Record<string, unknown> = {}, header: Record<string, unknown> = {}) {
  return new SignJWT({ jti: crypto.randomUUID(), ...over })
    .setProtectedHeader({ alg: key.jwk.alg!, kid: key.jwk.kid!, ...header })
    .setIssuer((over.iss as string) ?? id)
    .setSubject((over.sub as string) ?? id)
    .setAudience((over.aud as string) ?? TOKEN_ENDPOINT)
    .setIssuedAt(NOW_S)
    .setExpirationTime((over.exp as number) ?? NOW_S + 60)
    .sign(key.privateKey);
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

describe('client_credentials', () => {
  it('client_secret_basic → an RFC 9068 access token for the gateway, ≤ 15 min', async () => {
    const w = await world();
    const secret = await w.account('svc-a');
    expect(secret).toMatch(/^tgs_[A-Za-z0-9_-]{43}$/);
    const r = await w.token(CC, basic('svc-a', secret));
    expect(r).toMatchObject({ token_type: 'Bearer', expires_in: 600 });
    expect(r).not.toHaveProperty('issued_token_type');
    const { payload, protectedHeader } = await claimsOf(w, r.access_token);
    expect(protectedHeader).toMatchObject({ typ: 'at+jwt', alg: 'EdDSA', kid: 'gw-1' });
    expect(payload).toMatchObject({ iss: ORIGIN, aud: ORIGIN, sub: 'service:svc-a', client_id: 'svc-a', iat: NOW_S, exp: NOW_S + 600 });
    expect(payload.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(w.events).toMatchObject([{ kind: 'token', outcome: 'issued', subject: 'service:svc-a', clientId: 'svc-a', clientAuth: 'client_secret_basic', grantType: 'client_credentials', audience: ORIGIN, jti: payload.jti }]);
    expect(JSON.stringify(w.events)).not.toContain(secret);
  });

  it('client_secret_post, and a URL-encoded Basic header with odd characters', async () => {
    const w = await world();
    const secret = await w.account('svc.a~1');
    const r = await w.token({ ...CC, client_id: 'svc.a~1', client_secret: secret });
    expect((await claimsOf(w, r.access_token)).payload.sub).toBe('service:svc.a~1');
    await w.token(CC, basic('svc.a~1', secret));
  });

  it('private_key_jwt (RFC 7523): aud = token endpoint or issuer; the jti works once', async () => {
    const w = await world();
    for (const alg of ['ES256', 'RS256', 'EdDSA'] as const) {
      const key = await clientKey(alg, `k-${alg}`);
      const id = `jwt-${alg.toLowerCase()}`;
      expect(await w.account(id, { jwks: { keys: [key.jwk] }, token_endpoint_auth_methods: ['private_key_jwt'] })).toBe('');
      for (const aud of [TOKEN_ENDPOINT, ORIGIN]) {
        const a = await assertion(w, id, key, { aud });
        const r = await w.token({ ...CC, client_assertion_type: JWT_BEARER, client_assertion: a });
        expect((await claimsOf(w, r.access_token)).payload.client_id).toBe(id);
        expect((await refused(w.token({ ...CC, client_assertion_type: JWT_BEARER, client_assertion: a }))).code).toBe('invalid_client');
      }
    }
  });

  it.each([
    ['resource = a workload URL', { resource: 'https://inventory.example.com/items/1' }, 'inventory'],
    ['audience = a workload id', { audience: 'inventory' }, 'inventory'],
    ['both, agreeing', { audience: 'inventory', resource: 'https://inventory.example.com/' }, 'inventory'],
    ['resource = the gateway', { resource: `${ORIGIN}/` }, ORIGIN],
  ])('audience restriction: %s', async (_n, params, aud) => {
    const w = await world();
    const secret = await w.account('svc-a');
    const r = await w.token({ ...CC, ...params }, basic('svc-a', secret));
    expect((await claimsOf(w, r.access_token, aud)).payload.aud).toBe(aud);
  });

  it('the admin API audience only for a principal holding an admin permission', async () => {
    const w = await world();
    const ops = await w.account('ops');
    const r = await w.token({ ...CC, resource: `${ORIGIN}/admin/v1` }, basic('ops', ops));
    expect((await claimsOf(w, r.access_token, `${ORIGIN}/admin/v1`)).payload.sub).toBe('service:ops');
    const a = await w.account('svc-a');
    expect((await refused(w.token({ ...CC, audience: `${ORIGIN}/admin/v1` }, basic('svc-a', a)))).code).toBe('invalid_target');
  });

  it('tokens never outlive the account', async () => {
    const w = await world();
    const secret = await w.account('svc-a', { expires_at: NOW_S + 100 });
    const r = await w.token(CC, basic('svc-a', secret));
    expect(r.expires_in).toBe(100);
    w.clock.advance(100_000);
    expect((await refused(w.token(CC, basic('svc-a', secret)))).code).toBe('invalid_client');
  });
});

describe('client authentication failures are 401 invalid_client', () => {
  it.each([
    ['a wrong secret', async (w: World) => w.token(CC, basic('svc-a', `tgs_${'A'.repeat(43)}`))],
    ['an unknown client', async (w: World) => w.token(CC, basic('nobody', `tgs_${'A'.repeat(43)}`))],
    ['a malformed Basic header', async (w: World) => w.token(CC, 'Basic !!!')],
    ['Basic without a colon', async (w: World) => w.token(CC, `Basic ${Buffer.from('svc-a').toString('base64')}`)],
    ['a Bearer header', async (w: World) => w.token(CC, 'Bearer abc')],
    ['no client authentication', async (w: World) => w.token(CC)],
    ['a client_id without credentials', async (w: World) => w.token({ ...CC, client_id: 'svc-a' })],
    ['a method the account does not allow', async (w: World) => {
      const s = await w.account('post-only', { token_endpoint_auth_methods: ['client_secret_post'] });
      return w.token(CC, basic('post-only', s));
    }],
    ['a disabled account', async (w: World) => {
      const s = await w.account('off', { disabled: true });
      return w.token(CC, basic('off', s));
    }],
  ])('%s', async (_n, run) => {
    const w = await world();
    await w.account('svc-a');
    const r = await refused(run(w));
    expect(r).toMatchObject({ code: 'invalid_client', status: 'unauthenticated' });
    expect(r.err.message).toBe(r.err.message.includes('client_credentials') ? 'client_credentials needs client authentication' : r.err.message);
  });

  it.each([
    ['a wrong audience', { aud: 'https://elsewhere.example.com/token' }, {}],
    ['an exp more than 5 minutes ahead', { exp: NOW_S + 3600 }, {}],
    ['an expired assertion', { exp: NOW_S - 60 }, {}],
    ['iss ≠ sub', { sub: 'someone-else' }, {}],
    ['an unknown kid', {}, { kid: 'nope' }],
  ])('private_key_jwt with %s', async (_n, over, header) => {
    const w = await world();
    const key = await clientKey('ES256');
    await w.account('svc-k', { jwks: { keys: [key.jwk] } });
    expect((await refused(w.token({ ...CC, client_assertion_type: JWT_BEARER, client_assertion: await assertion(w, 'svc-k', key, over, header) }))).code).toBe('invalid_client');
  });

  it('private_key_jwt: a key the account did not register, HS256 with its public key, alg none, no jti', async () => {
    const w = await world();
    const key = await clientKey('ES256');
    await w.account('svc-k', { jwks: { keys: [key.jwk] } });
    const other = await clientKey('ES256');
    const form = (a: string) => ({ ...CC, client_assertion_type: JWT_BEARER, client_assertion: a });
    expect((await refused(w.token(form(await assertion(w, 'svc-k', other))))).code).toBe('invalid_client');
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const body = b64({ iss: 'svc-k', sub: 'svc-k', aud: TOKEN_ENDPOINT, exp: NOW_S + 60, jti: 'x' });
    const hsInput = `${b64({ alg: 'HS256', kid: 'client-1' })}.${body}`;
    const hs = `${hsInput}.${createHmac('sha256', JSON.stringify(key.jwk)).update(hsInput).digest('base64url')}`;
    expect((await refused(w.token(form(hs)))).code).toBe('invalid_client');
    expect((await refused(w.token(form(`${b64({ alg: 'none' })}.${body}.`)))).code).toBe('invalid_client');
    const noJti = new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'client-1' }).setIssuer('svc-k').setSubject('svc-k').setAudience(TOKEN_ENDPOINT).setExpirationTime(NOW_S + 60);
    expect((await refused(w.token(form(await noJti.sign(key.privateKey))))).code).toBe('invalid_client');
  });

  it('secret rotation: the old secret works until the overlap ends, then only the new one', async () => {
    const w = await world();
    const old = await w.account('svc-a');
    const a = await w.admin.get('svc-a');
    const { secret: fresh } = await w.admin.rotateSecret('svc-a', { previous_secret_expires_at: NOW_S + 3600 }, [a.version], REQ(NOW_S));
    await w.token(CC, basic('svc-a', old));
    await w.token(CC, basic('svc-a', fresh));
    w.clock.advance(3600_000);
    expect((await refused(w.token(CC, basic('svc-a', old)))).code).toBe('invalid_client');
    await w.token(CC, basic('svc-a', fresh));
  });
});

describe('unauthorized_client', () => {
  it('a grant type the account may not use is unauthorized_client (400), and recorded', async () => {
    const w = await world();
    const s = await w.account('cc-only', { grant_types: ['client_credentials'] });
    const t = (await w.token(CC, basic('cc-only', s))).access_token;
    const r = await refused(w.token({ grant_type: EXCHANGE, subject_token: t, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, audience: 'inventory' }, basic('cc-only', s)));
    expect(r).toMatchObject({ code: 'unauthorized_client', status: 'bad-request' });
    expect(w.events.at(-1)).toMatchObject({ outcome: 'refused', error: 'unauthorized_client', clientId: 'cc-only' });
    const x = await w.account('exchange-only', { grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'] });
    expect((await refused(w.token(CC, basic('exchange-only', x)))).code).toBe('unauthorized_client');
    expect((await w.admin.get('exchange-only')).grantTypes).toEqual(['urn:ietf:params:oauth:grant-type:token-exchange']);
    expect((await w.admin.get('cc-only')).grantTypes).toEqual(['client_credentials']);
  });
});

describe('malformed requests (400)', () => {
  it.each([
    ['no grant_type', {}, 'invalid_request'],
    ['an unknown grant_type', { grant_type: 'password' }, 'unsupported_grant_type'],
    ['the authorization code grant', { grant_type: 'authorization_code', code: 'x' }, 'unsupported_grant_type'],
    ['two client authentication methods', { ...CC, client_id: 'svc-a', client_secret: 'x', client_assertion_type: JWT_BEARER, client_assertion: 'a.b.c' }, 'invalid_request'],
    ['client_secret without client_id', { ...CC, client_secret: 'x' }, 'invalid_request'],
    ['a client_assertion of another type', { ...CC, client_assertion_type: 'urn:x', client_assertion: 'a.b.c' }, 'invalid_request'],
  ])('%s → %s', async (_n, params, code) => {
    const w = await world();
    expect((await refused(w.token(params))).code).toBe(code);
  });

  it('a duplicated parameter is invalid_request; a scope is invalid_scope; a Basic client_id that differs from the body is invalid_request', async () => {
    const w = await world();
    const s = await w.account('svc-a');
    const { parseOAuthForm } = await import('../../../src/oauth/index.js');
    expect(oauthCodeOf(await Promise.resolve().then(() => parseOAuthForm('grant_type=a&grant_type=b')).catch((e: unknown) => e))).toBe('invalid_request');
    expect((await refused(w.token({ ...CC, scope: 'read' }, basic('svc-a', s)))).code).toBe('invalid_scope');
    expect((await refused(w.token({ ...CC, client_id: 'svc-b' }, basic('svc-a', s)))).code).toBe('invalid_request');
  });

  it.each([
    ['an unknown audience', { audience: 'nowhere' }],
    ['a resource on another host', { resource: 'https://evil.example.com/' }],
    ['a resource with the wrong scheme', { resource: 'http://inventory.example.com/' }],
    ['a relative resource', { resource: '/items' }],
    ['a resource with a fragment', { resource: 'https://inventory.example.com/#x' }],
    ['resource and audience naming different targets', { resource: 'https://inventory.example.com/', audience: 'billing' }],
    ['a workload the policy gives the service nothing on', { audience: 'billing' }],
  ])('invalid_target: %s', async (_n, params) => {
    const w = await world();
    const s = await w.account('svc-a');
    const r = await refused(w.token({ ...CC, ...params }, basic('svc-a', s)));
    expect(r.code).toBe('invalid_target');
  });

  it('two resources are invalid_target', async () => {
    const w = await world();
    const s = await w.account('svc-a');
    const body = 'grant_type=client_credentials&resource=https%3A%2F%2Finventory.example.com%2F&resource=https%3A%2F%2Finventory.example.com%2Fx';
    const r = await refused(w.token(body, basic('svc-a', s)));
    expect(r.code).toBe('invalid_target');
    expect(r.err.message).toMatch(/one resource/);
  });

  it('the policy refusal names its reasons', async () => {
    const w = await world();
    const s = await w.account('svc-a');
    const r = await refused(w.token({ ...CC, audience: 'billing' }, basic('svc-a', s)));
    expect(r.err.reasons).toEqual(['no-matching-grant']);
    expect(w.events.at(-1)).toMatchObject({ outcome: 'refused', error: 'invalid_target', reasons: ['no-matching-grant'], workload: 'billing' });
  });
});

describe('rate limit', () => {
  it('per client: the budget is spent, then temporarily_unavailable (429) with Retry-After; other clients are unaffected', async () => {
    const w = await world();
    const s = await w.account('svc-a', { rate_limit_per_minute: 3 });
    const b = await w.account('svc-b');
    for (let i = 0; i < 3; i++) await w.token(CC, basic('svc-a', s));
    const r = await refused(w.token(CC, basic('svc-a', s)));
    expect(r).toMatchObject({ code: 'temporarily_unavailable', status: 'rate-limited' });
    expect(r.err.details.retryAfter).toBe(60);
    await w.token(CC, basic('svc-b', b));
    w.clock.advance(30_000);
    expect((await refused(w.token(CC, basic('svc-a', s)))).err.details.retryAfter).toBe(30);
    w.clock.advance(30_000);
    await w.token(CC, basic('svc-a', s));
  });

  it('the default is TOKEN_RATE_LIMIT_PER_MINUTE', async () => {
    const w = await world({ rateLimit: 2 });
    const s = await w.account('svc-a');
    await w.token(CC, basic('svc-a', s));
    await w.token(CC, basic('svc-a', s));
    expect((await refused(w.token(CC, basic('svc-a', s)))).code).toBe('temporarily_unavailable');
  });
});

describe('revocation through the ledger', () => {
  it('disabling an account refuses client authentication and kills its tokens; re-enabling does not revive them', async () => {
    const w = await world();
    const s = await w.account('svc-a');
    const t = (await w.token(CC, basic('svc-a', s))).access_token;
    const a = await w.admin.get('svc-a');
    const off = await w.admin.update('svc-a', { disabled: true }, [a.version], REQ(NOW_S));
    expect(w.ledger.states.get('service:svc-a')).toEqual({ disabled: true, notBefore: NOW_S + 1 });
    expect(await w.oauth.principals.usable('service:svc-a', NOW_S)).toBe(false);
    expect((await refused(w.token(CC, basic('svc-a', s)))).code).toBe('invalid_client');
    w.clock.advance(2000);
    await w.admin.update('svc-a', { disabled: false }, [off.version], REQ(NOW_S + 2));
    // The old token (iat NOW_S) stays dead; a new one works.
    expect((await refused(w.token({ grant_type: EXCHANGE, subject_token: t, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, audience: 'inventory' }))).code).toBe('invalid_grant');
    const fresh = (await w.token(CC, basic('svc-a', s))).access_token;
    expect(await w.oauth.principals.usable('service:svc-a', (await claimsOf(w, fresh)).payload.iat)).toBe(true);
  });

  it('deleting an account disables its principal first; a new account with the same id does not inherit old tokens', async () => {
    const w = await world();
    const s = await w.account('svc-a');
    const t = (await w.token(CC, basic('svc-a', s))).access_token;
    await w.admin.remove('svc-a', [(await w.admin.get('svc-a')).version], REQ(NOW_S));
    expect(w.ledger.states.get('service:svc-a')?.disabled).toBe(true);
    w.clock.advance(5000);
    await w.account('svc-a');
    expect((await refused(w.token({ grant_type: EXCHANGE, subject_token: t, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN }))).code).toBe('invalid_grant');
  });

  it('rotate with revoke_tokens kills tokens issued so far', async () => {
    const w = await world();
    const s = await w.account('svc-a');
    const t = (await w.token(CC, basic('svc-a', s))).access_token;
    await w.admin.rotateSecret('svc-a', { revoke_tokens: true }, [(await w.admin.get('svc-a')).version], REQ(NOW_S));
    expect((await refused(w.token({ grant_type: EXCHANGE, subject_token: t, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN }))).code).toBe('invalid_grant');
  });
});

describe('token exchange (RFC 8693)', () => {
  async function gatewayToken(w: World, id: string, params: Record<string, string> = {}): Promise<string> {
    const s = await w.account(id);
    return (await w.token({ ...CC, ...params }, basic(id, s))).access_token;
  }

  it('a gateway token → a token bound to one workload', async () => {
    const w = await world();
    const t = await gatewayToken(w, 'svc-a');
    const r = await w.token({ grant_type: EXCHANGE, subject_token: t, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, audience: 'inventory' });
    expect(r).toMatchObject({ token_type: 'Bearer', issued_token_type: TOKEN_TYPE_ACCESS_TOKEN });
    const { payload } = await claimsOf(w, r.access_token, 'inventory');
    expect(payload).toMatchObject({ sub: 'service:svc-a', aud: 'inventory', client_id: 'svc-a' });
    expect(payload).not.toHaveProperty('act');
    // requested_token_type jwt is the same access token
    const j = await w.token({ grant_type: EXCHANGE, subject_token: t, subject_token_type: TOKEN_TYPE_JWT, requested_token_type: TOKEN_TYPE_JWT, audience: 'inventory' });
    expect(decodeProtectedHeader(j.access_token).typ).toBe('at+jwt');
  });

  it('a token bound to one workload cannot become one for another (B → C)', async () => {
    const w = await world();
    const forB = await gatewayToken(w, 'svc-b', { audience: 'billing' });
    expect((await refused(w.token({ grant_type: EXCHANGE, subject_token: forB, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, audience: 'inventory' }))).code).toBe('invalid_grant');
    expect((await refused(w.token({ grant_type: EXCHANGE, subject_token: forB, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN }))).code).toBe('invalid_grant');
    // …but it can be narrowed to an assertion for B itself.
    const r = await w.token({ grant_type: EXCHANGE, subject_token: forB, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, requested_token_type: TOKEN_TYPE_ASSERTION, audience: 'billing', htm: 'POST', htu: '/pay?x=1' });
    expect(r.issued_token_type).toBe(TOKEN_TYPE_ASSERTION);
  });

  it('→ a per-request assertion for a direct call: the guard accepts it once, for that method and path only', async () => {
    const w = await world();
    const t = await gatewayToken(w, 'svc-a');
    const r = await w.token({ grant_type: EXCHANGE, subject_token: t, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, requested_token_type: TOKEN_TYPE_ASSERTION, resource: 'https://inventory.example.com/', htm: 'GET', htu: '/items/7?full=1' });
    expect(r).toMatchObject({ token_type: 'N_A', issued_token_type: TOKEN_TYPE_ASSERTION });
    expect(r.expires_in).toBeLessThanOrEqual(30);
    expect(decodeProtectedHeader(r.access_token)).toMatchObject({ typ: 'tollgate-assertion+jwt', alg: 'EdDSA' });
    const keys = await createStaticKeySource(w.keyRing.jwks);
    const guard = (target: string, method: string, audience = 'inventory') =>
      verifyAssertion(target, method, { 'tollgate-assertion': r.access_token }, { issuer: ORIGIN, audience, keys, replayCache, clock: fixedClock(w.clock.now()) });
    const replayCache = createReplayCache();
    expect((await guard('/items/8', 'GET')).ok).toBe(false);
    expect((await guard('/items/7?full=1', 'POST')).ok).toBe(false);
    expect((await guard('/items/7?full=1', 'GET', 'billing')).ok).toBe(false);
    const ok = await guard('/items/7?full=1', 'GET');
    expect(ok.ok && ok.claims).toMatchObject({ sub: 'service:svc-a', aud: 'inventory', htm: 'GET', htu: '/items/7?full=1', roles: ['inventory-reader'], rid: 'rid-1' });
    expect((await guard('/items/7?full=1', 'GET')).ok).toBe(false);
    expect(w.events.at(-1)).toMatchObject({ outcome: 'issued', tokenType: 'assertion', method: 'GET', target: '/items/7?full=1', workload: 'inventory' });
  });

  it.each([
    ['no htm/htu', {}, 'invalid_request'],
    ['no htu', { htm: 'GET' }, 'invalid_request'],
    ['a htu that is not a path', { htm: 'GET', htu: 'items/7' }, 'invalid_request'],
    ['a htu with a space', { htm: 'GET', htu: '/items /7' }, 'invalid_request'],
    ['a htu with a fragment', { htm: 'GET', htu: '/items#7' }, 'invalid_request'],
    ['a bad method', { htm: 'G ET', htu: '/items/7' }, 'invalid_request'],
    ['a path the policy does not allow', { htm: 'GET', htu: '/admin' }, 'invalid_target'],
    ['a method the policy does not allow', { htm: 'DELETE', htu: '/items/7' }, 'invalid_target'],
  ])('assertion with %s → %s', async (_n, params, code) => {
    const w = await world();
    const t = await gatewayToken(w, 'svc-a');
    expect((await refused(w.token({ grant_type: EXCHANGE, subject_token: t, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, requested_token_type: TOKEN_TYPE_ASSERTION, audience: 'inventory', ...params }))).code).toBe(code);
  });

  it('an assertion needs a workload target', async () => {
    const w = await world();
    const t = await gatewayToken(w, 'svc-a');
    expect((await refused(w.token({ grant_type: EXCHANGE, subject_token: t, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, requested_token_type: TOKEN_TYPE_ASSERTION, htm: 'GET', htu: '/' }))).code).toBe('invalid_target');
  });

  it.each([
    ['no subject_token', { subject_token_type: TOKEN_TYPE_ACCESS_TOKEN }, 'invalid_request'],
    ['no subject_token_type', { subject_token: 'x' }, 'invalid_request'],
    ['an unknown subject_token_type', { subject_token: 'x', subject_token_type: 'urn:x' }, 'invalid_request'],
    ['an unknown requested_token_type', { subject_token: 'x', subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, requested_token_type: 'urn:ietf:params:oauth:token-type:saml2' }, 'invalid_request'],
    ['actor_token without its type', { subject_token: 'x', subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, actor_token: 'y' }, 'invalid_request'],
    ['a garbage subject_token', { subject_token: 'x.y.z', subject_token_type: TOKEN_TYPE_ACCESS_TOKEN }, 'invalid_grant'],
  ])('%s → %s', async (_n, params, code) => {
    const w = await world();
    expect((await refused(w.token({ grant_type: EXCHANGE, ...params }))).code).toBe(code);
  });

  it('an expired subject token, and an admin (user) token, are invalid_grant', async () => {
    const w = await world();
    const t = await gatewayToken(w, 'svc-a');
    w.clock.advance(700_000);
    expect((await refused(w.token({ grant_type: EXCHANGE, subject_token: t, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN }))).code).toBe('invalid_grant');
    const { mintAccessToken } = await import('../../../src/token/index.js');
    const { cryptoRandom } = await import('../../../src/platform/index.js');
    const user = await mintAccessToken({ issuer: ORIGIN, audience: ORIGIN, subject: 'user:abcdefghijkl:alice', clientId: 'x', lifetimeSeconds: 300 }, w.keyRing.active, { now: w.clock.now(), random: cryptoRandom });
    expect((await refused(w.token({ grant_type: EXCHANGE, subject_token: user, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN }))).code).toBe('invalid_grant');
  });

  it('delegation: actor_token → act = {sub: actor}; both must be allowed; chains nest', async () => {
    const w = await world();
    const subject = await gatewayToken(w, 'svc-b');
    const actor = await gatewayToken(w, 'svc-a');
    const r = await w.token({ grant_type: EXCHANGE, subject_token: subject, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, actor_token: actor, actor_token_type: TOKEN_TYPE_ACCESS_TOKEN, audience: 'inventory' });
    const { payload } = await claimsOf(w, r.access_token, 'inventory');
    expect(payload).toMatchObject({ sub: 'service:svc-b', act: { sub: 'service:svc-a' }, client_id: 'svc-a' });
    // svc-a may not use billing: the delegated token for billing is refused even though svc-b may.
    expect((await refused(w.token({ grant_type: EXCHANGE, subject_token: subject, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, actor_token: actor, actor_token_type: TOKEN_TYPE_ACCESS_TOKEN, audience: 'billing' }))).code).toBe('invalid_target');
    // Re-delegating the delegated gateway token nests the chain.
    const viaGateway = await w.token({ grant_type: EXCHANGE, subject_token: subject, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, actor_token: actor, actor_token_type: TOKEN_TYPE_ACCESS_TOKEN });
    const third = await gatewayToken(w, 'deployer');
    const nested = await w.token({ grant_type: EXCHANGE, subject_token: viaGateway.access_token, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, actor_token: third, actor_token_type: TOKEN_TYPE_ACCESS_TOKEN, requested_token_type: TOKEN_TYPE_ASSERTION, audience: 'inventory', htm: 'GET', htu: '/items' });
    const act = JSON.parse(Buffer.from(nested.access_token.split('.')[1]!, 'base64url').toString()).act;
    expect(act).toEqual({ sub: 'service:deployer', act: { sub: 'service:svc-a' } });
    expect(w.events.at(-1)?.act).toEqual(['service:deployer', 'service:svc-a']);
  });

  it('an authenticated client exchanging another principal’s token becomes the actor; an actor_token must name that client', async () => {
    const w = await world();
    const subject = await gatewayToken(w, 'svc-b');
    const s = await w.account('svc-a');
    const r = await w.token({ grant_type: EXCHANGE, subject_token: subject, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, audience: 'inventory' }, basic('svc-a', s));
    expect((await claimsOf(w, r.access_token, 'inventory')).payload).toMatchObject({ sub: 'service:svc-b', act: { sub: 'service:svc-a' }, client_id: 'svc-a' });
    const other = await gatewayToken(w, 'deployer');
    expect((await refused(w.token({ grant_type: EXCHANGE, subject_token: subject, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, actor_token: other, actor_token_type: TOKEN_TYPE_ACCESS_TOKEN }, basic('svc-a', s)))).code).toBe('invalid_grant');
  });

  it('a trusted external JWT → a Tollgate token for its mapped service', async () => {
    const w = await world();
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'gh-1', alg: 'RS256' };
    await w.addIssuer({
      id: 'github', preset: 'github-actions', issuer: 'https://token.actions.githubusercontent.com', description: '', jwks: { keys: [jwk] },
      audiences: [ORIGIN], algorithms: ['RS256'], maxLifetimeSeconds: 3600, disabled: false, createdAt: 0, updatedAt: 0, version: 1,
      rules: [{ service: 'deployer', claims: { repository: 'octo-org/deploy', ref: 'refs/heads/main' } }],
    });
    const gh = await new SignJWT({ repository: 'octo-org/deploy', ref: 'refs/heads/main' })
      .setProtectedHeader({ alg: 'RS256', kid: 'gh-1' }).setIssuer('https://token.actions.githubusercontent.com').setAudience(ORIGIN)
      .setSubject('repo:octo-org/deploy:ref:refs/heads/main').setIssuedAt(NOW_S).setExpirationTime(NOW_S + 300).sign(privateKey);
    const r = await w.token({ grant_type: EXCHANGE, subject_token: gh, subject_token_type: TOKEN_TYPE_JWT, audience: 'inventory' });
    const { payload } = await claimsOf(w, r.access_token, 'inventory');
    expect(payload).toMatchObject({ sub: 'service:deployer', client_id: 'deployer' });
    expect(r.expires_in).toBe(300);
    expect(w.events.at(-1)).toMatchObject({ outcome: 'issued', subject: 'service:deployer', issuer: 'github', externalSubject: 'repo:octo-org/deploy:ref:refs/heads/main' });
    const wrongRef = await new SignJWT({ repository: 'octo-org/deploy', ref: 'refs/heads/dev' })
      .setProtectedHeader({ alg: 'RS256', kid: 'gh-1' }).setIssuer('https://token.actions.githubusercontent.com').setAudience(ORIGIN)
      .setIssuedAt(NOW_S).setExpirationTime(NOW_S + 300).sign(privateKey);
    expect((await refused(w.token({ grant_type: EXCHANGE, subject_token: wrongRef, subject_token_type: TOKEN_TYPE_JWT }))).code).toBe('invalid_grant');
  });

  it('exchanges are rate-limited per principal when no client authenticates', async () => {
    const w = await world({ rateLimit: 2 });
    const t = await gatewayToken(w, 'svc-a');
    w.clock.advance(60_000);
    await w.token({ grant_type: EXCHANGE, subject_token: t, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN });
    await w.token({ grant_type: EXCHANGE, subject_token: t, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN });
    expect((await refused(w.token({ grant_type: EXCHANGE, subject_token: t, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN }))).code).toBe('temporarily_unavailable');
  });
});

describe('clock sanity', () => {
  it('NOW is what the world uses', () => {
    expect(NOW).toBe(Date.UTC(2026, 5, 1, 12, 0, 0));
  });
});
