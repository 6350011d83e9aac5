/**
 * Sessions: sealed, host-bound cookies; idle and absolute timeouts; sign-out
 * with server-side revocation (RevocationLedger) and RP-initiated logout; a
 * revoked or tampered cookie is refused and cleared; the check fails closed.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { buildGateway } from '../../functions/gateway.js';
import { silentLogger, systemClock } from '../../src/platform/index.js';
import { ledgerClient, type RevocationLedger } from '../../src/revocation/index.js';
import type { SessionClaims } from '../../src/session/index.js';
import { BILLING, GATEWAY_ORIGIN, INVENTORY } from './support/constants.js';
import { API, NAVIGATE, expectRequestId, gw, hostSession, setCookies, signIn, testCodec } from './support/client.js';

const whoami = (session: string, headers: Record<string, string> = API) =>
  gw(`${GATEWAY_ORIGIN}/auth/whoami`, { headers: { ...headers, cookie: `tg_session=${session}` } });
const onHost = (host: string, session: string, headers: Record<string, string> = API, path = '/') =>
  gw(`http://${host}${path}`, { headers: { ...headers, cookie: `tg_session=${session}` } });
const now = () => Math.floor(Date.now() / 1000);

function expectCleared(res: Response): void {
  const c = setCookies(res).get('tg_session');
  expect(c?.value).toBe('');
  expect(c?.raw).toMatch(/Max-Age=0/);
}

async function claimsOf(cookie: string): Promise<SessionClaims> {
  return (await (await testCodec()).open<SessionClaims>('session', cookie, now()))!;
}

async function reseal(claims: SessionClaims): Promise<string> {
  return (await testCodec()).seal('session', claims, Math.max(1, claims.expiresAt - now()), now());
}

describe('session cookies', () => {
  it('a tampered cookie is refused (401 for API clients, hand-off for browsers) and cleared', async () => {
    const host = await hostSession(await signIn('alice'), INVENTORY);
    const i = Math.floor(host.length / 2);
    const tampered = host.slice(0, i) + (host[i] === 'A' ? 'B' : 'A') + host.slice(i + 1);
    const api = await onHost(INVENTORY, tampered);
    expect(api.status).toBe(401);
    expect(api.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expectCleared(api);
    const browser = await onHost(INVENTORY, tampered, NAVIGATE);
    expect(browser.status).toBe(302);
    expect(browser.headers.get('location')).toMatch(/^http:\/\/127\.0\.0\.1:8787\/auth\/handoff\?/);
    expectCleared(browser);
  });

  it('a cookie sealed with another key or for another purpose is refused', async () => {
    const host = await hostSession(await signIn('alice'), INVENTORY);
    const claims = await claimsOf(host);
    const asNonce = await (await testCodec()).seal('nonce', claims, 600, now());
    expect((await onHost(INVENTORY, asNonce)).status).toBe(401);
    const { createCookieCodec } = await import('../../src/session/index.js');
    const other = await createCookieCodec('x'.repeat(43));
    expect((await onHost(INVENTORY, await other.seal('session', claims, 600, now()))).status).toBe(401);
  });

  it('a session for host A is refused on host B, and the origin cookie is refused on a workload host', async () => {
    const origin = await signIn('admin');
    const inv = await hostSession(origin, INVENTORY);
    expect((await onHost(INVENTORY, inv)).status).toBe(403); // admin holds no inventory role here: a decision, so the session worked
    const onB = await onHost(BILLING, inv);
    expect(onB.status).toBe(401);
    expectCleared(onB);
    expect((await onHost(BILLING, origin)).status).toBe(401);
    expect((await whoami(inv)).status).toBe(401);
    const billing = await hostSession(origin, BILLING);
    expect((await onHost(BILLING, billing)).status).toBe(200);
  });

  it('the session carries the host, the Tollgate subject, groups and the absolute lifetime', async () => {
    const origin = await signIn('alice');
    const claims = await claimsOf(origin);
    expect(claims.host).toBe('127.0.0.1:8787');
    expect(claims.expiresAt - claims.createdAt).toBe(43200);
    expect(claims.sub).toMatch(/^user:[A-Za-z0-9_-]{12}:alice$/);
    expect(claims.groups).toEqual(['engineering']);
    expect(claims.authTime).toBeGreaterThan(now() - 60);
  });

  it('an idle-expired session is refused; an old-but-idle-valid one works and is re-issued', async () => {
    const host = await hostSession(await signIn('alice'), INVENTORY);
    const claims = await claimsOf(host);
    const idle = await reseal({ ...claims, seenAt: now() - 7201 });
    const refused = await onHost(INVENTORY, idle);
    expect(refused.status).toBe(401);
    expectCleared(refused);

    const stale = await reseal({ ...claims, seenAt: now() - 400 });
    const ok = await onHost(INVENTORY, stale);
    expect(ok.status).toBe(200);
    const reissued = setCookies(ok).get('tg_session')!;
    expect(reissued.value).not.toBe('');
    expect((await claimsOf(reissued.value)).seenAt).toBeGreaterThanOrEqual(now() - 2);

    const fresh = await onHost(INVENTORY, host);
    expect(fresh.status).toBe(200);
    expect(setCookies(fresh).get('tg_session')).toBeUndefined(); // no re-issue while fresh
  });

  it('an absolutely expired session is refused', async () => {
    const host = await hostSession(await signIn('alice'), INVENTORY);
    const claims = await claimsOf(host);
    const expired = await (await testCodec()).seal('session', { ...claims, expiresAt: now() - 1 }, 600, now());
    expect((await onHost(INVENTORY, expired)).status).toBe(401);
  });
});

describe('over https', () => {
  it('cookies are Secure with the __Host- prefix, and the hand-off stays on https', async () => {
    const app = await buildGateway({ ...env, TOLLGATE_ORIGIN: 'https://127.0.0.1:8787' } as Env, { logger: silentLogger });
    const login = await app.fetch(new Request('https://127.0.0.1:8787/auth/login', { headers: NAVIGATE }));
    expect(login.status).toBe(302);
    const tx = login.headers.getSetCookie()[0]!;
    expect(tx).toMatch(/^__Host-tg_auth=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=600; Secure$/);
    expect(new URL(login.headers.get('location')!).searchParams.get('redirect_uri')).toBe('https://127.0.0.1:8787/auth/callback');
    const start = await app.fetch(new Request(`https://${INVENTORY}/x`, { headers: NAVIGATE }));
    expect(start.status).toBe(302);
    expect(start.headers.get('location')).toMatch(/^https:\/\/127\.0\.0\.1:8787\/auth\/handoff\?/);
    expect(start.headers.getSetCookie()[0]).toMatch(/^__Host-tg_nonce=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=60; Secure$/);
    // The plain-http names are not read over https.
    const host = await hostSession(await signIn('alice'), INVENTORY);
    const res = await app.fetch(new Request(`https://${INVENTORY}/`, { headers: { ...API, cookie: `tg_session=${host}` } }));
    expect(res.status).toBe(401);
  });
});

describe('sign-out', () => {
  it('POST /auth/logout revokes the session everywhere, clears the cookie and signs out at the IdP', async () => {
    const origin = await signIn('alice');
    const host = await hostSession(origin, INVENTORY);
    const sid = (await claimsOf(origin)).sid;
    expect((await onHost(INVENTORY, host)).status).toBe(200);

    const res = await gw(`${GATEWAY_ORIGIN}/auth/logout`, {
      method: 'POST',
      headers: { ...NAVIGATE, origin: GATEWAY_ORIGIN, cookie: `tg_session=${origin}` },
    });
    expect(res.status).toBe(303);
    expectCleared(res);
    expectRequestId(res);
    const loc = new URL(res.headers.get('location')!);
    const issuer = (env as unknown as { OIDC_ISSUER: string }).OIDC_ISSUER;
    expect(loc.origin).toBe(new URL(issuer).origin);
    expect(loc.pathname).toBe('/session/end');
    expect(loc.searchParams.get('client_id')).toBe('tollgate');
    expect(loc.searchParams.get('post_logout_redirect_uri')).toBe(`${GATEWAY_ORIGIN}/auth/signed-out`);

    // Replayed later: refused and cleared — on the origin and on the host (same sid).
    const replay = await whoami(origin);
    expect(replay.status).toBe(401);
    expectCleared(replay);
    const replayHost = await onHost(INVENTORY, host);
    expect(replayHost.status).toBe(401);
    expectCleared(replayHost);
    // The ledger and the D1 row agree.
    expect(await ledgerClient(env.REVOCATIONS as DurableObjectNamespace<RevocationLedger>).isRevoked(sid)).toBe(true);
    const row = await env.DB.prepare('SELECT revoked_at FROM sessions WHERE id = ?').bind(sid).first<{ revoked_at: number }>();
    expect(row!.revoked_at).toBeGreaterThan(0);
    // A fresh gateway (another isolate's view: no cache) also refuses it.
    const other = await buildGateway({ ...env } as Env, { clock: systemClock, logger: silentLogger });
    const elsewhere = await other.fetch(new Request(`http://${INVENTORY}/`, { headers: { ...API, cookie: `tg_session=${host}` } }));
    expect(elsewhere.status).toBe(401);
  });

  it('the IdP end-session URL works (RP-initiated logout)', async () => {
    const origin = await signIn('alice');
    const res = await gw(`${GATEWAY_ORIGIN}/auth/logout`, {
      method: 'POST',
      headers: { origin: GATEWAY_ORIGIN, cookie: `tg_session=${origin}` },
    });
    // The IdP accepts client_id + post_logout_redirect_uri (a mismatch would be its error page).
    const page = await fetch(res.headers.get('location')!, { redirect: 'manual' });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/session\/end\/confirm/);
  });

  it.each([
    ['a cross-site Origin', { origin: 'http://evil.example' }],
    ['a workload host Origin', { origin: `http://${INVENTORY}` }],
    ['Sec-Fetch-Site cross-site without Origin', { 'sec-fetch-site': 'cross-site' }],
    ['neither Origin nor Sec-Fetch-Site', {}],
    ['Origin null', { origin: 'null' }],
  ])('refuses a sign-out POST with %s (CSRF) and keeps the session', async (_n, headers) => {
    const origin = await signIn('alice');
    const res = await gw(`${GATEWAY_ORIGIN}/auth/logout`, {
      method: 'POST',
      headers: { ...API, ...headers, cookie: `tg_session=${origin}` },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect((await whoami(origin)).status).toBe(200);
  });

  it('accepts Sec-Fetch-Site: same-origin without Origin', async () => {
    const origin = await signIn('alice');
    const res = await gw(`${GATEWAY_ORIGIN}/auth/logout`, {
      method: 'POST',
      headers: { 'sec-fetch-site': 'same-origin', cookie: `tg_session=${origin}` },
    });
    expect(res.status).toBe(303);
    expect((await whoami(origin)).status).toBe(401);
  });

  it('GET /auth/logout is a page with a POST form; /auth/signed-out says so', async () => {
    const page = await gw(`${GATEWAY_ORIGIN}/auth/logout`, { headers: NAVIGATE });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(/<form method="post" action="\/auth\/logout">/);
    expect(html).not.toMatch(/<(script|link|img)\b/i);
    const out = await gw(`${GATEWAY_ORIGIN}/auth/signed-out`, { headers: NAVIGATE });
    expect(out.status).toBe(200);
    expect(await out.text()).toMatch(/signed out/i);
  });

  it('sign-out on a workload host (/.tollgate/logout) revokes the shared session', async () => {
    const origin = await signIn('alice');
    const host = await hostSession(origin, INVENTORY);
    const page = await onHost(INVENTORY, host, NAVIGATE, '/.tollgate/logout');
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/action="\/\.tollgate\/logout"/);
    const cross = await gw(`http://${INVENTORY}/.tollgate/logout`, {
      method: 'POST',
      headers: { origin: GATEWAY_ORIGIN, cookie: `tg_session=${host}` },
    });
    expect(cross.status).toBe(403);
    const res = await gw(`http://${INVENTORY}/.tollgate/logout`, {
      method: 'POST',
      headers: { origin: `http://${INVENTORY}`, cookie: `tg_session=${host}` },
    });
    expect(res.status).toBe(303);
    expectCleared(res);
    expect(res.headers.get('location')).toMatch(/\/session\/end\?/);
    expect((await onHost(INVENTORY, host)).status).toBe(401);
    expect((await whoami(origin)).status).toBe(401);
  });

  it('sign-out without a session still ends at the IdP and sets no session', async () => {
    const res = await gw(`${GATEWAY_ORIGIN}/auth/logout`, { method: 'POST', headers: { origin: GATEWAY_ORIGIN } });
    expect(res.status).toBe(303);
    expectCleared(res);
  });
});

describe('revocation fails closed', () => {
  it('a ledger error is a 500 with a request id, never a forwarded request', async () => {
    const origin = await signIn('alice');
    const host = await hostSession(origin, INVENTORY);
    const broken = await buildGateway(env, {
      logger: silentLogger,
      ledger: {
        revoke: async () => {
          throw new Error('ledger down');
        },
        isRevoked: async () => {
          throw new Error('ledger down');
        },
      },
    });
    for (const headers of [API, NAVIGATE]) {
      const res = await broken.fetch(new Request(`http://${INVENTORY}/`, { headers: { ...headers, cookie: `tg_session=${host}` } }));
      expect(res.status).toBe(500);
      expectRequestId(res);
      const body = await res.text();
      expect(body).not.toMatch(/ledger down/);
    }
  });
});
