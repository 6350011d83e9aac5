// OIDC sign-in steps (src/auth/oidc.ts) without a network: openid-client talks to
// an in-process IdP through the injected fetch. The real IdP is exercised in
// test/integration/signin.test.ts.
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildSignInRequest,
  configurationFromMetadata,
  createOidcClient,
  identityFromClaims,
  newTransaction,
  scopeFor,
  type FetchLike,
  type OidcSettings,
  type SignInTransaction,
} from '../../../src/auth/oidc.js';
import { isTollgateError } from '../../../src/errors.js';
import { fixedClock } from '../../../src/platform/index.js';

const ISSUER = 'https://idp.test';
const settings: OidcSettings = {
  issuer: ISSUER,
  clientId: 'tollgate',
  clientSecret: 'client-secret',
  redirectUri: 'https://gw.test/auth/callback',
  postLogoutRedirectUri: 'https://gw.test/auth/signed-out',
  allowInsecureRequests: false,
};
const metadata = {
  issuer: ISSUER,
  authorization_endpoint: `${ISSUER}/auth`,
  token_endpoint: `${ISSUER}/token`,
  jwks_uri: `${ISSUER}/jwks`,
  userinfo_endpoint: `${ISSUER}/me`,
  end_session_endpoint: `${ISSUER}/session/end`,
  scopes_supported: ['openid', 'email', 'profile', 'groups'],
  authorization_response_iss_parameter_supported: true,
  id_token_signing_alg_values_supported: ['RS256'],
};

let signingKey: CryptoKey;
let otherKey: CryptoKey;
let publicJwk: JWK;

beforeAll(async () => {
  const kp = await generateKeyPair('RS256');
  signingKey = kp.privateKey;
  publicJwk = { ...(await exportJWK(kp.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  otherKey = (await generateKeyPair('RS256')).privateKey;
});

interface FakeIdp {
  fetch: FetchLike;
  calls: string[];
  /** What the next token response should be. */
  token: { nonce?: string; claims?: Record<string, unknown>; key?: CryptoKey; status?: number; body?: unknown; throws?: boolean };
  discoveryFails: boolean;
  lastTokenRequest?: { authorization: string | null; body: URLSearchParams };
}

function fakeIdp(): FakeIdp {
  const idp: FakeIdp = {
    calls: [],
    token: {},
    discoveryFails: false,
    fetch: async (input, init) => {
      const url = new URL(String(input instanceof Request ? input.url : input));
      idp.calls.push(url.pathname);
      const json = (body: unknown, status = 200) =>
        new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
      switch (url.pathname) {
        case '/.well-known/openid-configuration':
          if (idp.discoveryFails) throw new TypeError('fetch failed');
          return json(metadata);
        case '/jwks':
          return json({ keys: [publicJwk] });
        case '/me':
          return json({ sub: 'alice', email: 'alice@example.com', groups: ['from-userinfo'] });
        case '/token': {
          const headers = new Headers(init?.headers);
          idp.lastTokenRequest = { authorization: headers.get('authorization'), body: new URLSearchParams(String(init?.body)) };
          if (idp.token.throws) throw new TypeError('connection reset');
          if (idp.token.status) return json(idp.token.body ?? {}, idp.token.status);
          const now = Math.floor(Date.now() / 1000);
          const idToken = await new SignJWT({
            nonce: idp.token.nonce,
            email: 'alice@example.com',
            groups: ['engineering'],
            amr: ['pwd'],
            auth_time: now - 5,
            ...idp.token.claims,
          })
            .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
            .setIssuer(ISSUER)
            .setAudience((idp.token.claims?.aud as string | undefined) ?? 'tollgate')
            .setSubject('alice')
            .setIssuedAt(now)
            .setExpirationTime(now + 300)
            .sign(idp.token.key ?? signingKey);
          return json({ access_token: 'at', token_type: 'Bearer', expires_in: 300, id_token: idToken });
        }
        default:
          return json({ error: 'not_found' }, 404);
      }
    },
  };
  return idp;
}

/** A client, a started sign-in and a matching authorization response. */
async function started(idp = fakeIdp()) {
  const oidc = createOidcClient({ settings, fetch: idp.fetch, clock: fixedClock(Date.now()) });
  const { url, tx } = await oidc.startSignIn('https://gw.test/auth/whoami');
  idp.token.nonce = tx.nonce;
  const response = new URLSearchParams({ code: 'the-code', state: tx.state, iss: ISSUER });
  return { idp, oidc, url, tx, response };
}

async function refusedWith(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toSatisfy((e: unknown) => isTollgateError(e) && e.code === code);
}

describe('paired steps without a client', () => {
  it('builds the authorization request from metadata alone', async () => {
    const config = configurationFromMetadata(metadata, settings, fakeIdp().fetch);
    const tx: SignInTransaction = newTransaction('https://gw.test/', scopeFor(metadata));
    const url = await buildSignInRequest(config, tx, settings.redirectUri);
    expect(url.origin + url.pathname).toBe(`${ISSUER}/auth`);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: 'tollgate',
      redirect_uri: settings.redirectUri,
      scope: 'openid email profile groups',
      state: tx.state,
      nonce: tx.nonce,
      code_challenge_method: 'S256',
    });
    expect(url.searchParams.get('code_challenge')).not.toBe(tx.verifier);
  });

  it('refuses metadata for another issuer', () => {
    expect(() => configurationFromMetadata({ ...metadata, issuer: 'https://other.test' }, settings, fakeIdp().fetch)).toThrow(
      /issuer/,
    );
  });

  it('asks for groups only where the IdP supports it', () => {
    expect(scopeFor({ issuer: ISSUER, scopes_supported: ['openid', 'email'] })).toBe('openid email profile');
    expect(scopeFor({ issuer: ISSUER })).toBe('openid email profile');
  });

  it.each([
    [{ iss: ISSUER, sub: 'a' }, undefined, { issuer: ISSUER, sub: 'a', groups: [] }],
    [{ iss: ISSUER, sub: 'a', groups: ['g'], email: 'a@x', amr: ['pwd'], acr: '1', auth_time: 5.5 }, undefined,
      { issuer: ISSUER, sub: 'a', groups: ['g'], email: 'a@x', amr: ['pwd'], acr: '1', authTime: 5 }],
    [{ iss: ISSUER, sub: 'a' }, { email: 'u@x', groups: ['u'] }, { issuer: ISSUER, sub: 'a', groups: ['u'], email: 'u@x' }],
    [{ iss: ISSUER, sub: 'a', email: 'a@x', email_verified: false }, undefined, { issuer: ISSUER, sub: 'a', groups: [] }],
    [{ iss: ISSUER, sub: 'a', groups: 'not-a-list' }, undefined, { issuer: ISSUER, sub: 'a', groups: [] }],
    [{ iss: ISSUER, sub: 'a', groups: ['ok', 7, '', 'x'.repeat(300)] }, undefined, { issuer: ISSUER, sub: 'a', groups: ['ok'] }],
  ])('identityFromClaims %#', (id, userinfo, expected) => {
    expect(identityFromClaims(id, userinfo)).toEqual(expected);
  });

  it('caps the number of groups', () => {
    const groups = Array.from({ length: 500 }, (_, i) => `g${i}`);
    expect(identityFromClaims({ iss: ISSUER, sub: 'a', groups }).groups).toHaveLength(100);
  });
});

describe('createOidcClient', () => {
  it('completes a sign-in: client_secret_basic, PKCE verifier, nonce, ID token signature', async () => {
    const { idp, oidc, tx, response } = await started();
    const identity = await oidc.completeSignIn(response, tx);
    expect(identity).toMatchObject({ issuer: ISSUER, sub: 'alice', email: 'alice@example.com', groups: ['engineering'], amr: ['pwd'] });
    // RFC 6749 §2.3.1: id and secret are form-encoded, then base64 — never sent in the body.
    const basic = atob(idp.lastTokenRequest!.authorization!.replace(/^Basic /, '')).split(':').map(decodeURIComponent);
    expect(basic).toEqual(['tollgate', 'client-secret']);
    expect(idp.lastTokenRequest!.body.get('code_verifier')).toBe(tx.verifier);
    expect(idp.lastTokenRequest!.body.get('redirect_uri')).toBe(settings.redirectUri);
    expect(idp.lastTokenRequest!.body.get('client_secret')).toBeNull();
  });

  it('falls back to userinfo when the ID token has no groups', async () => {
    const { idp, oidc, tx, response } = await started();
    idp.token.claims = { groups: undefined };
    const identity = await oidc.completeSignIn(response, tx);
    expect(identity.groups).toEqual(['from-userinfo']);
    expect(idp.calls).toContain('/me');
  });

  it('caches discovery per client; a failed discovery is not cached', async () => {
    const idp = fakeIdp();
    idp.discoveryFails = true;
    const oidc = createOidcClient({ settings, fetch: idp.fetch, clock: fixedClock(Date.now()) });
    await refusedWith(oidc.startSignIn('https://gw.test/'), 'upstream-unreachable');
    idp.discoveryFails = false;
    await oidc.startSignIn('https://gw.test/');
    await oidc.startSignIn('https://gw.test/');
    expect(idp.calls.filter((c) => c === '/.well-known/openid-configuration')).toHaveLength(2);
  });

  it.each([
    ['a wrong state', (r: URLSearchParams) => r.set('state', 'other')],
    ['no state', (r: URLSearchParams) => r.delete('state')],
    ['a wrong iss', (r: URLSearchParams) => r.set('iss', 'https://evil.test')],
    ['no iss (advertised)', (r: URLSearchParams) => r.delete('iss')],
    ['no code', (r: URLSearchParams) => r.delete('code')],
    ['an error response', (r: URLSearchParams) => r.set('error', 'access_denied')],
  ])('refuses %s with bad-request before the token endpoint', async (_n, mutate) => {
    const { idp, oidc, tx, response } = await started();
    mutate(response);
    await refusedWith(oidc.completeSignIn(response, tx), 'bad-request');
    expect(idp.calls).not.toContain('/token');
  });

  it('refuses an ID token with another nonce, signed by another key, or for another audience', async () => {
    for (const [name, token] of [['nonce', { nonce: 'other' }], ['key', { key: otherKey }], ['aud', { claims: { aud: 'someone-else' } }]] as const) {
      const { idp, oidc, tx, response } = await started();
      idp.token = { ...idp.token, ...token };
      const outcome = await oidc.completeSignIn(response, tx).then(() => 'accepted', (e: unknown) => (isTollgateError(e) ? e.code : 'other'));
      expect(outcome, name).toBe('bad-request');
    }
  });

  it('maps token endpoint failures by kind', async () => {
    const cases: [FakeIdp['token'], string][] = [
      [{ status: 400, body: { error: 'invalid_grant' } }, 'bad-request'],
      [{ status: 401, body: { error: 'invalid_client' } }, 'upstream-unreachable'],
      [{ status: 500, body: 'oops' }, 'upstream-unreachable'],
      [{ throws: true }, 'upstream-unreachable'],
    ];
    for (const [token, code] of cases) {
      const { idp, oidc, tx, response } = await started();
      idp.token = { ...idp.token, ...token };
      await refusedWith(oidc.completeSignIn(response, tx), code);
    }
  });

  it('builds the RP-initiated logout URL', async () => {
    const { oidc } = await started();
    const url = (await oidc.endSessionUrl())!;
    expect(url.origin + url.pathname).toBe(`${ISSUER}/session/end`);
    expect(url.searchParams.get('client_id')).toBe('tollgate');
    expect(url.searchParams.get('post_logout_redirect_uri')).toBe(settings.postLogoutRedirectUri);
  });
});
