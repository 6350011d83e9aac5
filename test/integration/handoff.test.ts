/**
 * Sign-in across hosts (docs/architecture.md "the hand-off"): nonce cookie on
 * the workload host, /auth/handoff on the origin, one-time code hashed in D1,
 * /.tollgate/callback redeems it once, within 30 s, only with the nonce cookie,
 * only on its host. Never a session token in a URL.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { buildGateway } from '../../functions/gateway.js';
import { sha256b64url } from '../../src/auth/index.js';
import { fixedClock, silentLogger } from '../../src/platform/index.js';
import { BILLING, GATEWAY_ORIGIN, INVENTORY } from './support/constants.js';
import {
  API,
  NAVIGATE,
  PASSWORDS,
  beginHandoff,
  cookieOf,
  expectRequestId,
  gw,
  idpFetch,
  setCookies,
  signIn,
} from './support/client.js';
import { loginWithPassword } from '../../scripts/idp/login.js';

const redeem = (callbackUrl: string, nonce?: string, headers: Record<string, string> = NAVIGATE) =>
  gw(callbackUrl, { headers: { ...headers, ...(nonce ? { cookie: `tg_nonce=${nonce}` } : {}) } });

function noSession(res: Response): void {
  const c = setCookies(res).get('tg_session');
  expect(c === undefined || c.value === '').toBe(true);
}

describe('the hand-off', () => {
  it('binds a nonce, issues a hashed one-time code, redeems it once and returns to the path', async () => {
    const origin = await signIn('alice');
    const steps = await beginHandoff(origin, INVENTORY, '/x/y?z=1&w=%2F');

    // 1. The workload host: nonce cookie (sealed, 60 s) and a redirect to the origin's hand-off.
    const nonceCookie = setCookies(steps.start).get('tg_nonce')!;
    expect(nonceCookie.raw).toMatch(/HttpOnly/);
    expect(nonceCookie.raw).toMatch(/SameSite=Lax/);
    expect(nonceCookie.raw).toMatch(/Max-Age=60/);
    expect(nonceCookie.raw).not.toMatch(/Domain=/i);
    const handoff = new URL(steps.handoffUrl);
    expect(handoff.origin).toBe(GATEWAY_ORIGIN);
    expect(handoff.pathname).toBe('/auth/handoff');
    expect(handoff.searchParams.get('host')).toBe(INVENTORY);
    expect(handoff.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(handoff.searchParams.get('return')).toBe('/x/y?z=1&w=%2F');

    // 2. The origin: a code for that host only.
    const cb = new URL(steps.callbackUrl);
    expect(`${cb.protocol}//${cb.host}${cb.pathname}`).toBe(`http://${INVENTORY}/.tollgate/callback`);
    const code = cb.searchParams.get('code')!;
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect([...cb.searchParams.keys()]).toEqual(['code']);
    // No session token in any URL of the flow.
    for (const url of [steps.handoffUrl, steps.callbackUrl]) expect(url).not.toContain(origin);

    // Stored hashed, bound to the host and the nonce hash, expiring within 30 s.
    const row = await env.DB.prepare('SELECT * FROM handoff_codes WHERE code_hash = ?').bind(await sha256b64url(code)).first<Record<string, unknown>>();
    expect(row).toMatchObject({ host: INVENTORY, nonce_hash: handoff.searchParams.get('nonce'), return_path: '/x/y?z=1&w=%2F' });
    expect(Number(row!.expires_at) - Date.now() / 1000).toBeLessThanOrEqual(30);
    expect(Number(row!.expires_at) - Date.now() / 1000).toBeGreaterThan(25);
    expect(await env.DB.prepare('SELECT count(*) AS n FROM handoff_codes WHERE code_hash = ?').bind(code).first('n')).toBe(0);
    expect(String(row!.session_seal)).not.toContain(origin);

    // 3. Redeem: host session cookie, nonce cleared, back to the path.
    const res = await redeem(steps.callbackUrl, steps.nonce);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/x/y?z=1&w=%2F');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const cookies = setCookies(res);
    expect(cookies.get('tg_nonce')?.value).toBe('');
    const host = cookies.get('tg_session')!;
    expect(host.value).not.toBe(origin);
    expect(host.raw).toMatch(/HttpOnly/);
    expect(host.raw).not.toMatch(/Domain=/i);
    // The row is gone (single use).
    expect(await env.DB.prepare('SELECT count(*) AS n FROM handoff_codes WHERE code_hash = ?').bind(await sha256b64url(code)).first('n')).toBe(0);

    const ok = await gw(`http://${INVENTORY}/x/y?z=1&w=%2F`, { headers: { ...API, cookie: `tg_session=${host.value}` } });
    expect(ok.status).toBe(200);
  });

  it('a used code is refused the second time', async () => {
    const origin = await signIn('alice');
    const steps = await beginHandoff(origin, INVENTORY);
    expect((await redeem(steps.callbackUrl, steps.nonce)).status).toBe(302);
    const again = await redeem(steps.callbackUrl, steps.nonce);
    expect(again.status).toBe(400);
    expect(again.headers.get('content-type')).toMatch(/text\/html/);
    noSession(again);
    expectRequestId(again);
  });

  it('refuses a redemption without the nonce cookie, or with another browser’s nonce', async () => {
    const origin = await signIn('alice');
    const steps = await beginHandoff(origin, INVENTORY);
    const missing = await redeem(steps.callbackUrl);
    expect(missing.status).toBe(400);
    noSession(missing);
    // Another browser (an attacker who obtained the code) has its own nonce cookie.
    const other = cookieOf(await gw(`http://${INVENTORY}/`, { headers: NAVIGATE }), 'tg_nonce');
    const foreign = await redeem(steps.callbackUrl, other);
    expect(foreign.status).toBe(400);
    noSession(foreign);
    // That attempt burned the code: even the right browser cannot use it now.
    expect((await redeem(steps.callbackUrl, steps.nonce)).status).toBe(400);
  });

  it('any presentation burns the code, even without a nonce cookie (a leaked code dies at once)', async () => {
    const origin = await signIn('alice');
    const steps = await beginHandoff(origin, INVENTORY);
    expect((await redeem(steps.callbackUrl)).status).toBe(400);
    expect((await redeem(steps.callbackUrl, steps.nonce)).status).toBe(400);
  });

  it('a code issued for host A is refused on host B', async () => {
    const origin = await signIn('alice');
    const steps = await beginHandoff(origin, INVENTORY);
    const code = new URL(steps.callbackUrl).searchParams.get('code')!;
    const onB = `http://${BILLING}/.tollgate/callback?code=${code}`;
    // With B's own nonce cookie …
    const bNonce = cookieOf(await gw(`http://${BILLING}/`, { headers: NAVIGATE }), 'tg_nonce');
    const res = await redeem(onB, bNonce);
    expect(res.status).toBe(400);
    noSession(res);
    // … or with A's nonce value copied over (it is sealed to host A).
    const steps2 = await beginHandoff(origin, INVENTORY);
    const code2 = new URL(steps2.callbackUrl).searchParams.get('code')!;
    const res2 = await redeem(`http://${BILLING}/.tollgate/callback?code=${code2}`, steps2.nonce);
    expect(res2.status).toBe(400);
    noSession(res2);
  });

  it('without a gateway session the hand-off goes through sign-in and comes back (full browser chain)', async () => {
    // 1. Workload host, no cookies at all.
    const start = await gw(`http://${INVENTORY}/deep/link?q=1`, { headers: NAVIGATE });
    expect(start.status).toBe(302);
    const nonce = cookieOf(start, 'tg_nonce');
    const handoffUrl = start.headers.get('location')!;
    // 2. Origin hand-off, no session → sign-in with the hand-off as return URL.
    const toLogin = await gw(handoffUrl, { headers: NAVIGATE });
    expect(toLogin.status).toBe(302);
    const login = new URL(toLogin.headers.get('location')!);
    expect(login.origin + login.pathname).toBe(`${GATEWAY_ORIGIN}/auth/login`);
    expect(login.searchParams.get('return')).toBe(handoffUrl);
    // 3. Sign-in at the IdP.
    const toIdp = await gw(login.href, { headers: NAVIGATE });
    const tx = cookieOf(toIdp, 'tg_auth');
    const callback = await loginWithPassword(toIdp.headers.get('location')!, 'alice', PASSWORDS.alice!, idpFetch);
    const signedIn = await gw(callback, { headers: { ...NAVIGATE, cookie: `tg_auth=${tx}` } });
    expect(signedIn.status).toBe(302);
    expect(signedIn.headers.get('location')).toBe(handoffUrl);
    const origin = cookieOf(signedIn, 'tg_session');
    // 4. Hand-off again, now with a session → code → host callback → the deep link.
    const issued = await gw(handoffUrl, { headers: { ...NAVIGATE, cookie: `tg_session=${origin}` } });
    expect(issued.status).toBe(302);
    const back = await redeem(issued.headers.get('location')!, nonce);
    expect(back.status).toBe(302);
    expect(back.headers.get('location')).toBe('/deep/link?q=1');
    const host = cookieOf(back, 'tg_session');
    const page = await gw(`http://${INVENTORY}/deep/link?q=1`, { headers: { ...NAVIGATE, cookie: `tg_session=${host}` } });
    expect(page.status).toBe(200);
  });

  it('an API client without a gateway session gets 401 at the hand-off', async () => {
    const start = await gw(`http://${INVENTORY}/`, { headers: NAVIGATE });
    const res = await gw(start.headers.get('location')!, { headers: API });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it.each([
    ['host not in the catalog', { host: 'evil.localhost:8787', nonce: 'n'.repeat(43), return: '/' }],
    ['host is the origin', { host: '127.0.0.1:8787', nonce: 'n'.repeat(43), return: '/' }],
    ['malformed host', { host: 'inventory.localhost:8787/x', nonce: 'n'.repeat(43), return: '/' }],
    ['malformed nonce', { host: INVENTORY, nonce: 'short', return: '/' }],
    ['protocol-relative return', { host: INVENTORY, nonce: 'n'.repeat(43), return: '//evil.example/' }],
    ['backslash return', { host: INVENTORY, nonce: 'n'.repeat(43), return: '/\\evil.example/' }],
    ['absolute return', { host: INVENTORY, nonce: 'n'.repeat(43), return: 'https://evil.example/' }],
    ['control character in return', { host: INVENTORY, nonce: 'n'.repeat(43), return: '/a\r\nb' }],
    ['missing return', { host: INVENTORY, nonce: 'n'.repeat(43) }],
  ])('refuses a hand-off request with %s (400)', async (_name, params) => {
    const origin = await signIn('bob');
    const res = await gw(`${GATEWAY_ORIGIN}/auth/handoff?${new URLSearchParams(params as Record<string, string>)}`, {
      headers: { ...API, cookie: `tg_session=${origin}` },
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('location')).toBeNull();
  });

  it.each([
    ['no code', ''],
    ['empty code', '?code='],
    ['short code', '?code=abc'],
    ['two codes', `?code=${'a'.repeat(43)}&code=${'b'.repeat(43)}`],
    ['bad characters', `?code=${'%FF'.repeat(15)}`],
    ['unknown code', `?code=${'a'.repeat(43)}`],
  ])('refuses a callback with %s (400)', async (_name, q) => {
    const nonce = cookieOf(await gw(`http://${INVENTORY}/`, { headers: NAVIGATE }), 'tg_nonce');
    const res = await redeem(`http://${INVENTORY}/.tollgate/callback${q}`, nonce, API);
    expect(res.status).toBe(400);
    noSession(res);
  });
});

describe('the hand-off under a frozen clock', () => {
  async function issue(clock: ReturnType<typeof fixedClock>) {
    const app = await buildGateway(env, { clock, logger: silentLogger });
    const call = (url: string, headers: Record<string, string>) => app.fetch(new Request(url, { headers, redirect: 'manual' }));
    const origin = await signIn('alice');
    const start = await call(`http://${INVENTORY}/p`, NAVIGATE);
    const nonce = cookieOf(start, 'tg_nonce');
    const issued = await call(start.headers.get('location')!, { ...NAVIGATE, cookie: `tg_session=${origin}` });
    expect(issued.status).toBe(302);
    return { call, nonce, callbackUrl: issued.headers.get('location')! };
  }

  it('a code is refused 30 s after issue', async () => {
    const clock = fixedClock(Date.now());
    const { call, nonce, callbackUrl } = await issue(clock);
    clock.advance(30_000);
    const res = await call(callbackUrl, { ...NAVIGATE, cookie: `tg_nonce=${nonce}` });
    expect(res.status).toBe(400);
    noSession(res);
  });

  it('a code is accepted 29 s after issue', async () => {
    const clock = fixedClock(Date.now());
    const { call, nonce, callbackUrl } = await issue(clock);
    clock.advance(29_000);
    const res = await call(callbackUrl, { ...NAVIGATE, cookie: `tg_nonce=${nonce}` });
    expect(res.status).toBe(302);
    cookieOf(res, 'tg_session');
  });

  it('the nonce cookie itself expires after 60 s', async () => {
    const clock = fixedClock(Date.now());
    const app = await buildGateway(env, { clock, logger: silentLogger });
    const start = await app.fetch(new Request(`http://${INVENTORY}/`, { headers: NAVIGATE, redirect: 'manual' }));
    const nonce = cookieOf(start, 'tg_nonce');
    clock.advance(61_000);
    const origin = await signIn('alice');
    const issued = await app.fetch(
      new Request(start.headers.get('location')!, { headers: { ...NAVIGATE, cookie: `tg_session=${origin}` }, redirect: 'manual' }),
    );
    // The origin session was created at real time; the frozen clock is 61 s ahead: still valid.
    expect(issued.status).toBe(302);
    const res = await app.fetch(
      new Request(issued.headers.get('location')!, { headers: { ...NAVIGATE, cookie: `tg_nonce=${nonce}` }, redirect: 'manual' }),
    );
    expect(res.status).toBe(400);
  });
});
