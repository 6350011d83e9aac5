// Pure header rewriting for the forward path (src/proxy/headers.ts), in Node.
import { describe, expect, it } from 'vitest';
import {
  clientResponseHeaders,
  setCookieName,
  stripCookies,
  upstreamRequestHeaders,
} from '../../../src/proxy/headers.js';
import { GATEWAY_COOKIE_NAMES } from '../../../src/session/index.js';

const base = { clientHost: 'inventory.localhost:8787', proto: 'http', assertion: 'jws.jws.jws', gatewayCookies: GATEWAY_COOKIE_NAMES };

describe('stripCookies', () => {
  it.each([
    ['tg_session=a; app=1', 'app=1'],
    ['app=1; __Host-tg_session=a; b=2', 'app=1; b=2'],
    ['TG_SESSION=a; Tg_Nonce=b; tg_auth=c', null],
    ['tg_session', null],
    [' ; ;app=1;; ', 'app=1'],
    ['tg_sessionx=1; xtg_session=2', 'tg_sessionx=1; xtg_session=2'],
    ['a=b=c; tg_nonce = x', 'a=b=c'],
  ])('%s → %s', (input, out) => {
    expect(stripCookies(input, GATEWAY_COOKIE_NAMES)).toBe(out);
  });
  it('null stays null', () => expect(stripCookies(null, GATEWAY_COOKIE_NAMES)).toBeNull());
});

describe('setCookieName', () => {
  it.each([
    ['tg_session=x; Path=/', 'tg_session'],
    [' __Host-tg_session =x', '__Host-tg_session'],
    ['tg_session', 'tg_session'],
    ['tg_session; Path=/', 'tg_session'],
    ['=x', ''],
  ])('%s', (v, name) => expect(setCookieName(v)).toBe(name));
});

describe('upstreamRequestHeaders', () => {
  it('drops Tollgate-* (any case), hop-by-hop and Connection-listed headers; strips gateway cookies; sets forwarding headers', () => {
    const client = new Headers([
      ['Tollgate-Assertion', 'forged'],
      ['tollgate-user', 'admin'],
      ['TOLLGATE-ROLES', 'root'],
      ['Connection', 'keep-alive, X-Secret-Hop'],
      ['X-Secret-Hop', '1'],
      ['Keep-Alive', 'timeout=5'],
      ['Proxy-Authorization', 'Basic eA=='],
      ['Proxy-Connection', 'keep-alive'],
      ['TE', 'trailers'],
      ['Trailer', 'X-T'],
      ['Transfer-Encoding', 'chunked'],
      ['Upgrade', 'websocket'],
      ['Host', 'inventory.localhost:8787'],
      ['Cookie', 'tg_session=s; app=1; tg_nonce=n'],
      ['X-Forwarded-For', '10.0.0.1'],
      ['X-Forwarded-Host', 'evil.example'],
      ['X-Forwarded-Proto', 'https'],
      ['Authorization', 'Bearer app-token'],
      ['Accept', 'text/html'],
    ]);
    const record = upstreamRequestHeaders(client, { ...base, clientIp: '203.0.113.9' });
    expect(record).not.toBeInstanceOf(Headers);
    expect(Object.getPrototypeOf(record)).toBeNull();
    const out = new Headers(record);
    const names = [...out.keys()];
    expect(names.filter((n) => n.startsWith('tollgate-'))).toEqual(['tollgate-assertion']);
    expect(out.get('tollgate-assertion')).toBe('jws.jws.jws');
    for (const h of ['connection', 'x-secret-hop', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']) {
      expect(out.has(h), h).toBe(false);
    }
    expect(out.get('cookie')).toBe('app=1');
    expect(out.get('x-forwarded-for')).toBe('10.0.0.1, 203.0.113.9');
    expect(out.get('x-forwarded-host')).toBe('inventory.localhost:8787');
    expect(out.get('x-forwarded-proto')).toBe('http');
    expect(out.get('authorization')).toBe('Bearer app-token');
    expect(out.get('accept')).toBe('text/html');
    // The input is not modified.
    expect(client.get('tollgate-user')).toBe('admin');
  });

  it('drops the Cookie header when only gateway cookies were sent; no X-Forwarded-For without a client IP', () => {
    const out = new Headers(upstreamRequestHeaders(new Headers({ cookie: 'tg_session=a; __Host-tg_auth=b' }), base));
    expect(out.has('cookie')).toBe(false);
    expect(out.has('x-forwarded-for')).toBe(false);
  });

  it('keeps Authorization unless told to strip it', () => {
    const client = new Headers({ authorization: 'Bearer t', accept: '*/*' });
    expect(new Headers(upstreamRequestHeaders(client, base)).get('authorization')).toBe('Bearer t');
    const stripped = new Headers(upstreamRequestHeaders(client, { ...base, stripAuthorization: true }));
    expect(stripped.has('authorization')).toBe(false);
    expect(stripped.get('accept')).toBe('*/*');
  });

  it('forwards a field named __proto__ or constructor as a plain field', () => {
    const client = new Headers([
      ['__proto__', 'p'],
      ['constructor', 'c'],
    ]);
    const result = upstreamRequestHeaders(client, base);
    expect(result).toBeInstanceOf(Headers);
    const out = new Headers(result);
    expect(out.get('__proto__')).toBe('p');
    expect(out.get('constructor')).toBe('c');
  });
});

describe('clientResponseHeaders', () => {
  it('drops hop-by-hop and gateway Set-Cookie; keeps the rest; sets the request id', () => {
    const upstream = new Headers();
    upstream.append('set-cookie', 'tg_session=evil; Path=/');
    upstream.append('set-cookie', '__Host-tg_nonce=evil; Path=/; Secure');
    upstream.append('set-cookie', 'TG_AUTH=evil');
    upstream.append('set-cookie', 'app=1; Path=/');
    upstream.append('set-cookie', 'tg_session');
    upstream.set('connection', 'x-hop');
    upstream.set('x-hop', '1');
    upstream.set('keep-alive', 'timeout=5');
    upstream.set('transfer-encoding', 'chunked');
    upstream.set('upgrade', 'h2c');
    upstream.set('proxy-authenticate', 'Basic');
    upstream.set('tollgate-request-id', 'forged');
    upstream.set('content-type', 'text/plain');
    const out = new Headers(clientResponseHeaders(upstream, { requestId: 'rid-1', gatewayCookies: GATEWAY_COOKIE_NAMES }));
    expect(out.getSetCookie()).toEqual(['app=1; Path=/']);
    for (const h of ['connection', 'x-hop', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-authenticate']) {
      expect(out.has(h), h).toBe(false);
    }
    expect(out.get('tollgate-request-id')).toBe('rid-1');
    expect(out.get('content-type')).toBe('text/plain');
  });

  it.each([
    ['no Set-Cookie at all: a record', [], undefined, []],
    ['only gateway cookies from the upstream: a record', ['tg_session=evil'], undefined, []],
    ['the gateway’s own cookie only', [], 'tg_session=new; Path=/', ['tg_session=new; Path=/']],
    ['the app’s cookies and the gateway’s, each its own field', ['a=1', 'b=2'], 'tg_session=new', ['a=1', 'b=2', 'tg_session=new']],
  ] as const)('%s', (_name, fromUpstream, setCookie, expected) => {
    const upstream = new Headers({ 'content-type': 'text/plain' });
    for (const c of fromUpstream) upstream.append('set-cookie', c);
    const result = clientResponseHeaders(upstream, { requestId: 'rid', gatewayCookies: GATEWAY_COOKIE_NAMES, ...(setCookie ? { setCookie } : {}) });
    expect(result instanceof Headers).toBe(expected.length > 0);
    const out = new Headers(result);
    expect(out.getSetCookie()).toEqual(expected);
    expect(out.get('content-type')).toBe('text/plain');
    expect(out.get('tollgate-request-id')).toBe('rid');
  });
});
