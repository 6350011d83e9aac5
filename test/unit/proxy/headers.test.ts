// Pure header rewriting for the forward path (src/proxy/headers.ts), in Node.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  clientResponseHeaders,
  rewriteLocation,
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

describe('rewriteLocation', () => {
  const from = 'http://127.0.0.1:9001';
  const to = 'https://inventory.example.com';
  it.each([
    ['absolute, the endpoint', 'http://127.0.0.1:9001/login?next=%2Fa#top', 'https://inventory.example.com/login?next=%2Fa#top'],
    ['absolute, the endpoint, no path', 'http://127.0.0.1:9001', 'https://inventory.example.com/'],
    ['scheme-relative, the endpoint', '//127.0.0.1:9001/x', 'https://inventory.example.com/x'],
    ['scheme-relative with backslashes, the endpoint', '\\\\127.0.0.1:9001/x', 'https://inventory.example.com/x'],
    ['slash and backslash, the endpoint', '/\\127.0.0.1:9001/x', 'https://inventory.example.com/x'],
    ['host in another letter case', 'HTTP://127.0.0.1:9001/x', 'https://inventory.example.com/x'],
    ['user info dropped with the endpoint authority', 'http://u:p@127.0.0.1:9001/x', 'https://inventory.example.com/x'],
    ['surrounding blanks', '  http://127.0.0.1:9001/x ', 'https://inventory.example.com/x'],
    ['relative path', '/login', '/login'],
    ['relative, no slash', 'login?x=1', 'login?x=1'],
    ['query only', '?page=2', '?page=2'],
    ['another port on the same host', 'http://127.0.0.1:9002/x', 'http://127.0.0.1:9002/x'],
    ['another scheme, same host and port', 'https://127.0.0.1:9001/x', 'https://127.0.0.1:9001/x'],
    ['another site', 'https://idp.example.com/authorize?x=1', 'https://idp.example.com/authorize?x=1'],
    ['scheme-relative, another site', '//evil.example/x', '//evil.example/x'],
    ['the endpoint as a path prefix elsewhere', 'https://evil.example/http://127.0.0.1:9001/', 'https://evil.example/http://127.0.0.1:9001/'],
    ['not a URL', 'http://[not a host/x', 'http://[not a host/x'],
    ['mailto', 'mailto:a@example.com', 'mailto:a@example.com'],
    ['empty', '', ''],
  ] as const)('%s', (_name, value, expected) => {
    expect(rewriteLocation(value, from, to)).toBe(expected);
  });

  it('default ports compare as the origin does', () => {
    expect(rewriteLocation('http://app.internal:80/a', 'http://app.internal', to)).toBe(`${to}/a`);
  });

  it('never produces a Location on the endpoint, and changes only Locations on it (any string)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.webPath().map((p) => `${from}${p}`)), (value) => {
        const out = rewriteLocation(value, from, to);
        let onEndpoint = false;
        try {
          onEndpoint = new URL(out.trim(), 'https://base.invalid').origin === from;
        } catch {
          // not a URL: passed through
        }
        expect(onEndpoint).toBe(false);
        if (out !== value) expect(out.startsWith(`${to}/`)).toBe(true);
      }),
    );
  });

  it('clientResponseHeaders applies it to Location only', () => {
    const upstream = new Headers({ location: 'http://127.0.0.1:9001/next', 'content-location': 'http://127.0.0.1:9001/c', link: '<http://127.0.0.1:9001/l>; rel=x' });
    const location = { forwardedTo: new URL(`${from}/next?x`), clientProtocol: 'https:', clientAuthority: 'inventory.example.com' };
    const out = new Headers(clientResponseHeaders(upstream, { requestId: 'r', gatewayCookies: GATEWAY_COOKIE_NAMES, location }));
    expect(out.get('location')).toBe('https://inventory.example.com/next');
    expect(out.get('content-location')).toBe('http://127.0.0.1:9001/c');
    const without = new Headers(clientResponseHeaders(upstream, { requestId: 'r', gatewayCookies: GATEWAY_COOKIE_NAMES }));
    expect(without.get('location')).toBe('http://127.0.0.1:9001/next');
  });
});
