/**
 * tollgateGuard as a Hono middleware (in-process use): verified claims on the
 * context, client Tollgate-* headers replaced, refusals as problem+json.
 */
import { Hono } from 'hono';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixedClock, type Random } from '../../../src/platform/index.js';
import { createReplayCache, createStaticKeySource, tollgateGuard, type GuardEnv, type GuardMiddlewareOptions } from '../../../src/guard/index.js';
import { AUDIENCE, ISSUER, jwksOf, makeKey, mint, NOW, recordingLogger, type TestKey } from './helpers.js';

let ed: TestKey;
let base: GuardMiddlewareOptions;

beforeAll(async () => {
  ed = await makeKey('EdDSA', 'ed-1');
  base = { issuer: ISSUER, audience: AUDIENCE, keys: await createStaticKeySource(jwksOf(ed)), replayCache: createReplayCache(), clock: fixedClock(NOW) };
});

const random: Random = { bytes: (n) => new Uint8Array(n), id: () => 'generated-id' };

function appWith(options: Partial<GuardMiddlewareOptions> = {}) {
  const logger = recordingLogger();
  const app = new Hono<GuardEnv>();
  let reached = 0;
  app.use('*', tollgateGuard({ ...base, replayCache: createReplayCache(), logger, random, ...options }));
  app.all('*', (c) => {
    reached++;
    const tollgate: Record<string, string> = {};
    c.req.raw.headers.forEach((v, k) => {
      if (k.startsWith('tollgate-')) tollgate[k] = v;
    });
    return c.json({ sub: c.get('tollgate').sub, headers: tollgate });
  });
  return { app, logger, reached: () => reached };
}

describe('tollgateGuard', () => {
  it('passes a valid assertion: claims on the context, identity headers replace spoofed ones', async () => {
    const { app } = appWith();
    const res = await app.request('http://inventory.localhost/x', {
      headers: { 'Tollgate-Assertion': await mint(ed), 'Tollgate-User': 'root', 'Tollgate-Extra': '1' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      sub: 'user:VS52XyOFL_cY:alice',
      headers: {
        'tollgate-user': 'user:VS52XyOFL_cY:alice',
        'tollgate-email': 'alice@example.com',
        'tollgate-roles': 'reader,viewer',
        'tollgate-device-trust': 'high',
      },
    });
  });

  it('refuses with a problem document and logs the reason, not the token', async () => {
    const { app, logger, reached } = appWith();
    const token = await mint(ed, { claims: { aud: 'billing' } });
    const res = await app.request('http://inventory.localhost/x', { headers: { 'Tollgate-Assertion': token } });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('tollgate-request-id')).toBe('generated-id');
    expect(await res.json()).toEqual({
      type: 'https://tollgate.dev/problems/assertion-refused',
      title: 'Assertion refused',
      status: 401,
      request_id: 'generated-id',
    });
    expect(logger.events).toEqual([{ event: 'guard.refused', reason: 'bad-audience', request_id: 'generated-id', method: 'GET' }]);
    expect(logger.lines.join('\n')).not.toContain(token.slice(0, 20));
    expect(reached()).toBe(0);
  });

  it('answers 503 when the replay cache is full', async () => {
    const { app } = appWith({ replayCache: createReplayCache({ maxEntries: 1 }) });
    expect((await app.request('/x', { headers: { 'Tollgate-Assertion': await mint(ed) } })).status).toBe(200);
    const res = await app.request('/x', { headers: { 'Tollgate-Assertion': await mint(ed) } });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 503, title: 'Service Unavailable' });
  });

  it('refuses a replay', async () => {
    const { app, reached } = appWith();
    const token = await mint(ed);
    expect((await app.request('/x', { headers: { 'Tollgate-Assertion': token } })).status).toBe(200);
    expect((await app.request('/x', { headers: { 'Tollgate-Assertion': token } })).status).toBe(401);
    expect(reached()).toBe(1);
  });

  it('uses the rawTarget function when given (Fetch normalises /a/../x to /x)', async () => {
    const token = await mint(ed, { claims: { htu: '/a/../x' } });
    // Default: the normalised URL path is compared, so the assertion for the raw form is refused.
    expect((await appWith().app.request('http://h/a/../x', { headers: { 'Tollgate-Assertion': token } })).status).toBe(401);
    const { app } = appWith({ rawTarget: () => '/a/../x' });
    expect((await app.request('http://h/a/../x', { headers: { 'Tollgate-Assertion': token } })).status).toBe(200);
  });

  it('keeps the request body for the handler', async () => {
    const app = new Hono<GuardEnv>();
    app.use('*', tollgateGuard({ ...base, replayCache: createReplayCache(), logger: recordingLogger() }));
    app.post('/echo', async (c) => c.text(await c.req.text()));
    const res = await app.request('/echo', { method: 'POST', body: 'hello', headers: { 'Tollgate-Assertion': await mint(ed, { claims: { htm: 'POST', htu: '/echo' } }) } });
    expect(await res.text()).toBe('hello');
  });
});
