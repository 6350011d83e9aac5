/**
 * Test helpers for the guard: keys and assertions minted with jose directly,
 * a local JWKS server, a recording upstream app, and raw HTTP over net.connect.
 * Loopback only.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CompactSign, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { LogFields, Logger } from '../../../src/platform/index.js';

export const ISSUER = 'http://127.0.0.1:8787';
export const AUDIENCE = 'inventory';
/** A fixed "now" for frozen clocks: 2026-01-01T00:00:00.000Z. */
export const NOW = 1767225600000;
export const NOW_S = NOW / 1000;

export interface TestKey {
  kid: string;
  alg: 'EdDSA' | 'ES256';
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function makeKey(alg: 'EdDSA' | 'ES256', kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

export function jwksOf(...keys: TestKey[]): { keys: JWK[] } {
  return { keys: keys.map((k) => k.publicJwk) };
}

let counter = 0;
/** A fresh 128-bit-looking jti. */
export function newJti(): string {
  counter++;
  return Buffer.from(`jti-${counter}-${Math.random()}`).toString('base64url').slice(0, 22);
}

/** Default claims of a valid assertion for `GET /x` at `nowS`. */
export function baseClaims(nowS = NOW_S): Record<string, unknown> {
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user:VS52XyOFL_cY:alice',
    iat: nowS,
    exp: nowS + 30,
    jti: newJti(),
    rid: 'req-1',
    htm: 'GET',
    htu: '/x',
    sid: 'sess-1',
    roles: ['reader', 'viewer'],
    email: 'alice@example.com',
    dev: { id: 'dev-1', trust: 'high' },
  };
}

export interface MintOptions {
  /** Claims merged over the defaults; a value of `undefined` deletes the claim. */
  claims?: Record<string, unknown>;
  /** Protected header merged over `{alg, kid, typ}`; `undefined` deletes. */
  header?: Record<string, unknown>;
  nowS?: number;
}

function merge(base: Record<string, unknown>, over: Record<string, unknown> = {}): Record<string, unknown> {
  const out = { ...base, ...over };
  for (const [k, v] of Object.entries(over)) if (v === undefined) delete out[k];
  return out;
}

/** Sign an assertion with jose (the guard's code is not used to mint). */
export async function mint(key: TestKey, options: MintOptions = {}): Promise<string> {
  const claims = merge(baseClaims(options.nowS), options.claims);
  const header = merge({ alg: key.alg, kid: key.kid, typ: 'tollgate-assertion+jwt' }, options.header);
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader(header as { alg: string })
    .sign(key.privateKey);
}

/**
 * Sign with WebCrypto directly, for headers jose refuses to produce (e.g. `crit`).
 */
export async function mintRaw(key: TestKey, options: MintOptions = {}): Promise<string> {
  const claims = merge(baseClaims(options.nowS), options.claims);
  const header = merge({ alg: key.alg, kid: key.kid, typ: 'tollgate-assertion+jwt' }, options.header);
  const input = `${b64json(header)}.${b64json(claims)}`;
  const params = key.alg === 'EdDSA' ? { name: 'Ed25519' } : { name: 'ECDSA', hash: 'SHA-256' };
  const sig = new Uint8Array(await crypto.subtle.sign(params, key.privateKey, new TextEncoder().encode(input)));
  return `${input}.${Buffer.from(sig).toString('base64url')}`;
}

/** base64url(JSON) of a value. */
export function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** An unsigned (`alg: none`) assertion. */
export function unsigned(kid: string, claims: Record<string, unknown> = {}): string {
  return `${b64json({ alg: 'none', typ: 'tollgate-assertion+jwt', kid })}.${b64json(merge(baseClaims(), claims))}.`;
}

/** HS256 signed with `secret` (alg confusion: the public key as an HMAC secret). */
export async function hmacSigned(kid: string, secret: Uint8Array<ArrayBuffer>, claims: Record<string, unknown> = {}): Promise<string> {
  const input = `${b64json({ alg: 'HS256', typ: 'tollgate-assertion+jwt', kid })}.${b64json(merge(baseClaims(), claims))}`;
  const key = await crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const sig = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(input)));
  return `${input}.${Buffer.from(sig).toString('base64url')}`;
}

function portOf(server: net.Server): number {
  return (server.address() as net.AddressInfo).port;
}

/** A JWKS server on 127.0.0.1 whose key set and availability tests can change. */
export interface JwksServer {
  url: string;
  jwks: { keys: JWK[] };
  /** 'up' serves the set; 'down' answers 503; 'refuse' closes connections. */
  mode: 'up' | 'down' | 'refuse';
  fetches: number;
  close(): Promise<void>;
}

export async function startJwks(jwks: { keys: JWK[] }): Promise<JwksServer> {
  const state = { jwks, mode: 'up' as JwksServer['mode'], fetches: 0 };
  const server = http.createServer((req, res) => {
    state.fetches++;
    if (state.mode === 'refuse') {
      req.socket.destroy();
      return;
    }
    if (state.mode === 'down') {
      res.writeHead(503).end();
      return;
    }
    const body = JSON.stringify(state.jwks);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  });
  server.keepAliveTimeout = 1;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${portOf(server)}/.well-known/jwks.json`;
  return Object.assign(state, {
    url,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  }) as JwksServer;
}

/** What the upstream app saw. */
export interface Seen {
  method: string;
  url: string;
  rawHeaders: string[];
  body: Buffer;
}

export interface TestApp {
  /** `http://127.0.0.1:port` or `unix:/path`. */
  upstream: string;
  seen: Seen[];
  close(): Promise<void>;
}

/**
 * The app behind the guard: records every request and answers 200 with JSON
 * `{url, bodyLength}`; `/stream` answers a chunked body of `?n=` bytes.
 */
export async function startApp(options: { unix?: boolean } = {}): Promise<TestApp> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method!, url: req.url!, rawHeaders: req.rawHeaders, body });
      if (req.url!.startsWith('/stream')) {
        const n = Number(new URL(req.url!, 'http://x').searchParams.get('n') ?? '0');
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-app': '1' });
        let left = n;
        const write = (): void => {
          while (left > 0) {
            const size = Math.min(left, 64 * 1024);
            left -= size;
            if (!res.write(Buffer.alloc(size, 0x61))) {
              res.once('drain', write);
              return;
            }
          }
          res.end();
        };
        write();
        return;
      }
      const out = JSON.stringify({ url: req.url, bodyLength: body.length });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out), 'x-app': '1' });
      res.end(out);
    });
  });
  if (options.unix) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-guard-'));
    const socketPath = path.join(dir, 'app.sock');
    server.listen(socketPath);
    await once(server, 'listening');
    return {
      upstream: `unix:${socketPath}`,
      seen,
      close: async () => {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    upstream: `http://127.0.0.1:${portOf(server)}`,
    seen,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function parseResponse(buf: Buffer): RawResponse {
  const text = buf.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const head = end >= 0 ? text.slice(0, end) : text;
  const [statusLine, ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = end >= 0 ? text.slice(end + 4) : '';
  if (headers['transfer-encoding'] === 'chunked') {
    let out = '';
    let rest = body;
    for (;;) {
      const nl = rest.indexOf('\r\n');
      if (nl < 0) break;
      const size = parseInt(rest.slice(0, nl), 16);
      if (!(size > 0)) break;
      out += rest.slice(nl + 2, nl + 2 + size);
      rest = rest.slice(nl + 4 + size);
    }
    body = out;
  }
  return { status: Number(statusLine?.split(' ')[1] ?? 0), headers, body };
}

/**
 * Write `requestText` verbatim to 127.0.0.1:port (the request line is ours,
 * byte for byte) and read until the server closes. Send `Connection: close`.
 * With `halfClose`, the client also ends its side after writing, as a client
 * that sends some bytes and stops would (a server rightly waits, until its
 * header timeout, for a request line after nothing but blank lines).
 */
export async function rawRequest(port: number, requestText: string | Buffer, timeoutMs = 5000, halfClose = false): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('raw request timed out'));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parseResponse(Buffer.concat(chunks)));
    });
    if (halfClose) socket.end(requestText);
    else socket.write(requestText);
  });
}

/** A raw GET (or `method`) for `target` with extra header lines. */
export function requestText(method: string, target: string, headerLines: string[] = []): string {
  return [`${method} ${target} HTTP/1.1`, 'Host: inventory.localhost', ...headerLines, 'Connection: close', '', ''].join('\r\n');
}

/** A request through node:http with headers in raw `[name, value, …]` form (duplicates kept). */
export async function send(
  port: number,
  options: { method?: string; path?: string; headers?: string[]; body?: Buffer | string },
): Promise<RawResponse & { rawHeaders: string[] }> {
  return new Promise((resolve, reject) => {
    // Array-form headers get no automatic Host from node:http: add the workload's.
    const headers = options.headers ?? [];
    const withHost = headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'host') ? headers : ['Host', 'inventory.localhost', ...headers];
    const req = http.request(
      { host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path ?? '/x', headers: withHost, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
          resolve({ status: res.statusCode!, headers, body: Buffer.concat(chunks).toString('utf8'), rawHeaders: res.rawHeaders });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A logger that records every line (as JSON text, to check that no token leaks). */
export function recordingLogger(): Logger & { lines: string[]; events: Array<{ event: string } & LogFields> } {
  const lines: string[] = [];
  const events: Array<{ event: string } & LogFields> = [];
  const log = (level: string) => (event: string, fields?: LogFields) => {
    events.push({ event, ...fields });
    lines.push(JSON.stringify({ level, event, ...fields }));
  };
  return { lines, events, info: log('info'), warn: log('warn'), error: log('error') };
}

/** Header names (lower case) and values of a recorded request, as a multimap. */
export function headerMap(rawHeaders: string[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const k = rawHeaders[i]!.toLowerCase();
    m.set(k, [...(m.get(k) ?? []), rawHeaders[i + 1]!]);
  }
  return m;
}

