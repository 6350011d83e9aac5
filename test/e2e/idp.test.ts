// The demo IdP on its own (no gateway): a real code flow with PKCE through
// openid-client, driven by the password helper the integration tests use.
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdp, type RunningIdp } from '../../scripts/idp/index.js';
import { IdpCookieJar, LoginError, loginWithPassword } from '../../scripts/idp/login.js';

const REDIRECT = 'http://127.0.0.1:1/auth/callback';
const SIGNED_OUT = 'http://127.0.0.1:1/auth/signed-out';

describe('demo IdP', () => {
  let idp: RunningIdp;
  let config: oidc.Configuration;

  beforeAll(async () => {
    idp = await startIdp({
      port: 0,
      clients: [{ client_id: 'tollgate', client_secret: 'test-secret', redirect_uris: [REDIRECT], post_logout_redirect_uris: [SIGNED_OUT] }],
      log: () => {},
    });
    config = await oidc.discovery(new URL(idp.issuer), 'tollgate', 'test-secret', undefined, {
      execute: [oidc.allowInsecureRequests],
    });
  });
  afterAll(() => idp?.close());

  async function authorization(extra: Record<string, string> = {}) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid email profile groups',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...extra,
    });
    return { url: url.href, verifier, state, nonce };
  }

  it('uses a localhost issuer and advertises RFC 9207 iss and the end-session endpoint', () => {
    expect(idp.issuer).toBe(`http://localhost:${idp.port}`);
    const md = config.serverMetadata();
    expect(md.authorization_response_iss_parameter_supported).toBe(true);
    expect(md.end_session_endpoint).toBe(`${idp.issuer}/session/end`);
    expect(md.code_challenge_methods_supported).toEqual(['S256']);
  });

  it('signs alice in with her password; the ID token carries email, name and groups', async () => {
    const a = await authorization();
    const callback = new URL(await loginWithPassword(a.url, 'alice', 'alice-password'));
    expect(callback.origin + callback.pathname).toBe(REDIRECT);
    expect(callback.searchParams.get('iss')).toBe(idp.issuer);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: a.verifier, expectedState: a.state, expectedNonce: a.nonce,
    });
    expect(tokens.claims()).toMatchObject({
      iss: idp.issuer, sub: 'alice', email: 'alice@example.com', name: 'Alice Example', groups: ['engineering'],
    });
  });

  it('refuses a wrong password and an unknown user', async () => {
    const a = await authorization();
    await expect(loginWithPassword(a.url, 'alice', 'bob-password')).rejects.toMatchObject({ code: 'invalid-credentials' });
    await expect(loginWithPassword(a.url, 'mallory', 'x')).rejects.toBeInstanceOf(LoginError);
  });

  it('requires PKCE', async () => {
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', state: 's' });
    const res = await fetch(url, { redirect: 'manual' });
    const location = new URL(res.headers.get('location') ?? '');
    expect(location.searchParams.get('error')).toBe('invalid_request');
  });

  it('RP-initiated logout shows a Sign out confirmation and ends the IdP session', async () => {
    const jar = new IdpCookieJar();
    const a = await authorization();
    await loginWithPassword(a.url, 'bob', 'bob-password', fetch, jar);
    // With the IdP session, a second authorization needs no password.
    const again = await authorization();
    const cb = new URL(await loginWithPassword(again.url, 'bob', 'wrong', fetch, jar));
    expect(cb.searchParams.get('code')).toBeTruthy();

    const end = oidc.buildEndSessionUrl(config, { post_logout_redirect_uri: SIGNED_OUT });
    const confirm = await fetch(end, { headers: { cookie: jar.header(end) ?? '' } });
    const html = await confirm.text();
    expect(html).toContain('>Sign out</button>');
    expect(html).not.toContain('fonts.googleapis');
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1] ?? '';
    const done = await fetch(new URL(action, idp.issuer), {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header(new URL(action, idp.issuer)) ?? '' },
      body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
    });
    jar.store(done);
    expect(done.headers.get('location')).toBe(SIGNED_OUT);

    // The session is gone: the password form comes back.
    const third = await authorization();
    await expect(loginWithPassword(third.url, 'bob', 'wrong', fetch, jar)).rejects.toMatchObject({ code: 'invalid-credentials' });
  });

  it('serves no page that loads an external asset', async () => {
    const a = await authorization();
    const res = await fetch(a.url, { redirect: 'manual' });
    const login = await fetch(new URL(res.headers.get('location') ?? '', idp.issuer), {
      headers: { cookie: res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ') },
    });
    const html = await login.text();
    expect(html).toContain('name="password"');
    expect(html).toContain('>Sign in</button>');
    expect(html).not.toMatch(/(src|href)="?https?:/i);
    expect(html).not.toContain('@import');
  });
});
