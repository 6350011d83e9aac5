// The whole stack, as `npm start` runs it: IdP, gateway under wrangler dev,
// guards, demo apps — driven by headless Chromium and by Node clients.
// A recording hop sits between the gateway and the inventory guard.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { userSubject } from '../../src/token/index.js';
import { browserAvailability, launchChromium, loopbackContext, type IsolatedContext } from '../support/browser.js';
import { loopbackFetch, rawRequest } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/stack.js';

const browsers = browserAvailability();
if (!browsers.run) console.warn(`[e2e] browser tests skipped: ${browsers.reason}`);

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ recordingHop: 'inventory' });
});
afterAll(async () => {
  await stack?.close();
});

const gatewayPort = () => stack.gateway.port;

describe('gateway and guards, from Node (no browser)', () => {
  it('publishes the signing keys at /.well-known/jwks.json', async () => {
    const res = await loopbackFetch(`${stack.origin}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    const jwks = await res.json() as { keys: { kid?: string; d?: string }[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const k of jwks.keys) {
      expect(k.kid).toBeTruthy();
      expect(k.d).toBeUndefined();
    }
  });

  it('answers an API client without a session with 401 problem+json and a request id', async () => {
    const res = await loopbackFetch(`${stack.workload('inventory').url}api/whoami`, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(res.headers.get('tollgate-request-id')).toBeTruthy();
  });

  it('sends a browser navigation without a session to sign-in', async () => {
    const w = stack.workload('inventory');
    const res = await rawRequest(gatewayPort(), 'GET', '/some/page?x=1', {
      host: w.host, accept: 'text/html', 'sec-fetch-mode': 'navigate',
    });
    expect(res.status).toBe(302);
    expect(new URL(String(res.headers.location), w.url).origin).toBe(stack.origin);
  });

  it('answers an unknown host with 404', async () => {
    const res = await rawRequest(gatewayPort(), 'GET', '/', { host: `nowhere.localhost:${gatewayPort()}`, accept: 'application/json' });
    expect(res.status).toBe(404);
  });

  it('a guard refuses a request that carries no assertion', async () => {
    const res = await rawRequest(stack.workload('billing').guard.port, 'GET', '/');
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});

describe.skipIf(!browsers.run)(browsers.run ? 'in Chromium' : `in Chromium (skipped: ${browsers.reason})`, () => {
  let browser: Browser;
  let alice: IsolatedContext;
  let alicePage: Page;
  const contexts: IsolatedContext[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    alice = await loopbackContext(browser);
    contexts.push(alice);
    alicePage = await alice.context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
  });

  const idpOrigin = () => new URL(stack.idp.issuer).origin;

  async function expectPasswordForm(page: Page): Promise<void> {
    await page.waitForURL((u) => u.origin === idpOrigin() && u.pathname.startsWith('/interaction/'));
    await expect(page.getByLabel('Password').isVisible()).resolves.toBe(true);
  }

  async function submitPassword(page: Page, username: string, password: string): Promise<void> {
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  it('the IdP refuses a wrong password', async () => {
    await alicePage.goto(stack.workload('inventory').url);
    await expectPasswordForm(alicePage);
    await submitPassword(alicePage, 'alice', 'not-her-password');
    await expect(alicePage.getByRole('alert').textContent()).resolves.toContain('Invalid username or password');
    expect(new URL(alicePage.url()).origin).toBe(idpOrigin());
  });

  it('alice signs in and sees the inventory app with her identity, verified by the guard', async () => {
    const w = stack.workload('inventory');
    await submitPassword(alicePage, 'alice', 'alice-password');
    await alicePage.waitForURL((u) => u.host === w.host);
    expect(alicePage.url()).toBe(w.url);
    await expect(alicePage.getByRole('heading', { name: 'Inventory' }).isVisible()).resolves.toBe(true);
    await expect(alicePage.getByTestId('verified').textContent()).resolves.toContain('verified by the Tollgate guard');
    const expectedSubject = await userSubject(stack.idp.issuer, 'alice');
    expect(expectedSubject).toMatch(/^user:[A-Za-z0-9_-]{12}:alice$/);
    await expect(alicePage.getByTestId('user').textContent()).resolves.toBe(expectedSubject);
    await expect(alicePage.getByTestId('email').textContent()).resolves.toBe('alice@example.com');
    await expect(alicePage.getByTestId('roles').textContent()).resolves.toContain('inventory-user');

    // Cookies ignore ports: the IdP's (on localhost) and the gateway's (127.0.0.1,
    // workload hosts) must never share a host name.
    const cookies = await alice.context.cookies();
    const idpHost = new URL(stack.idp.issuer).hostname;
    for (const c of cookies) {
      if (c.domain === idpHost) expect(c.name.startsWith('tg_')).toBe(false);
      else expect(c.name.startsWith('_session') || c.name.startsWith('_interaction')).toBe(false);
    }
    expect(cookies.some((c) => c.domain === w.host.split(':')[0] && c.name.startsWith('tg_session'))).toBe(true);
  });

  it('an assertion captured between gateway and guard is refused when replayed', async () => {
    const w = stack.workload('inventory');
    const hop = stack.hop;
    if (!hop) throw new Error('the stack has no recording hop');
    const target = `/api/whoami?replay-probe=${Date.now()}`;
    const res = await alicePage.goto(new URL(target, w.url).href);
    expect(res?.status()).toBe(200);
    const seen = hop.records.find((r) => r.target === target);
    expect(seen?.status).toBe(200);
    expect(seen?.assertion).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    // The gateway keeps its own cookies to itself.
    expect(String(seen?.headers.cookie ?? '')).not.toMatch(/tg_/);

    const replay = await rawRequest(w.guard.port, seen!.method, seen!.target, { 'tollgate-assertion': seen!.assertion! });
    expect(replay.status).toBe(401);
    expect(replay.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(replay.body).not.toContain('alice');
  });

  it('bob is denied billing: a 403 page with the reason and the request id', async () => {
    const bob = await loopbackContext(browser);
    contexts.push(bob);
    const page = await bob.context.newPage();
    const billing = stack.workload('billing');
    await page.goto(billing.url);
    await expectPasswordForm(page);
    const denied = page.waitForResponse((r) => new URL(r.url()).host === billing.host && r.status() === 403);
    await submitPassword(page, 'bob', 'bob-password');
    const res = await denied;
    const requestId = res.headers()['tollgate-request-id'];
    expect(requestId).toBeTruthy();
    await page.waitForLoadState();
    const text = await page.locator('body').innerText();
    expect(text).toContain('no-matching-grant');
    expect(text).toContain(requestId!);

    // Same session, a workload bob may use: no password, straight in.
    await page.goto(stack.workload('inventory').url);
    await expect(page.getByTestId('user').textContent()).resolves.toBe(await userSubject(stack.idp.issuer, 'bob'));
    await bob.context.close();
  });

  it('signing out (gateway, then the IdP confirmation) makes the next visit ask for a password', async () => {
    const w = stack.workload('inventory');
    await alicePage.goto(w.url);
    await alicePage.getByRole('button', { name: 'Sign out' }).click();
    // The IdP asks to confirm RP-initiated logout.
    await alicePage.waitForURL((u) => u.origin === idpOrigin());
    await alicePage.getByRole('button', { name: 'Sign out' }).click();
    await alicePage.waitForURL((u) => u.origin === stack.origin && u.pathname === '/auth/signed-out');

    await alicePage.goto(w.url);
    await expectPasswordForm(alicePage);
  });

  it('never tried to reach a non-loopback host', () => {
    expect(contexts.flatMap((c) => c.blocked)).toEqual([]);
  });
});
