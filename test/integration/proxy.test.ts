/**
 * The forward path against a real upstream on 127.0.0.1: what reaches the
 * workload (and what must not), what comes back, the per-request assertion,
 * the JWKS, and a body larger than the isolate's memory streamed through.
 */
import { env } from 'cloudflare:workers';
import { base64url, createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_ORIGIN, INVENTORY, REPLICAS } from './support/constants.js';
import type { Echo } from './support/echo.js';
import { API, expectRequestId, gw, hostSession, setCookies, signIn } from './support/client.js';

let session = '';
let sid = '';
let replicasSession = '';

beforeAll(async () => {
  const origin = await signIn('alice');
  session = await hostSession(origin, INVENTORY);
  replicasSession = await hostSession(origin, REPLICAS);
  const who = (await (await gw(`${GATEWAY_ORIGIN}/auth/whoami`, { headers: { cookie: `tg_session=${origin}` } })).json()) as {
    session: { id: string };
  };
  sid = who.session.id;
});

function call(path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> {
  return gw(`http://${INVENTORY}${path}`, {
    ...init,
    headers: { ...API, ...init.headers, cookie: [`tg_session=${session}`, init.headers?.cookie].filter(Boolean).join('; ') },
  });
}

async function echo(res: Response): Promise<Echo> {
  expect(res.status).toBe(200);
  return (await res.json()) as Echo;
}

async function jwks(): Promise<{ keys: JWK[] }> {
  return (await (await gw(`${GATEWAY_ORIGIN}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
}

describe('request to the workload', () => {
  it('spoofed Tollgate-* headers never reach the upstream; exactly one assertion does', async () => {
    const e = await echo(
      await call('/h', {
        headers: {
          'Tollgate-Assertion': 'forged.forged.forged',
          'tollgate-user': 'user:x:root',
          'TOLLGATE-ROLES': 'admin',
          'Tollgate-Email': 'root@example.com',
          'tOLLGATE-device-trust': 'high',
        },
      }),
    );
    const tollgate = e.rawHeaders.filter(([n]) => n.toLowerCase().startsWith('tollgate-'));
    expect(tollgate.map(([n]) => n.toLowerCase())).toEqual(['tollgate-assertion']);
    expect(tollgate[0]![1]).not.toBe('forged.forged.forged');
    expect(tollgate[0]![1].split('.')).toHaveLength(3);
  });

  it('the gateway’s cookies never reach the upstream; the app’s cookies do', async () => {
    const e = await echo(
      await call('/c', {
        headers: { cookie: 'app=1; tg_nonce=n; __Host-tg_session=x; TG_AUTH=y; theme=dark' },
      }),
    );
    expect(e.headers.cookie).toEqual(['app=1; theme=dark']);
  });

  it('drops the Cookie header when only gateway cookies were sent', async () => {
    const e = await echo(await call('/c2'));
    expect(e.headers.cookie).toBeUndefined();
  });

  it('hop-by-hop request headers are dropped, including those Connection names', async () => {
    const e = await echo(
      await call('/hop', {
        headers: {
          connection: 'x-client-hop',
          'x-client-hop': 'secret',
          'keep-alive': 'timeout=5',
          'proxy-authorization': 'Basic dXNlcjpwYXNz',
          te: 'trailers',
          trailer: 'x-t',
          upgrade: 'websocket',
          'x-kept': 'yes',
        },
      }),
    );
    for (const h of ['x-client-hop', 'keep-alive', 'proxy-authorization', 'te', 'trailer', 'upgrade']) {
      expect(e.headers[h], h).toBeUndefined();
    }
    expect(e.headers['connection']?.[0] ?? '').not.toMatch(/x-client-hop/i);
    expect(e.headers['x-kept']).toEqual(['yes']);
  });

  it('fields with names that are also object properties (__proto__, constructor) reach the upstream', async () => {
    const e = await echo(await call('/names', { headers: { ['__proto__']: 'p', constructor: 'c', 'x-plain': 'x' } }));
    const raw = Object.fromEntries(e.rawHeaders.map(([n, v]) => [`~${n.toLowerCase()}`, v]));
    expect([raw['~__proto__'], raw['~constructor'], raw['~x-plain']]).toEqual(['p', 'c', 'x']);
  });

  it('sets X-Forwarded-Host, -Proto and appends the client IP to X-Forwarded-For', async () => {
    const e = await echo(
      await call('/xf', {
        headers: {
          'cf-connecting-ip': '203.0.113.7',
          'x-forwarded-for': '198.51.100.1',
          'x-forwarded-host': 'evil.example',
          'x-forwarded-proto': 'https',
        },
      }),
    );
    expect(e.headers['x-forwarded-host']).toEqual([INVENTORY]);
    expect(e.headers['x-forwarded-proto']).toEqual(['http']);
    expect(e.headers['x-forwarded-for']).toEqual(['198.51.100.1, 203.0.113.7']);
  });

  it('the assertion verifies against the JWKS and names this request exactly', async () => {
    const res = await call('/items/42?sort=asc&x=%2F', { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } });
    const rid = expectRequestId(res);
    const e = await echo(res);
    const token = e.headers['tollgate-assertion']![0]!;
    const header = decodeProtectedHeader(token);
    expect(header).toMatchObject({ alg: 'EdDSA', kid: 'test-active', typ: 'tollgate-assertion+jwt' });
    const { payload } = await jwtVerify(token, createLocalJWKSet(await jwks()), {
      issuer: GATEWAY_ORIGIN,
      audience: 'inventory',
      typ: 'tollgate-assertion+jwt',
      algorithms: ['EdDSA', 'ES256'],
    });
    expect(payload.sub).toMatch(/^user:[A-Za-z0-9_-]{12}:alice$/);
    expect(payload.rid).toBe(rid);
    expect(payload.htm).toBe('POST');
    expect(payload.htu).toBe('/items/42?sort=asc&x=%2F');
    expect(payload.htu).toBe(e.target);
    expect(payload.sid).toBe(sid);
    expect(payload.roles).toEqual(['inventory-user']);
    expect(payload.email).toBe('alice@example.com');
    expect(payload.exp! - payload.iat!).toBe(30);
    expect(payload.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(e.method).toBe('POST');
    expect(e.bodyLength).toBe(5);
  });

  it('htu equals the target the upstream receives after dot-segment normalisation', async () => {
    const e = await echo(await call('/a/b/../c/%2e%2e/d/./e?q=%2e%2e'));
    const token = e.headers['tollgate-assertion']![0]!;
    const { payload } = await jwtVerify(token, createLocalJWKSet(await jwks()), { issuer: GATEWAY_ORIGIN, audience: 'inventory' });
    expect(e.target).toBe('/a/d/e?q=%2e%2e');
    expect(payload.htu).toBe(e.target);
  });

  it('every request gets a fresh assertion', async () => {
    const a = (await echo(await call('/1'))).headers['tollgate-assertion']![0];
    const b = (await echo(await call('/1'))).headers['tollgate-assertion']![0];
    expect(a).not.toBe(b);
  });

  it.each(['PUT', 'PATCH', 'DELETE', 'OPTIONS'])('%s is forwarded with its body', async (method) => {
    const e = await echo(await call('/m', { method, body: method === 'OPTIONS' ? undefined : 'x'.repeat(1000) }));
    expect(e.method).toBe(method);
    if (method !== 'OPTIONS') expect(e.bodyLength).toBe(1000);
  });

  it('HEAD gets the upstream headers and no body', async () => {
    const res = await call('/head', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-app')).toBe('echo');
    expect(await res.text()).toBe('');
  });
});

describe('response to the client', () => {
  it('Set-Cookie for gateway names and hop-by-hop headers never reach the client; the request id is ours', async () => {
    const res = await call('/set-cookies');
    expect(res.status).toBe(200);
    const cookies = res.headers.getSetCookie();
    expect(cookies).toEqual(['app_cookie=kept; Path=/; HttpOnly']);
    for (const h of ['x-upstream-hop', 'keep-alive', 'proxy-authenticate', 'upgrade']) expect(res.headers.get(h), h).toBeNull();
    expect(res.headers.get('connection') ?? '').not.toMatch(/x-upstream-hop/i);
    expect(res.headers.get('x-app')).toBe('kept');
    const rid = expectRequestId(res);
    expect(rid).not.toBe('forged-by-upstream');
    expect(setCookies(res).get('tg_session')).toBeUndefined();
  });
});

describe('a workload with several endpoints (the first refuses connections)', () => {
  const send = (method: string, body?: string) =>
    gw(`http://${REPLICAS}/api/replica?x=1`, { method, ...(body === undefined ? {} : { body }), headers: { ...API, cookie: `tg_session=${replicasSession}` } });
  const claimsOf = (e: Echo) => JSON.parse(new TextDecoder().decode(base64url.decode(e.headers['tollgate-assertion']![0]!.split('.')[1]!))) as Record<string, unknown>;

  it.each(['GET', 'HEAD', 'DELETE', 'OPTIONS'])('%s without a body fails over to the next endpoint, with an assertion bound to it', async (method) => {
    const res = await send(method);
    expect(res.status).toBe(200);
    expectRequestId(res);
    if (method === 'HEAD') return;
    const e = (await res.json()) as Echo;
    expect(e.method).toBe(method);
    expect(e.headers['tollgate-assertion']).toHaveLength(1);
    expect(claimsOf(e)).toMatchObject({ ept: 'replicas-2', aud: 'replicas', htm: method, htu: '/api/replica?x=1' });
  });

  it.each(['POST', 'PUT', 'PATCH'])('%s with a body is never sent twice: 502 from the first endpoint', async (method) => {
    const res = await send(method, 'payload');
    expect(res.status).toBe(502);
    expect(((await res.json()) as { type: string }).type).toMatch(/upstream-unreachable/);
  });

  it('a workload with one endpoint gets assertions bound to it too', async () => {
    const e = await echo(await call('/api/one'));
    expect(claimsOf(e)).toMatchObject({ ept: 'inventory-1' });
  });
});

describe('redirects from the workload', () => {
  const redirect = (to: string) => call(`/redirect?to=${encodeURIComponent(to)}`);
  it.each([
    ['to the endpoint itself: rewritten to the client’s origin', '{self}/next?a=1#f', `http://${INVENTORY}/next?a=1#f`],
    ['relative: unchanged', '/relative?x=1', '/relative?x=1'],
    ['to another site: unchanged', 'https://idp.example.com/authorize?x=1', 'https://idp.example.com/authorize?x=1'],
  ] as const)('%s', async (_name, to, expected) => {
    const res = await redirect(to);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(expected);
    expectRequestId(res);
  });
});

describe('streaming', () => {
  it('a 50 MiB body streams to the upstream: it sees the first bytes before the client has sent the rest', async () => {
    const id = crypto.randomUUID();
    const total = 50 * 1024 * 1024;
    const chunk = new Uint8Array(1024 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31 + 7) & 0xff;
    let sent = 0;
    let sawEarlyBytes = false;
    const hash = new crypto.DigestStream('SHA-256');
    const hashWriter = hash.getWriter();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent >= total) {
          controller.close();
          await hashWriter.close();
          return;
        }
        if (sent === 2 * chunk.length) {
          // Hold the rest back until the upstream reports bytes: a buffering proxy would deadlock here.
          const deadline = Date.now() + 15_000;
          while (!sawEarlyBytes && Date.now() < deadline) {
            const p = (await (await fetch(`${env.TEST_UPSTREAM_URL}/_control/progress/${id}`)).json()) as { bytes: number };
            if (p.bytes > 0) sawEarlyBytes = true;
            else await new Promise((r) => setTimeout(r, 20));
          }
        }
        controller.enqueue(chunk);
        await hashWriter.write(chunk);
        sent += chunk.length;
      },
    });
    const res = await call(`/upload/${id}`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
    expect(res.status).toBe(200);
    const e = (await res.json()) as Echo;
    expect(sawEarlyBytes).toBe(true);
    expect(e.bodyLength).toBe(total);
    const digest = [...new Uint8Array(await hash.digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
    expect(e.bodySha256).toBe(digest);
  });

  it('a large response body streams back intact', async () => {
    const size = 8 * 1024 * 1024;
    const res = await call('/big', { method: 'PUT', body: new Uint8Array(size) });
    const e = (await res.json()) as Echo;
    expect(e.bodyLength).toBe(size);
  });
});

describe('JWKS', () => {
  it('publishes every key, public parts only, cacheable for 60 s', async () => {
    const res = await gw(`${GATEWAY_ORIGIN}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=60');
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expectRequestId(res);
    const { keys } = (await res.json()) as { keys: JWK[] };
    expect(keys.map((k) => k.kid).sort()).toEqual(['test-active', 'test-next']);
    for (const k of keys) {
      for (const f of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']) expect(k, `${k.kid}.${f}`).not.toHaveProperty(f);
      expect(k.alg).toMatch(/^(EdDSA|ES256)$/);
      expect(k.use).toBe('sig');
    }
    expect(keys.find((k) => k.kid === 'test-active')).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
    expect(keys.find((k) => k.kid === 'test-next')).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
  });

  it('only the active kid signs (the published next key does not)', async () => {
    for (let i = 0; i < 3; i++) {
      const e = await echo(await call(`/kid/${i}`));
      expect(decodeProtectedHeader(e.headers['tollgate-assertion']![0]!).kid).toBe('test-active');
    }
  });
});
