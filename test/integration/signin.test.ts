/**
 * OIDC sign-in against the real IdP (oidc-provider, scripts/idp): the
 * authorization request, every refusal at the callback, and a full sign-in.
 */
import { describe, expect, it } from 'vitest';
import type { SignInTransaction } from '../../src/auth/index.js';
import { GATEWAY_ORIGIN } from './support/constants.js';
import { API, NAVIGATE, authorize, cookieOf, expectRequestId, gw, setCookies, signIn, testCodec } from './support/client.js';

function noSession(res: Response): void {
  const c = setCookies(res).get('tg_session');
  expect(c === undefined || c.value === '').toBe(true);
}

/** The callback request a browser would make: the IdP's redirect plus the tx cookie. */
function callback(url: string, tx: string, headers: Record<string, string> = NAVIGATE): Promise<Response> {
  return gw(url, { headers: { ...headers, cookie: `tg_auth=${tx}` } });
}

function withParam(url: string, name: string, value: string | null): string {
  const u = new URL(url);
  if (value === null) u.searchParams.delete(name);
  else u.searchParams.set(name, value);
  return u.href;
}

describe('GET /auth/login', () => {
  it('redirects to the IdP with code flow, PKCE S256, state, nonce, redirect_uri and scope', async () => {
    const res = await gw(`${GATEWAY_ORIGIN}/auth/login`, { headers: NAVIGATE });
    expect(res.status).toBe(302);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expectRequestId(res);
    const loc = new URL(res.headers.get('location')!);
    const q = loc.searchParams;
    expect(loc.pathname).toBe('/auth');
    expect(q.get('response_type')).toBe('code');
    expect(q.get('client_id')).toBe('tollgate');
    expect(q.get('redirect_uri')).toBe(`${GATEWAY_ORIGIN}/auth/callback`);
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(q.get('nonce')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(q.get('nonce')).not.toBe(q.get('state'));
    // The dev IdP lists `groups` in scopes_supported.
    expect(q.get('scope')).toBe('openid email profile groups');

    const tx = setCookies(res).get('tg_auth')!;
    expect(tx.raw).toMatch(/HttpOnly/);
    expect(tx.raw).toMatch(/SameSite=Lax/);
    expect(tx.raw).toMatch(/Path=\//);
    expect(tx.raw).not.toMatch(/Domain=/i);
    expect(tx.raw).toMatch(/Max-Age=600/);
    // The transaction is sealed: neither state nor verifier is readable in the cookie.
    expect(tx.value).not.toContain(q.get('state')!);
    const opened = await (await testCodec()).open<SignInTransaction>('auth-tx', tx.value, Math.floor(Date.now() / 1000));
    expect(opened?.state).toBe(q.get('state'));
    expect(opened?.nonce).toBe(q.get('nonce'));
  });

  it('each sign-in gets a fresh state, nonce and verifier', async () => {
    const a = new URL((await gw(`${GATEWAY_ORIGIN}/auth/login`)).headers.get('location')!).searchParams;
    const b = new URL((await gw(`${GATEWAY_ORIGIN}/auth/login`)).headers.get('location')!).searchParams;
    expect(a.get('state')).not.toBe(b.get('state'));
    expect(a.get('nonce')).not.toBe(b.get('nonce'));
    expect(a.get('code_challenge')).not.toBe(b.get('code_challenge'));
  });

  it.each([
    ['https://evil.example/x'],
    ['//evil.example/x'],
    ['/\\evil.example'],
    [`${GATEWAY_ORIGIN}//evil.example`],
    [`${GATEWAY_ORIGIN}/\\evil.example`],
    ['http://127.0.0.1:8787.evil.example/'],
    ['http://inventory.localhost:8787/'],
    ['javascript:alert(1)'],
    [`${GATEWAY_ORIGIN}/a\r\nSet-Cookie:x=1`],
    [`${GATEWAY_ORIGIN}/a b`],
  ])('never redirects after sign-in to %s (falls back to the gateway home)', async (ret) => {
    const res = await gw(`${GATEWAY_ORIGIN}/auth/login?${new URLSearchParams({ return: ret })}`);
    const opened = await (await testCodec()).open<SignInTransaction>(
      'auth-tx',
      cookieOf(res, 'tg_auth'),
      Math.floor(Date.now() / 1000),
    );
    expect(opened?.returnTo).toBe(`${GATEWAY_ORIGIN}/auth/whoami`);
  });

  it('keeps a return URL on the gateway origin', async () => {
    const ret = `${GATEWAY_ORIGIN}/auth/handoff?host=x&nonce=y&return=%2F`;
    const res = await gw(`${GATEWAY_ORIGIN}/auth/login?${new URLSearchParams({ return: ret })}`);
    const opened = await (await testCodec()).open<SignInTransaction>('auth-tx', cookieOf(res, 'tg_auth'), Math.floor(Date.now() / 1000));
    expect(opened?.returnTo).toBe(ret);
  });
});

describe('GET /auth/callback', () => {
  it('a full sign-in ends with a session cookie and a redirect to the return URL', async () => {
    const { callback: cb, tx } = await authorize('alice', `${GATEWAY_ORIGIN}/auth/whoami`);
    expect(new URL(cb).searchParams.get('iss')).toBeTruthy();
    const res = await callback(cb, tx);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`${GATEWAY_ORIGIN}/auth/whoami`);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const cookies = setCookies(res);
    expect(cookies.get('tg_auth')?.value).toBe(''); // consumed
    const session = cookies.get('tg_session')!;
    expect(session.raw).toMatch(/HttpOnly/);
    expect(session.raw).toMatch(/SameSite=Lax/);
    expect(session.raw).not.toMatch(/Secure/); // http origin: no Secure, no __Host-
    // Nothing secret in the redirect.
    expect(res.headers.get('location')).not.toContain(session.value);

    const who = await gw(`${GATEWAY_ORIGIN}/auth/whoami`, { headers: { ...API, cookie: `tg_session=${session.value}` } });
    expect(who.status).toBe(200);
    const body = (await who.json()) as Record<string, unknown>;
    expect(body.subject).toMatch(/^user:[A-Za-z0-9_-]{12}:alice$/);
    expect(body.email).toBe('alice@example.com');
    expect(body.groups).toEqual(['engineering']);
    expect(body.roles).toEqual(['down-user', 'inventory-user']);
    const s = body.session as { id: string; expiresAt: number; idleExpiresAt: number };
    expect(s.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(s.expiresAt).toBeGreaterThan(Date.now() / 1000 + 40000);
    expect(s.idleExpiresAt).toBeLessThanOrEqual(s.expiresAt);

    // The session row exists in D1.
    const { env } = await import('cloudflare:workers');
    const row = await env.DB.prepare('SELECT subject, email FROM sessions WHERE id = ?').bind(s.id).first();
    expect(row).toEqual({ subject: body.subject, email: 'alice@example.com' });
  });

  it('refuses a wrong state', async () => {
    const { callback: cb, tx } = await authorize('alice');
    const res = await callback(withParam(cb, 'state', 'not-the-state'), tx);
    expect(res.status).toBe(400);
    noSession(res);
    expectRequestId(res);
  });

  it('refuses a missing state', async () => {
    const { callback: cb, tx } = await authorize('alice');
    const res = await callback(withParam(cb, 'state', null), tx, API);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    noSession(res);
  });

  it('refuses an ID token whose nonce is not the transaction nonce', async () => {
    const { callback: cb, tx } = await authorize('alice');
    const codec = await testCodec();
    const now = Math.floor(Date.now() / 1000);
    const opened = (await codec.open<SignInTransaction>('auth-tx', tx, now))!;
    const forged = await codec.seal('auth-tx', { ...opened, nonce: 'another-nonce-value-000000000' }, 600, now);
    const res = await callback(cb, forged);
    expect(res.status).toBe(400);
    noSession(res);
  });

  it('refuses a wrong PKCE verifier', async () => {
    const { callback: cb, tx } = await authorize('alice');
    const codec = await testCodec();
    const now = Math.floor(Date.now() / 1000);
    const opened = (await codec.open<SignInTransaction>('auth-tx', tx, now))!;
    const forged = await codec.seal('auth-tx', { ...opened, verifier: 'x'.repeat(43) }, 600, now);
    const res = await callback(cb, forged);
    expect(res.status).toBe(400);
    noSession(res);
  });

  it('refuses a code that is not the IdP’s', async () => {
    const { callback: cb, tx } = await authorize('alice');
    const res = await callback(withParam(cb, 'code', 'bogus-code'), tx);
    expect(res.status).toBe(400);
    noSession(res);
  });

  it('refuses a replayed code', async () => {
    const { callback: cb, tx } = await authorize('alice');
    const first = await callback(cb, tx);
    expect(first.status).toBe(302);
    const again = await callback(cb, tx);
    expect(again.status).toBe(400);
    noSession(again);
  });

  it('refuses a wrong iss (RFC 9207)', async () => {
    const { callback: cb, tx } = await authorize('alice');
    const res = await callback(withParam(cb, 'iss', 'http://localhost:1'), tx);
    expect(res.status).toBe(400);
    noSession(res);
  });

  it('refuses a missing iss when the IdP advertises it', async () => {
    const { callback: cb, tx } = await authorize('alice');
    const res = await callback(withParam(cb, 'iss', null), tx);
    expect(res.status).toBe(400);
    noSession(res);
  });

  it('refuses a callback without the transaction cookie (login CSRF)', async () => {
    const { callback: cb } = await authorize('alice');
    const res = await gw(cb, { headers: NAVIGATE });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    noSession(res);
  });

  it('refuses a tampered or foreign-purpose transaction cookie', async () => {
    const { callback: cb, tx } = await authorize('alice');
    const tampered = tx.slice(0, -3) + (tx.endsWith('A') ? 'BBB' : 'AAA');
    expect((await callback(cb, tampered)).status).toBe(400);
    const codec = await testCodec();
    const now = Math.floor(Date.now() / 1000);
    const opened = (await codec.open<SignInTransaction>('auth-tx', tx, now))!;
    const wrongPurpose = await codec.seal('nonce', opened, 600, now);
    const res = await callback(cb, wrongPurpose);
    expect(res.status).toBe(400);
    noSession(res);
  });

  it('refuses an IdP error response without a session', async () => {
    const { tx, authUrl } = await authorize('alice');
    const state = authUrl.searchParams.get('state')!;
    const url = `${GATEWAY_ORIGIN}/auth/callback?${new URLSearchParams({ error: 'access_denied', state, iss: authUrl.origin })}`;
    const res = await callback(url, tx);
    expect(res.status).toBe(400);
    noSession(res);
  });

  it.each([
    ['?'],
    ['?code=&state=&iss='],
    ['?code=a&code=b&state=x'],
    ['?code=%00%ff&state=%ZZ'],
    [`?code=${'a'.repeat(5000)}`],
    ['?response=%7B%22x%22%3A1%7D'],
  ])('malformed callback #%# → 400, never 500', async (q) => {
    const { tx } = await authorize('bob');
    const res = await callback(`${GATEWAY_ORIGIN}/auth/callback${q}`, tx, API);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { type: string }).type).toBe('https://tollgate.dev/problems/bad-request');
    noSession(res);
  });

  it('a second sign-in gets a new session id', async () => {
    const a = await signIn('bob');
    const b = await signIn('bob');
    const id = async (s: string) =>
      ((await (await gw(`${GATEWAY_ORIGIN}/auth/whoami`, { headers: { cookie: `tg_session=${s}` } })).json()) as {
        session: { id: string };
      }).session.id;
    expect(await id(a)).not.toBe(await id(b));
  });
});
