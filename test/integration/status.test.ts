/**
 * DESIGN §2's status table, row by row, for browser navigations and API
 * clients; malformed input anywhere is a 4xx (never a 500 or a hang); every
 * response carries Tollgate-Request-Id; no secret reaches a log line.
 */
import { createExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import worker, { buildGateway } from '../../functions/gateway.js';
import { silentLogger } from '../../src/platform/index.js';
import { BILLING, DOWN, EMPTY, GATEWAY_ORIGIN, INVENTORY, UPSTREAM_TIMEOUT_MS } from './support/constants.js';
import { API, NAVIGATE, authorize, beginHandoff, expectRequestId, gw, hostSession, setCookies, signIn } from './support/client.js';

let alice = { origin: '', inventory: '', billing: '', down: '' };

beforeAll(async () => {
  const origin = await signIn('alice');
  alice = {
    origin,
    inventory: await hostSession(origin, INVENTORY),
    billing: await hostSession(origin, BILLING),
    down: await hostSession(origin, DOWN),
  };
});

const as = (cookie: string, headers: Record<string, string>) => ({ ...headers, cookie: `tg_session=${cookie}` });

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  request_id: string;
  reasons?: string[];
}

async function problem(res: Response, status: number, code: string): Promise<Problem> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.headers.get('cache-control')).toBe('no-store');
  const rid = expectRequestId(res);
  const body = (await res.json()) as Problem;
  expect(body.type).toBe(`https://tollgate.dev/problems/${code}`);
  expect(body.status).toBe(status);
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect(body.request_id).toBe(rid);
  return body;
}

async function htmlPage(res: Response, status: number): Promise<string> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
  const rid = expectRequestId(res);
  const html = await res.text();
  expect(html).toContain(rid);
  // Self-contained: no scripts, stylesheets, images or fonts from anywhere.
  expect(html).not.toMatch(/<(script|link|img|iframe)\b/i);
  expect(html).not.toMatch(/https?:\/\//);
  return html;
}

describe('§2: no or invalid session', () => {
  it('browser → 302 to sign-in (via the hand-off on a workload host)', async () => {
    const res = await gw(`http://${INVENTORY}/x`, { headers: { 'sec-fetch-mode': 'navigate' } });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toMatch(/^http:\/\/127\.0\.0\.1:8787\/auth\/handoff\?/);
    expectRequestId(res);
    const onOrigin = await gw(`${GATEWAY_ORIGIN}/auth/whoami`, { headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(onOrigin.status).toBe(302);
    expect(onOrigin.headers.get('location')).toMatch(/^http:\/\/127\.0\.0\.1:8787\/auth\/login\?return=/);
    expectRequestId(onOrigin);
  });

  it('API client → 401 problem+json with WWW-Authenticate: Bearer', async () => {
    for (const url of [`http://${INVENTORY}/x`, `${GATEWAY_ORIGIN}/auth/whoami`]) {
      const res = await gw(url, { headers: API });
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
      const body = await problem(res, 401, 'unauthenticated');
      expect(body.reasons).toEqual(['no-session']);
    }
  });

  it('without any Accept header the client is an API client', async () => {
    const res = await gw(`http://${INVENTORY}/x`);
    expect(res.status).toBe(401);
  });
});

describe('§2: denied by policy', () => {
  it('browser → 403 page with the reasons in words, their codes and the request id, no internals', async () => {
    const res = await gw(`http://${BILLING}/ledger`, { headers: as(alice.billing, NAVIGATE) });
    const html = await htmlPage(res, 403);
    expect(html).toContain('None of your roles allows this request.');
    expect(html).toContain('no-matching-grant');
    for (const internal of ['billing-user', 'admins-billing', 'inventory-user', 'roleId', 'grantId', 'Error', 'at ']) expect(html).not.toContain(internal);
  });

  it('API client → 403 problem+json with reason codes', async () => {
    const body = await problem(await gw(`http://${BILLING}/ledger`, { headers: as(alice.billing, API) }), 403, 'forbidden');
    expect(body.reasons).toEqual(['no-matching-grant']);
  });

  it('an explicit deny wins over a grant', async () => {
    const body = await problem(
      await gw(`http://${INVENTORY}/forbidden/x`, { headers: as(alice.inventory, API) }),
      403,
      'forbidden',
    );
    expect(body.reasons).toEqual(['explicit-deny']);
    const html = await htmlPage(await gw(`http://${INVENTORY}/forbidden/x`, { headers: as(alice.inventory, NAVIGATE) }), 403);
    expect(html).toContain('A rule explicitly blocks this request.');
  });
});

describe('§2: unknown host', () => {
  it('browser → 404 page; API client → 404 problem+json', async () => {
    await htmlPage(await gw('http://unknown.localhost:8787/', { headers: NAVIGATE }), 404);
    await problem(await gw('http://unknown.localhost:8787/', { headers: API }), 404, 'not-found');
    // Port matters: the same name on another port is another authority.
    await problem(await gw('http://inventory.localhost:9999/', { headers: API }), 404, 'not-found');
  });

  it('the gateway origin serves only its routes', async () => {
    for (const path of ['/', '/admin', '/auth', '/auth/nope', '/.well-known/openid-configuration', '/.tollgate/callback']) {
      await problem(await gw(`${GATEWAY_ORIGIN}${path}`, { headers: API }), 404, 'not-found');
    }
  });

  it('/.tollgate/* on a workload host is reserved (404) and never forwarded', async () => {
    for (const path of ['/.tollgate/', '/.tollgate/healthz', '/.tollgate/callback/x', '/%2Etollgate/x']) {
      const res = await gw(`http://${INVENTORY}${path}`, { headers: as(alice.inventory, API) });
      await problem(res, 404, 'not-found');
    }
  });
});

describe('§2: upstream refused / timed out', () => {
  it('refused → 502 page / problem', async () => {
    await htmlPage(await gw(`http://${DOWN}/`, { headers: as(alice.down, NAVIGATE) }), 502);
    await problem(await gw(`http://${DOWN}/`, { headers: as(alice.down, API) }), 502, 'upstream-unreachable');
  });

  it('no usable endpoint → 502 for an allowed request; a denied one learns nothing about the upstream (403)', async () => {
    const alicesEmpty = await hostSession(alice.origin, EMPTY);
    await problem(await gw(`http://${EMPTY}/`, { headers: as(alicesEmpty, API) }), 502, 'upstream-unreachable');
    const bob = await signIn('bob');
    const bobsDown = await hostSession(bob, DOWN);
    const body = await problem(await gw(`http://${DOWN}/`, { headers: as(bobsDown, API) }), 403, 'forbidden');
    expect(body.reasons).toEqual(['no-matching-grant']);
  });

  it(`no response headers within UPSTREAM_TIMEOUT_MS (${UPSTREAM_TIMEOUT_MS} ms) → 504 page / problem`, async () => {
    const t0 = Date.now();
    await problem(await gw(`http://${INVENTORY}/slow?ms=6000`, { headers: as(alice.inventory, API) }), 504, 'upstream-timeout');
    expect(Date.now() - t0).toBeLessThan(UPSTREAM_TIMEOUT_MS + 2500);
    await htmlPage(await gw(`http://${INVENTORY}/slow?ms=6000`, { headers: as(alice.inventory, NAVIGATE) }), 504);
  });
});

// The remaining §2 rows are tested where the features live: 429 + Retry-After in
// oauth.test.ts (per-client limit on /oauth/token), 428 / 412 in admin-resources.test.ts.

describe('§2: malformed input anywhere → 400 (or the 401/404 of its row), never 500', () => {
  it('a malformed Host header → 400 page / problem', async () => {
    const app = await buildGateway(env, { logger: silentLogger });
    for (const host of ['bad host', 'a..b', 'inventory.localhost:8787:1', 'x:99999', '-x.example', 'a/b', '']) {
      for (const headers of [API, NAVIGATE]) {
        const req = new Request(`http://${INVENTORY}/`, { headers: { ...headers, host } });
        const res = await app.fetch(req);
        expect(res.status, host).toBe(400);
        expectRequestId(res);
        if (headers === API) await problem(res, 400, 'bad-request');
        else await htmlPage(res, 400);
      }
    }
  });

  it.each([
    ['garbage', 'tg_session=%%%'],
    ['empty', 'tg_session='],
    ['quoted', 'tg_session="abc"'],
    ['many', Array.from({ length: 50 }, (_, i) => `tg_session=x${i}`).join('; ')],
    ['binary-ish', 'tg_session=\u00ff\u00fe; x'],
    ['huge', `tg_session=${'A'.repeat(8000)}`],
    ['jwe-shaped', 'tg_session=eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAAA.BBBB.CCCC'],
    ['no equals', 'tg_session'],
  ])('malformed session cookie (%s) → 401 / 302, never 500', async (_n, cookie) => {
    const api = await gw(`http://${INVENTORY}/`, { headers: { ...API, cookie } });
    expect(api.status).toBe(401);
    const nav = await gw(`http://${INVENTORY}/`, { headers: { ...NAVIGATE, cookie } });
    expect(nav.status).toBe(302);
    const origin = await gw(`${GATEWAY_ORIGIN}/auth/whoami`, { headers: { ...API, cookie } });
    expect(origin.status).toBe(401);
  });

  it('malformed nonce / tx cookies → 400', async () => {
    const steps = await beginHandoff(alice.origin, INVENTORY);
    for (const nonce of ['%%%', '', 'x'.repeat(5000)]) {
      const res = await gw(steps.callbackUrl, { headers: { ...API, cookie: `tg_nonce=${nonce}` } });
      expect(res.status).toBe(400);
    }
    const { callback } = await authorize('bob');
    for (const tx of ['%%%', '', 'a.b.c.d.e']) {
      const res = await gw(callback, { headers: { ...API, cookie: `tg_auth=${tx}` } });
      expect(res.status).toBe(400);
    }
  });

  it('malformed paths and queries are forwarded or refused, never a 500', async () => {
    for (const path of ['/%', '/%zz', '/%00', '/%C0%AF', '/a%2F..%2Fb', '/?%', '/?a=%E0%A4%A', '//double//slash', '/\u00e9']) {
      const res = await gw(`http://${INVENTORY}${path}`, { headers: as(alice.inventory, API) });
      expect(res.status, path).toBeLessThan(500);
      expectRequestId(res);
    }
    const long = await gw(`http://${INVENTORY}/${'a'.repeat(20_000)}`, { headers: as(alice.inventory, API) });
    await problem(long, 400, 'bad-request');
  });

  it('wrong methods on gateway routes → 405 with Allow', async () => {
    const res = await gw(`${GATEWAY_ORIGIN}/auth/login`, { method: 'POST', headers: API });
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    await problem(res, 405, 'method-not-allowed');
    const put = await gw(`${GATEWAY_ORIGIN}/auth/logout`, { method: 'PUT', headers: API });
    expect(put.status).toBe(405);
  });
});

describe('request ids, caching, configuration errors', () => {
  it('every response carries a distinct Tollgate-Request-Id; auth responses are no-store', async () => {
    const responses = [
      await gw(`${GATEWAY_ORIGIN}/auth/login`),
      await gw(`${GATEWAY_ORIGIN}/auth/whoami`, { headers: as(alice.origin, API) }),
      await gw(`${GATEWAY_ORIGIN}/auth/logout`, { headers: NAVIGATE }),
      await gw(`${GATEWAY_ORIGIN}/auth/signed-out`),
      await gw(`${GATEWAY_ORIGIN}/auth/callback`),
      await gw(`${GATEWAY_ORIGIN}/.well-known/jwks.json`),
      await gw(`http://${INVENTORY}/`, { headers: as(alice.inventory, API) }),
      await gw(`http://${INVENTORY}/`, { headers: NAVIGATE }),
      await gw(`http://${INVENTORY}/.tollgate/callback`),
      await gw('http://nowhere.localhost:8787/'),
    ];
    const ids = responses.map(expectRequestId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const res of responses.slice(0, 5)) expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('an invalid configuration is a generic 500 with a request id that leaks nothing', async () => {
    const broken = { ...env, SESSION_SECRET: 'too-short', OIDC_CLIENT_SECRET: 'client-secret-value' } as unknown as Env;
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const res = await worker.fetch(new Request(`${GATEWAY_ORIGIN}/auth/login`, { headers: API }), broken);
      const body = await problem(res, 500, 'internal');
      expect(JSON.stringify(body)).not.toMatch(/SESSION_SECRET|too-short|client-secret-value/);
      const logged = errors.mock.calls.map((c) => String(c[0])).join('\n');
      expect(logged).toMatch(/config-invalid/);
      expect(logged).not.toMatch(/too-short|client-secret-value/);
    } finally {
      errors.mockRestore();
    }
  });
});

describe('logs', () => {
  const lines: string[] = [];
  const spies: ReturnType<typeof vi.spyOn>[] = [];
  beforeAll(() => {
    for (const level of ['log', 'warn', 'error', 'info', 'debug'] as const) {
      spies.push(vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' '))));
    }
  });
  afterAll(() => spies.forEach((s) => s.mockRestore()));

  it('are structured JSON with request ids and never contain a token, cookie value, secret or code', async () => {
    const secrets: string[] = [];
    const { callback, tx } = await authorize('alice');
    const cb = new URL(callback);
    secrets.push(tx, cb.searchParams.get('code')!, cb.searchParams.get('state')!);
    const signedIn = await gw(callback, { headers: { ...NAVIGATE, cookie: `tg_auth=${tx}` } });
    const origin = setCookies(signedIn).get('tg_session')!.value;
    secrets.push(origin);
    const steps = await beginHandoff(origin, INVENTORY, '/logged?token=query-secret-value');
    secrets.push(steps.nonce, new URL(steps.callbackUrl).searchParams.get('code')!, 'query-secret-value');
    const redeemed = await gw(steps.callbackUrl, { headers: { ...NAVIGATE, cookie: `tg_nonce=${steps.nonce}` } });
    const host = setCookies(redeemed).get('tg_session')!.value;
    secrets.push(host);
    const proxied = await gw(`http://${INVENTORY}/logged?token=query-secret-value`, {
      headers: { ...API, cookie: `tg_session=${host}`, authorization: 'Bearer app-bearer-secret' },
    });
    const echo = (await proxied.json()) as { headers: Record<string, string[]> };
    secrets.push(echo.headers['tollgate-assertion']![0]!, 'app-bearer-secret');
    await gw(`http://${INVENTORY}/`, { headers: { ...API, cookie: 'tg_session=garbage-cookie-value' } });
    secrets.push('garbage-cookie-value');
    const e = env as unknown as Record<string, string>;
    secrets.push(e.SESSION_SECRET!, e.OIDC_CLIENT_SECRET!);
    for (const k of JSON.parse(e.SIGNING_KEYS!).keys as { d: string }[]) secrets.push(k.d);

    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      expect(typeof parsed.event).toBe('string');
      for (const s of secrets) expect(line.includes(s), `log line leaks a secret: ${parsed.event}`).toBe(false);
    }
    const requestLines = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === 'request');
    expect(requestLines.every((l) => typeof l.request_id === 'string')).toBe(true);
    // REQUEST_LOG=except-allowed (wrangler.toml): the refused request has a line, the allowed forward only its audit record.
    expect(requestLines.some((l) => l.session === 'invalid')).toBe(true);
    expect(requestLines.some((l) => l.decision === 'allow')).toBe(false);
  });

  it('REQUEST_LOG=all logs allowed forwards too, with the same secrets kept out', async () => {
    const logged: { event: string; fields?: Record<string, unknown> }[] = [];
    const at = (event: string, fields?: Record<string, unknown>) => void logged.push({ event, ...(fields ? { fields } : {}) });
    const app = await buildGateway({ ...env, REQUEST_LOG: 'all' } as typeof env, { logger: { info: at, warn: at, error: at } });
    const origin = await signIn('alice');
    const host = await hostSession(origin, INVENTORY);
    const res = await app.fetch(new Request(`http://${INVENTORY}/all-logged`, { headers: { ...API, cookie: `tg_session=${host}` } }), createExecutionContext());
    expect(res.status).toBe(200);
    const line = logged.find((l) => l.event === 'request' && l.fields?.request_id === res.headers.get('tollgate-request-id'));
    expect(line?.fields).toMatchObject({ decision: 'allow', status: 200, workload: 'inventory', upstream_status: 200 });
    expect(JSON.stringify(logged)).not.toContain(host);
  });
});

// The forward path skips the Hono router on workload hosts (src/http/app.ts); these
// pin that it behaves exactly as the router did for HEAD and encoded reserved paths.
describe('forward-path dispatch', () => {
  it('HEAD without a session: 401 with the problem headers and no body', async () => {
    const res = await gw(`http://${INVENTORY}/items`, { method: 'HEAD', headers: API });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expectRequestId(res);
    expect(await res.text()).toBe('');
  });

  it('HEAD with a session is forwarded and returns no body', async () => {
    const res = await gw(`http://${INVENTORY}/items`, { method: 'HEAD', headers: as(alice.inventory, API) });
    expect(res.status).toBe(200);
    expectRequestId(res);
    expect(await res.text()).toBe('');
  });

  it('an encoded reserved prefix (/%2Etollgate/…) is the gateway\'s, never forwarded', async () => {
    for (const path of ['/%2Etollgate/callback?code=x', '/%2etollgate/nothing']) {
      const res = await gw(`http://${INVENTORY}${path}`, { headers: as(alice.inventory, API) });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expectRequestId(res);
    }
  });
});
