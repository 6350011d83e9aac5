/**
 * The denial experience: a policy deny answers a browser with a page that
 * names each failed condition in words a person can act on (one table,
 * src/http/pages.ts), the request id, who is signed in, a sign-out link and —
 * where a fresh sign-in helps — a "Sign in again" button; API clients get the
 * same as problem+json (`reasons` + human `details`). No policy internals.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SessionClaims } from '../../src/session/index.js';
import { createD1Store } from '../../src/store/index.js';
import { API, NAVIGATE, expectRequestId, gw, hostSession, signIn, testCodec } from './support/client.js';
import { BILLING } from './support/constants.js';

const now = () => Math.floor(Date.now() / 1000);

async function resealed(cookie: string, change: Partial<SessionClaims>): Promise<string> {
  const codec = await testCodec();
  const claims = (await codec.open<SessionClaims>('session', cookie, now()))!;
  const next = { ...claims, ...change };
  return codec.seal('session', next, Math.max(1, next.expiresAt - now()), now());
}

let billing: string;

beforeAll(async () => {
  const store = createD1Store({ DB: env.DB, CONFIG: env.CONFIG });
  await store.configWriter.putRole({
    id: 'billing-strong',
    permissions: [],
    grants: [
      { id: 'pay', workload: 'billing', methods: ['POST'], paths: ['/pay'], conditions: { maxAuthAgeSeconds: 43200 } },
      { id: 'pay-fast', workload: 'billing', methods: ['POST'], paths: ['/pay'], conditions: { maxAuthAgeSeconds: 3600 } },
      { id: 'vault', workload: 'billing', methods: ['GET'], paths: ['/vault/**'], conditions: { minDeviceTrust: 'high', mfa: true } },
      { id: 'night', workload: 'billing', methods: ['GET'], paths: ['/night'], conditions: { timeWindows: [{ start: '02:00', end: '02:01', timeZone: 'Pacific/Kiritimati' }] } },
      { id: 'geo', workload: 'billing', methods: ['GET'], paths: ['/geo'], conditions: { countries: ['DE'] } },
    ],
  });
  await store.configWriter.putBinding({ id: 'eng-billing-strong', subject: { kind: 'group', value: 'engineering' }, roleId: 'billing-strong' });
  await store.configWriter.putRole({ id: 'billing-temp', permissions: [], grants: [{ id: 'all', workload: 'billing', methods: ['GET'], paths: ['/temp/**'] }] });
  await store.configWriter.putBinding({ id: 'eng-temp', subject: { kind: 'group', value: 'engineering' }, roleId: 'billing-temp', expiresAt: now() - 10, reason: 'INC-1' });
  await store.version.publish(await store.configWriter.bumpVersion());
  billing = await hostSession(await signIn('alice'), BILLING);
});

describe('country conditions read request.cf (only when some rule needs it)', () => {
  it.each([
    ['DE', 200],
    ['FR', 403],
    [undefined, 403],
  ] as const)('cf.country %s → %i', async (country, status) => {
    const init = { headers: { ...API, cookie: `tg_session=${billing}` }, ...(country ? { cf: { country } } : {}) };
    const res = await gw(`http://${BILLING}/geo`, init as RequestInit);
    expect(res.status).toBe(status);
    if (status === 403) expect(((await res.json()) as { reasons: string[] }).reasons).toContain('country-not-allowed');
    else await res.body?.cancel();
  });
});

describe('deny page', () => {
  it('auth too old: "older than 12 hours — sign in again", a Sign in again button, who is signed in, sign out, request id', async () => {
    const old = await resealed(billing, { authTime: now() - 50_000 });
    const res = await gw(`http://${BILLING}/pay`, { method: 'POST', headers: { ...NAVIGATE, cookie: `tg_session=${old}` } });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(html).toContain('Your sign-in is older than 12 hours — sign in again.');
    expect(html).toContain('<code>auth-too-old</code>');
    expect(html).toContain('<form method="post" action="/.tollgate/logout"><button type="submit">Sign in again</button></form>');
    expect(html).toContain('Signed in as <strong>alice@example.com</strong>');
    expect(html).toContain('<a href="/.tollgate/logout">Sign out</a>');
    expect(html).toContain(expectRequestId(res));
    for (const internal of ['billing-strong', 'pay-fast', 'eng-billing-strong', '43200', 'roleId', 'grantId']) expect(html).not.toContain(internal);
  });

  it.each([
    ['/vault/x', 'GET', ['This needs a managed device.', 'This needs multi-factor sign-in.'], true],
    ['/temp/x', 'GET', ['Your temporary access has expired. Ask for your access to be extended.'], false],
    ['/night', 'GET', ['Access outside allowed hours. Try again during the allowed hours.'], false],
    ['/nothing', 'GET', ['None of your roles allows this request. Ask an administrator for access and quote the request id.'], false],
  ] as const)('%s: the failed conditions in words', async (path, method, words, signInAgain) => {
    const res = await gw(`http://${BILLING}${path}`, { method, headers: { ...NAVIGATE, cookie: `tg_session=${billing}` } });
    expect(res.status).toBe(403);
    const html = await res.text();
    for (const w of words) expect(html).toContain(w);
    expect(html.includes('Sign in again</button>')).toBe(signInAgain);
    expect(html).toContain('Signed in as');
  });
});

describe('deny problem+json', () => {
  it('the same reasons as codes, plus human details; no internals', async () => {
    const old = await resealed(billing, { authTime: now() - 50_000 });
    const res = await gw(`http://${BILLING}/pay`, { method: 'POST', headers: { ...API, cookie: `tg_session=${old}` } });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual({
      type: 'https://tollgate.dev/problems/forbidden',
      title: 'Access denied',
      status: 403,
      detail: 'Your request was denied by policy.',
      request_id: expectRequestId(res),
      reasons: ['auth-too-old'],
      details: [{ reason: 'auth-too-old', detail: 'Your sign-in is older than 12 hours — sign in again.', action: 'Sign in again.' }],
    });
  });

  it('several reasons, each with its words', async () => {
    const res = await gw(`http://${BILLING}/vault/1`, { headers: { ...API, cookie: `tg_session=${billing}` } });
    const body = (await res.json()) as { reasons: string[]; details: { reason: string; detail: string }[] };
    expect(body.reasons).toEqual(['device-untrusted', 'mfa-required']);
    expect(body.details.map((d) => d.detail)).toEqual(['This needs a managed device.', 'This needs multi-factor sign-in.']);
  });
});
