/**
 * The guard sidecar end to end: real node:http server, real JWKS server, real
 * upstream app that records what reached it. Every refusal is checked for the
 * 401 problem body, the logged reason, and that the app was NOT reached.
 */
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock, type Clock } from '../../../src/platform/index.js';
import { startGuard, type GuardConfig, type RunningGuard } from '../../../src/guard/node/index.js';
import type { GuardRefusal } from '../../../src/guard/index.js';
import {
  AUDIENCE,
  hmacSigned,
  headerMap,
  ISSUER,
  jwksOf,
  makeKey,
  mint,
  mintRaw,
  NOW,
  NOW_S,
  rawRequest,
  recordingLogger,
  requestText,
  send,
  startApp,
  startJwks,
  unsigned,
  type JwksServer,
  type RawResponse,
  type TestApp,
  type TestKey,
} from './helpers.js';

let ed: TestKey;
let ec: TestKey;
let attacker: TestKey;
let jwks: JwksServer;
let app: TestApp;
let guard: RunningGuard;
let log: ReturnType<typeof recordingLogger>;
const extra: Array<{ close(graceMs?: number): Promise<unknown> }> = [];

/** A guard on 127.0.0.1 with a frozen clock, closed after the test file. */
async function makeGuard(over: Partial<GuardConfig> = {}): Promise<RunningGuard> {
  const g = await startGuard({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUrl: jwks.url,
    upstream: app.upstream,
    host: '127.0.0.1',
    port: 0,
    clock: fixedClock(NOW),
    logger: log,
    ...over,
  });
  extra.push(g);
  return g;
}

beforeAll(async () => {
  [ed, ec, attacker] = await Promise.all([makeKey('EdDSA', 'ed-1'), makeKey('ES256', 'ec-1'), makeKey('EdDSA', 'attacker')]);
  jwks = await startJwks(jwksOf(ed, ec));
  app = await startApp();
  log = recordingLogger();
  guard = await makeGuard();
});

afterAll(async () => {
  for (const g of extra.reverse()) await g.close(100);
  await app.close();
  await jwks.close();
});

afterEach(() => {
  // No log line ever carries a token, nor its header or payload alone (base64url JSON: "eyJ…", every one here
  // far longer than 23 characters). Ten characters after "eyJ" were not enough to tell: a random 22-character
  // request id contains such a run now and then (a false alarm about once in 15 runs), never 20.
  for (const line of log.lines) expect(line).not.toMatch(/eyJ[A-Za-z0-9_-]{20}/);
});

const PROBLEM_KEYS = ['request_id', 'status', 'title', 'type'];

function expectRefusal(res: RawResponse, before: number, reason: GuardRefusal, status = 401): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toBe('application/problem+json');
  expect(res.headers['cache-control']).toBe('no-store');
  const body = JSON.parse(res.body);
  expect(Object.keys(body).sort()).toEqual(PROBLEM_KEYS);
  if (status === 401) {
    expect(body).toMatchObject({ type: 'https://tollgate.dev/problems/assertion-refused', title: 'Assertion refused', status: 401 });
  } else {
    expect(body).toMatchObject({ type: 'https://tollgate.dev/problems/service-unavailable', title: 'Service Unavailable', status: 503 });
  }
  expect(body.request_id).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  expect(res.headers['tollgate-request-id']).toBe(body.request_id);
  // The reason is logged, with the same request id; it is not in the response.
  expect(res.body).not.toContain(reason);
  const entry = log.events.findLast((e) => e.event === 'guard.refused');
  expect(entry).toMatchObject({ reason, request_id: body.request_id });
  expect(app.seen.length, 'the app must not be reached').toBe(before);
}

async function assertionHeaders(token: string): Promise<string[]> {
  return ['Tollgate-Assertion', token];
}

interface Case {
  name: string;
  reason: GuardRefusal;
  headers: () => Promise<string[]>;
  path?: string;
  method?: string;
}

const t = (fn: () => Promise<string>) => async () => assertionHeaders(await fn());

const cases: Case[] = [
  { name: 'missing header', reason: 'missing-assertion', headers: async () => [] },
  { name: 'two headers', reason: 'multiple-assertions', headers: async () => ['Tollgate-Assertion', await mint(ed), 'tollgate-assertion', await mint(ed)] },
  { name: 'comma in the value', reason: 'multiple-assertions', headers: async () => ['Tollgate-Assertion', `${await mint(ed)},${await mint(ed)}`] },
  { name: 'assertion in Authorization only', reason: 'missing-assertion', headers: async () => ['Authorization', `Bearer ${await mint(ed)}`] },
  { name: 'garbage', reason: 'malformed', headers: async () => ['Tollgate-Assertion', 'garbage!'] },
  { name: 'over 8 KiB', reason: 'assertion-too-large', headers: async () => ['Tollgate-Assertion', 'a'.repeat(9000)] },
  { name: 'bad typ', reason: 'bad-typ', headers: t(() => mint(ed, { header: { typ: 'JWT' } })) },
  { name: 'alg none', reason: 'alg-not-allowed', headers: t(async () => unsigned('ed-1')) },
  {
    name: 'HS256 with the public key bytes as secret (alg confusion)',
    reason: 'alg-not-allowed',
    headers: t(() => hmacSigned('ed-1', new Uint8Array(Buffer.from(ed.publicJwk.x!, 'base64url')))),
  },
  {
    name: 'HS256 with the public JWK JSON as secret',
    reason: 'alg-not-allowed',
    headers: t(() => hmacSigned('ed-1', new Uint8Array(Buffer.from(JSON.stringify(ed.publicJwk))))),
  },
  { name: 'missing kid', reason: 'missing-kid', headers: t(() => mint(ed, { header: { kid: undefined } })) },
  { name: 'unknown kid', reason: 'unknown-kid', headers: t(() => mint(attacker)) },
  { name: 'attacker key embedded as jwk', reason: 'unknown-kid', headers: t(() => mint(attacker, { header: { jwk: attacker.publicJwk } })) },
  {
    name: 'attacker key embedded as jwk under a known kid',
    reason: 'bad-signature',
    headers: t(() => mint(attacker, { header: { kid: 'ed-1', jwk: attacker.publicJwk } })),
  },
  { name: 'crit', reason: 'crit-unsupported', headers: t(() => mintRaw(ed, { header: { crit: ['urn:x'], 'urn:x': true } })) },
  { name: 'wrong iss', reason: 'bad-issuer', headers: t(() => mint(ed, { claims: { iss: 'http://127.0.0.1:8788' } })) },
  { name: 'iss with a trailing slash', reason: 'bad-issuer', headers: t(() => mint(ed, { claims: { iss: `${ISSUER}/` } })) },
  { name: 'wrong aud', reason: 'bad-audience', headers: t(() => mint(ed, { claims: { aud: 'billing' } })) },
  ...(['sub', 'iat', 'exp', 'jti', 'htm', 'htu'] as const).map(
    (claim): Case => ({ name: `missing ${claim}`, reason: 'missing-claim', headers: t(() => mint(ed, { claims: { [claim]: undefined } })) }),
  ),
  { name: 'expired beyond skew', reason: 'expired', headers: t(() => mint(ed, { claims: { iat: NOW_S - 36, exp: NOW_S - 6 } })) },
  { name: 'iat in the future', reason: 'issued-in-future', headers: t(() => mint(ed, { claims: { iat: NOW_S + 6, exp: NOW_S + 30 } })) },
  { name: 'lifetime > 60 s', reason: 'lifetime-too-long', headers: t(() => mint(ed, { claims: { iat: NOW_S, exp: NOW_S + 61 } })) },
  { name: 'htm mismatch', reason: 'method-mismatch', headers: t(() => mint(ed, { claims: { htm: 'POST' } })) },
  { name: 'htu mismatch', reason: 'target-mismatch', headers: t(() => mint(ed, { claims: { htu: '/y' } })) },
  { name: 'htu for the path only, request with a query', reason: 'target-mismatch', headers: t(() => mint(ed)), path: '/x?admin=1' },
  { name: 'bad signature', reason: 'bad-signature', headers: t(async () => (await mint(ed)).slice(0, -4) + 'AAAA') },
  { name: 'role with a comma', reason: 'bad-claim', headers: t(() => mint(ed, { claims: { roles: ['reader,admin'] } })) },
];

describe('sidecar refuses (one rule each)', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const before = app.seen.length;
    const res = await send(guard.port, { method: c.method ?? 'GET', path: c.path ?? '/x', headers: await c.headers() });
    expectRefusal(res, before, c.reason);
  });

  it('jku and x5u are never fetched', async () => {
    let hits = 0;
    const evil = http.createServer((_req, res) => {
      hits++;
      res.end(JSON.stringify(jwksOf(attacker)));
    });
    evil.listen(0, '127.0.0.1');
    await once(evil, 'listening');
    const base = `http://127.0.0.1:${(evil.address() as { port: number }).port}`;
    try {
      for (const header of [{ jku: `${base}/jwks` }, { x5u: `${base}/cert` }, { jku: `${base}/jwks`, kid: 'ed-1' }]) {
        const before = app.seen.length;
        const res = await send(guard.port, { headers: await assertionHeaders(await mint(attacker, { header })) });
        expect(res.status).toBe(401);
        expect(app.seen.length).toBe(before);
      }
      expect(hits).toBe(0);
    } finally {
      evil.close();
    }
  });

  it('a replayed assertion (second use)', async () => {
    const token = await mint(ed);
    expect((await send(guard.port, { headers: await assertionHeaders(token) })).status).toBe(200);
    const before = app.seen.length;
    expectRefusal(await send(guard.port, { headers: await assertionHeaders(token) }), before, 'replayed');
  });

  it('all but one of 20 simultaneous sends of one assertion', async () => {
    const token = await mint(ec);
    const before = app.seen.length;
    const results = await Promise.all(Array.from({ length: 20 }, () => send(guard.port, { headers: ['Tollgate-Assertion', token] })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 401)).toHaveLength(19);
    expect(app.seen.length).toBe(before + 1);
  });

  it('an assertion for another endpoint, or with none, when TOLLGATE_ENDPOINT_ID is set', async () => {
    const g = await makeGuard({ endpointId: 'inventory-eu-1' });
    for (const ept of ['inventory-us-1', undefined]) {
      const before = app.seen.length;
      expectRefusal(await send(g.port, { headers: await assertionHeaders(await mint(ed, { claims: { ept } })) }), before, 'endpoint-mismatch');
    }
    const ok = await send(g.port, { headers: await assertionHeaders(await mint(ed, { claims: { ept: 'inventory-eu-1' } })) });
    expect(ok.status).toBe(200);
  });

  it('with 503 when the replay cache is full', async () => {
    const g = await makeGuard({ replayCacheMaxEntries: 1 });
    expect((await send(g.port, { headers: await assertionHeaders(await mint(ed)) })).status).toBe(200);
    const before = app.seen.length;
    const res = await send(g.port, { headers: await assertionHeaders(await mint(ed)) });
    expectRefusal(res, before, 'replay-cache-full', 503);
    expect(res.headers['retry-after']).toBe('1');
  });

  it('never serves /.tollgate/* other than GET healthz without an assertion', async () => {
    for (const [method, path] of [['POST', '/.tollgate/healthz'], ['GET', '/.tollgate/other'], ['GET', '/.tollgate/healthz/x']]) {
      const before = app.seen.length;
      expectRefusal(await send(guard.port, { method: method!, path: path! }), before, 'missing-assertion');
    }
  });
});

describe('sidecar accepts', () => {
  it.each([
    ['EdDSA', () => ed],
    ['ES256', () => ec],
  ] as const)('a valid %s assertion and forwards to the app', async (_alg, key) => {
    const before = app.seen.length;
    const res = await send(guard.port, { headers: await assertionHeaders(await mint(key())) });
    expect(res.status).toBe(200);
    expect(res.headers['x-app']).toBe('1');
    expect(app.seen.length).toBe(before + 1);
    expect(app.seen.at(-1)!.url).toBe('/x');
  });

  it.each([
    ['exp passed by less than the skew', { iat: NOW_S - 30, exp: NOW_S - 4 }],
    ['iat ahead by less than the skew', { iat: NOW_S + 4, exp: NOW_S + 30 }],
    ['lifetime of exactly 60 s', { iat: NOW_S - 10, exp: NOW_S + 50 }],
    ['aud as an array containing the workload', { aud: ['billing', AUDIENCE] }],
  ])('%s', async (_name, claims) => {
    expect((await send(guard.port, { headers: await assertionHeaders(await mint(ed, { claims })) })).status).toBe(200);
  });
});

describe('raw request targets', () => {
  // Forms a normalising proxy or Fetch would treat as equal; the guard must not.
  const forms = [
    '/a/%2e%2e/b',
    '/a/../b',
    '/b',
    '/a/./b',
    '/a/b',
    '/a/%2Fb',
    '/a/%2fb',
    '/a//b',
    '//x',
    '/x',
    '/%7Euser',
    '/~user',
    '/q?a=1&b=2',
    '/q?b=2&a=1',
    '/q?a=1&b=2&',
  ];

  it.each(forms)('an assertion for %s is accepted for itself, refused for every other form, and reaches the app byte for byte', async (form) => {
    for (const other of [...forms.filter((f) => f !== form), 'http://inventory.localhost' + form]) {
      const before = app.seen.length;
      const token = await mint(ed, { claims: { htu: form } });
      const res = await rawRequest(guard.port, requestText('GET', other, [`Tollgate-Assertion: ${token}`]));
      expect(res.status, `${form} sent as ${other}`).toBe(401);
      expect(app.seen.length).toBe(before);
    }
    const token = await mint(ed, { claims: { htu: form } });
    const res = await rawRequest(guard.port, requestText('GET', form, [`Tollgate-Assertion: ${token}`]));
    expect(res.status).toBe(200);
    expect(app.seen.at(-1)!.url).toBe(form);
    expect(JSON.parse(res.body).url).toBe(form);
  });
});

describe('headers to the app', () => {
  const spoofed = [
    'Tollgate-User: user:x:root',
    'tollgate-roles: admin',
    'TOLLGATE-EMAIL: root@example.com',
    'Tollgate-Device-Trust: high',
    'Tollgate-Request-Id: spoofed-id',
    'tOlLgAtE-Anything: 1',
  ];

  it('client Tollgate-* headers are stripped and replaced by verified claims', async () => {
    const token = await mint(ed, { claims: { roles: ['reader', 'ops'], dev: { id: 'd', trust: 'medium' } } });
    const res = await rawRequest(guard.port, requestText('GET', '/x', [...spoofed, `Tollgate-Assertion: ${token}`, 'X-Other: kept']));
    expect(res.status).toBe(200);
    const h = headerMap(app.seen.at(-1)!.rawHeaders);
    const tollgate = [...h.keys()].filter((k) => k.startsWith('tollgate-')).sort();
    expect(tollgate).toEqual(['tollgate-device-trust', 'tollgate-email', 'tollgate-roles', 'tollgate-user']);
    expect(h.get('tollgate-user')).toEqual(['user:VS52XyOFL_cY:alice']);
    expect(h.get('tollgate-email')).toEqual(['alice@example.com']);
    expect(h.get('tollgate-roles')).toEqual(['reader,ops']);
    expect(h.get('tollgate-device-trust')).toEqual(['medium']);
    expect(h.get('x-other')).toEqual(['kept']);
    expect(h.get('host')).toEqual(['inventory.localhost']);
  });

  it('absent claims leave their headers absent (spoofed ones included)', async () => {
    const token = await mint(ed, { claims: { email: undefined, roles: undefined, dev: undefined } });
    const res = await rawRequest(guard.port, requestText('GET', '/x', [...spoofed, `Tollgate-Assertion: ${token}`]));
    expect(res.status).toBe(200);
    const h = headerMap(app.seen.at(-1)!.rawHeaders);
    expect([...h.keys()].filter((k) => k.startsWith('tollgate-'))).toEqual(['tollgate-user']);
  });

  it('hop-by-hop headers and those named in Connection are not forwarded', async () => {
    const token = await mint(ed);
    const res = await rawRequest(
      guard.port,
      requestText('GET', '/x', [`Tollgate-Assertion: ${token}`, 'X-Drop-Me: 1', 'Keep-Alive: timeout=5', 'Proxy-Authorization: Basic eA==', 'Connection: close, X-Drop-Me']),
    );
    expect(res.status).toBe(200);
    const h = headerMap(app.seen.at(-1)!.rawHeaders);
    for (const name of ['x-drop-me', 'keep-alive', 'proxy-authorization', 'tollgate-assertion']) expect(h.has(name), name).toBe(false);
  });

  it('the refusal reuses a well-formed incoming request id and replaces a malformed one', async () => {
    const a = await send(guard.port, { headers: ['Tollgate-Request-Id', 'req-abc.123'] });
    expect(JSON.parse(a.body).request_id).toBe('req-abc.123');
    const b = await send(guard.port, { headers: ['Tollgate-Request-Id', 'bad id with spaces'] });
    expect(JSON.parse(b.body).request_id).not.toContain(' ');
  });
});

describe('bodies stream both ways', () => {
  it('a 2 MiB request body with Content-Length', async () => {
    const body = Buffer.alloc(2 * 1024 * 1024, 0x62);
    const token = await mint(ed, { claims: { htm: 'POST', htu: '/upload' } });
    const res = await send(guard.port, { method: 'POST', path: '/upload', headers: ['Tollgate-Assertion', token, 'Content-Length', String(body.length)], body });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).bodyLength).toBe(body.length);
    expect(app.seen.at(-1)!.body.equals(body)).toBe(true);
  });

  it('a chunked request body', async () => {
    const token = await mint(ed, { claims: { htm: 'PUT', htu: '/chunked' } });
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: guard.port, method: 'PUT', path: '/chunked', headers: { 'Tollgate-Assertion': token }, agent: false }, (r) => {
        let data = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (data += c));
        r.on('end', () => resolve({ status: r.statusCode!, body: data }));
      });
      req.on('error', reject);
      for (let i = 0; i < 10; i++) req.write(Buffer.alloc(10_000, 0x63));
      req.end();
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).bodyLength).toBe(100_000);
    expect(headerMap(app.seen.at(-1)!.rawHeaders).get('transfer-encoding')).toEqual(['chunked']);
  });

  it('a POST without a body reaches the app without one', async () => {
    const token = await mint(ed, { claims: { htm: 'POST', htu: '/empty' } });
    const res = await rawRequest(guard.port, requestText('POST', '/empty', [`Tollgate-Assertion: ${token}`]));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).bodyLength).toBe(0);
  });

  it('a 5 MB streamed response', async () => {
    const token = await mint(ed, { claims: { htu: '/stream?n=5000000' } });
    const res = await send(guard.port, { path: '/stream?n=5000000', headers: ['Tollgate-Assertion', token] });
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(5_000_000);
  });
});

describe('upstreams', () => {
  it('forwards to a Unix socket, path byte for byte', async () => {
    const unixApp = await startApp({ unix: true });
    extra.push(unixApp);
    const g = await makeGuard({ upstream: unixApp.upstream });
    const token = await mint(ed, { claims: { htu: '/a/%2e%2e/b?x=%2F' } });
    const res = await rawRequest(g.port, requestText('GET', '/a/%2e%2e/b?x=%2F', [`Tollgate-Assertion: ${token}`]));
    expect(res.status).toBe(200);
    expect(unixApp.seen.at(-1)!.url).toBe('/a/%2e%2e/b?x=%2F');
  });

  it('retries a bodyless request once when the app closed a reused keep-alive connection', async () => {
    // An app that answers the first request of each connection and drops the connection on the second.
    let connections = 0;
    const flaky = net.createServer((socket) => {
      connections++;
      let requests = 0;
      let buffered = '';
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('latin1');
        while (buffered.includes('\r\n\r\n')) {
          buffered = buffered.slice(buffered.indexOf('\r\n\r\n') + 4);
          requests++;
          if (requests > 1) {
            socket.destroy();
            return;
          }
          socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok');
        }
      });
    });
    flaky.listen(0, '127.0.0.1');
    await once(flaky, 'listening');
    extra.push({ close: () => new Promise((r) => flaky.close(r)) });
    const g = await makeGuard({ upstream: `http://127.0.0.1:${(flaky.address() as net.AddressInfo).port}` });
    for (let i = 0; i < 3; i++) {
      const res = await send(g.port, { headers: await assertionHeaders(await mint(ed)) });
      expect(res.status).toBe(200);
      expect(res.body).toBe('ok');
    }
    expect(connections).toBe(3);
    // With a body, nothing is retried: 502.
    const token = await mint(ed, { claims: { htm: 'POST' } });
    const res = await send(g.port, { method: 'POST', headers: ['Tollgate-Assertion', token, 'Content-Length', '3'], body: 'abc' });
    expect(res.status).toBe(502);
  });

  it('answers 502 problem+json when the app is down', async () => {
    const down = await startApp();
    await down.close();
    const g = await makeGuard({ upstream: down.upstream });
    const res = await send(g.port, { headers: await assertionHeaders(await mint(ed)) });
    expect(res.status).toBe(502);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(res.body)).toMatchObject({ status: 502, title: 'Bad Gateway' });
    expect(log.events.findLast((e) => e.event === 'guard.upstream_error')).toMatchObject({ error: 'ECONNREFUSED' });
  });
});

describe('keys and health', () => {
  it('healthz is 200 when keys are loaded, served without an assertion, and never forwarded', async () => {
    const before = app.seen.length;
    const res = await send(guard.port, { path: '/.tollgate/healthz' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
    expect((await send(guard.port, { method: 'HEAD', path: '/.tollgate/healthz' })).status).toBe(200);
    expect(app.seen.length).toBe(before);
  });

  it('started while the JWKS is down: starts, healthz 503, refuses everything, recovers when the JWKS returns', async () => {
    const down = await startJwks(jwksOf(ed));
    extra.push(down);
    down.mode = 'refuse';
    const clock: Clock = { now: () => Date.now() };
    const g = await makeGuard({ jwksUrl: down.url, clock, jwksRetryMs: 100, initialKeysWaitMs: 500 });
    expect(g.ready()).toBe(false);
    expect((await send(g.port, { path: '/.tollgate/healthz' })).status).toBe(503);
    const before = app.seen.length;
    const nowS = Math.floor(Date.now() / 1000);
    expectRefusal(await send(g.port, { headers: await assertionHeaders(await mint(ed, { nowS })) }), before, 'keys-unavailable');
    down.mode = 'down';
    expect((await send(g.port, { path: '/.tollgate/healthz' })).status).toBe(503);
    down.mode = 'up';
    const deadline = Date.now() + 5_000;
    while ((await send(g.port, { path: '/.tollgate/healthz' })).status !== 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(g.ready()).toBe(true);
    const ok = await send(g.port, { headers: await assertionHeaders(await mint(ed, { nowS: Math.floor(Date.now() / 1000) })) });
    expect(ok.status).toBe(200);
  });

  it('a newly published kid is accepted after the rate-limited refresh', async () => {
    const rotating = await startJwks(jwksOf(ed));
    extra.push(rotating);
    const clock = fixedClock(NOW);
    const g = await makeGuard({ jwksUrl: rotating.url, clock });
    const next = await makeKey('EdDSA', 'ed-2');
    rotating.jwks = jwksOf(ed, next);
    clock.advance(1_000);
    const before = app.seen.length;
    expectRefusal(await send(g.port, { headers: await assertionHeaders(await mint(next)) }), before, 'unknown-kid');
    clock.advance(5_000);
    expect((await send(g.port, { headers: await assertionHeaders(await mint(next)) })).status).toBe(200);
    expect(rotating.fetches).toBe(2);
  });
});
