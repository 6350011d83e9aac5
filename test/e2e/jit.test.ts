// Just-in-time access, end to end: the admin grants bob a binding to billing
// that expires in a few seconds, through the admin API with the demo admin
// token that `npm start` mints; bob (Chromium) gets in; the binding expires;
// bob's next request is refused with the reason shown in words.
import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { reasonInWords } from '../../src/http/pages.js';
import { userSubject } from '../../src/token/index.js';
import { browserAvailability, launchChromium, loopbackContext, type IsolatedContext } from '../support/browser.js';
import { loopbackFetch } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/stack.js';

const browsers = browserAvailability();
if (!browsers.run) console.warn(`[e2e] browser tests skipped: ${browsers.reason}`);

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

const admin = (path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
  loopbackFetch(`${stack.origin}/admin/v1${path}`, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${readFileSync(stack.adminToken.file, 'utf8').trim()}`,
      accept: 'application/json',
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(init.headers ?? {}),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the demo admin token', () => {
  it('is written 0600 and is an 8-hour RFC 9068 token for the demo admin on the admin API', async () => {
    const file = stack.adminToken.file;
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const token = readFileSync(file, 'utf8').trim();
    expect(token).toBe(stack.demoAdminToken);
    const [h, p] = token.split('.').slice(0, 2).map((s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Record<string, unknown>);
    expect(h!.typ).toBe('at+jwt');
    expect(p).toMatchObject({ iss: stack.origin, aud: `${stack.origin}/admin/v1`, sub: await userSubject(stack.idp.issuer, 'admin'), groups: ['admins'] });
    expect((p!.exp as number) - (p!.iat as number)).toBe(8 * 3600);
    const res = await admin('/roles');
    expect(res.status).toBe(200);
    const roles = (await res.json()) as { items: { id: string; permissions: string[] }[] };
    expect(roles.items.find((r) => r.id === 'tollgate-admin')?.permissions).toEqual(['admin']);
  });

  it('is refused once tampered with', async () => {
    const token = stack.demoAdminToken;
    const res = await loopbackFetch(`${stack.origin}/admin/v1/roles`, { headers: { authorization: `Bearer ${token.slice(0, -4)}AAAA` } });
    expect(res.status).toBe(401);
  });
});

describe.skipIf(!browsers.run)(browsers.run ? 'bob’s just-in-time access to billing, in Chromium' : `in Chromium (skipped: ${browsers.reason})`, () => {
  let browser: Browser;
  let bob: IsolatedContext;
  let page: Page;

  beforeAll(async () => {
    browser = await launchChromium();
    bob = await loopbackContext(browser);
    page = await bob.context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('the admin grants it through the API, bob gets in, it expires, bob is refused with the reason in words', async () => {
    const billing = stack.workload('billing');
    const bobSubject = await userSubject(stack.idp.issuer, 'bob');

    // Bob starts without access: billing refuses him (and he is signed in from here on).
    await page.goto(billing.url);
    await page.waitForURL((u) => u.pathname.startsWith('/interaction/'));
    await page.getByLabel('Username').fill('bob');
    await page.getByLabel('Password').fill('bob-password');
    const firstDenied = page.waitForResponse((r) => new URL(r.url()).host === billing.host && r.status() === 403);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await firstDenied;

    // The grant: 12 s from now (room for the propagation bound and a page load), with a reason.
    const expiresAt = Math.floor(Date.now() / 1000) + 12;
    const created = await admin('/bindings', {
      method: 'POST',
      body: { id: 'jit-bob-billing', subject: { kind: 'user', value: bobSubject }, role_id: 'billing-user', expires_at: expiresAt, reason: 'JIT: incident 42' },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('etag')).toMatch(/^"\d+"$/);

    // Live within the propagation bound (POLICY_REFRESH_SECONDS, 5 s here; local KV is instant).
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) {
      const res = await page.goto(billing.url);
      status = res?.status() ?? 0;
      if (status !== 200) await sleep(500);
    }
    expect(status).toBe(200);
    await expect(page.getByRole('heading', { name: 'Billing' }).isVisible()).resolves.toBe(true);
    await expect(page.getByTestId('user').textContent()).resolves.toBe(bobSubject);
    expect(Date.now() / 1000).toBeLessThan(expiresAt);

    // The binding expires; bob's next request is refused, and the page says why.
    await sleep(Math.max(0, expiresAt * 1000 - Date.now()) + 1500);
    const res = await page.goto(billing.url);
    expect(res?.status()).toBe(403);
    const requestId = res!.headers()['tollgate-request-id'];
    const text = await page.locator('body').innerText();
    expect(text).toContain(reasonInWords('binding-expired'));
    expect(text).toContain('binding-expired');
    expect(text).toContain(requestId!);

    // The binding is still on record (expired, not deleted), with its reason.
    const stored = await admin('/bindings/jit-bob-billing');
    expect(await stored.json()).toMatchObject({ expires_at: expiresAt, reason: 'JIT: incident 42' });
    expect(bob.blocked).toEqual([]);
  });
});
