/**
 * Malformed input of any size never crashes the guard and never yields a 5xx
 * (other than 503 for a full replay cache): properties over the core and over
 * raw bytes sent to the sidecar.
 */
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock, silentLogger } from '../../../src/platform/index.js';
import { createReplayCache, createStaticKeySource, GUARD_REFUSALS, verifyAssertion, type VerifyOptions } from '../../../src/guard/index.js';
import { startGuard, type RunningGuard } from '../../../src/guard/node/index.js';
import { AUDIENCE, b64json, ISSUER, jwksOf, makeKey, mint, NOW, rawRequest, requestText, send, startApp, startJwks, type JwksServer, type TestApp, type TestKey } from './helpers.js';

let ed: TestKey;
let options: VerifyOptions;
let jwks: JwksServer;
let app: TestApp;
let guard: RunningGuard;

beforeAll(async () => {
  ed = await makeKey('EdDSA', 'ed-1');
  options = { issuer: ISSUER, audience: AUDIENCE, keys: await createStaticKeySource(jwksOf(ed)), replayCache: createReplayCache(), clock: fixedClock(NOW) };
  jwks = await startJwks(jwksOf(ed));
  app = await startApp();
  guard = await startGuard({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: jwks.url, upstream: app.upstream, host: '127.0.0.1', port: 0, clock: fixedClock(NOW), logger: silentLogger });
});

afterAll(async () => {
  await guard.close(100);
  await app.close();
  await jwks.close();
});

const b64 = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('')), maxLength: 200 });
const assertionName = fc.constantFrom('tollgate-assertion', 'Tollgate-Assertion', 'TOLLGATE-ASSERTION', 'authorization', 'tollgate-assertions', 'x');
const anyString = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 100 }), b64);
const fakeJws = fc
  .tuple(
    fc.oneof(fc.jsonValue().map(b64json), fc.record({ alg: fc.constantFrom('EdDSA', 'ES256', 'none', 'HS256', 'RS256'), typ: fc.constantFrom('tollgate-assertion+jwt', 'JWT'), kid: fc.constantFrom('ed-1', 'x', ''), crit: fc.option(fc.array(fc.string()), { nil: undefined }) }).map(b64json), b64),
    fc.oneof(fc.jsonValue().map(b64json), fc.dictionary(fc.constantFrom('iss', 'aud', 'sub', 'iat', 'exp', 'jti', 'htm', 'htu', 'roles'), fc.jsonValue()).map(b64json), b64),
    b64,
  )
  .map(([h, p, s]) => `${h}.${p}.${s}`);

describe('verifyAssertion on arbitrary input', () => {
  it('never throws and always refuses with a reason from the closed set', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(assertionName, fc.oneof(anyString, fakeJws, fc.array(fc.oneof(anyString, fakeJws), { maxLength: 3 }), fc.constant(undefined))),
        anyString,
        fc.constantFrom('GET', 'POST', 'get', ''),
        async (headers, target, method) => {
          const r = await verifyAssertion(target, method, headers as Record<string, string>, options);
          expect(r.ok).toBe(false);
          if (!r.ok) expect(GUARD_REFUSALS).toContain(r.reason);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('a single-character change to a valid assertion never yields other claims', async () => {
    const token = await mint(ed, { claims: { htu: '/f' } });
    await fc.assert(
      fc.asyncProperty(fc.nat(token.length - 1), fc.constantFrom(...'Aa0-_.,= '.split('')), async (i, ch) => {
        const changed = token.slice(0, i) + ch + token.slice(i + 1);
        const opts = { ...options, replayCache: createReplayCache() };
        const r = await verifyAssertion('/f', 'GET', { 'tollgate-assertion': changed }, opts);
        // base64url tail bits may decode to the same bytes; then the assertion is the same one.
        if (r.ok) expect(r.claims.htu).toBe('/f');
        else expect(GUARD_REFUSALS).toContain(r.reason);
      }),
      { numRuns: 300 },
    );
  });
});

async function healthy(): Promise<void> {
  expect((await send(guard.port, { path: '/.tollgate/healthz' })).status).toBe(200);
}

function okStatus(status: number): boolean {
  return status > 0 && (status < 500 || status === 503);
}

describe('the sidecar on arbitrary bytes', () => {
  const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,20}$/);
  const visible = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 200 });
  const fieldValue = fc.oneof(fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 300 }), fakeJws);

  it('well-formed HTTP with random targets, headers and assertions: never a 5xx, never reaches the app', async () => {
    const before = app.seen.length;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'FOO'),
        visible.map((s) => `/${s}`),
        fc.array(fc.tuple(fc.oneof(token, fc.constantFrom('Tollgate-Assertion', 'tollgate-user', 'Connection', 'Transfer-Encoding', 'Content-Length', 'Expect')), fieldValue), { maxLength: 8 }),
        async (method, target, fields) => {
          const res = await rawRequest(guard.port, requestText(method, target, fields.map(([n, v]) => `${n}: ${v}`)));
          expect(okStatus(res.status), `status ${res.status}`).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
    expect(app.seen.length).toBe(before);
    await healthy();
  });

  it('raw garbage bytes: answered with 4xx or closed, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 2000 }), async (bytes) => {
        // Half-closed: bytes that are only blank lines (e.g. [0x0a]) are no request yet, and the server waits for one.
        const res = await rawRequest(guard.port, Buffer.concat([Buffer.from(bytes), Buffer.from('\r\n\r\n')]), 5000, true);
        expect(res.status === 0 || okStatus(res.status), `status ${res.status}`).toBe(true);
      }),
      { numRuns: 100, examples: [[Uint8Array.from([10])], [Uint8Array.from([13, 10])]] },
    );
    await healthy();
  });

  it('huge headers, many headers, a huge target: 4xx', async () => {
    const huge = await rawRequest(guard.port, requestText('GET', '/x', [`Tollgate-Assertion: ${'a'.repeat(200_000)}`]));
    expect(huge.status).toBe(431);
    const many = await rawRequest(guard.port, requestText('GET', '/x', Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`)));
    expect(okStatus(many.status)).toBe(true);
    const longTarget = await rawRequest(guard.port, requestText('GET', `/${'x'.repeat(100_000)}`));
    expect(longTarget.status).toBe(431);
    await healthy();
  });

  it('aborted requests (mid-headers, mid-body, after a valid assertion) leave it serving', async () => {
    const valid = await mint(ed, { claims: { htm: 'POST', htu: '/abort' } });
    for (const text of [
      'GET /x HTTP/1.1\r\nHost: a\r\nTollgate-Asse',
      'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\npartial',
      `POST /abort HTTP/1.1\r\nHost: a\r\nTollgate-Assertion: ${valid}\r\nContent-Length: 100000\r\n\r\npartial body`,
      `POST /abort HTTP/1.1\r\nHost: a\r\nTollgate-Assertion: ${valid}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab`,
    ]) {
      await new Promise<void>((resolve) => {
        const s = net.connect(guard.port, '127.0.0.1', () => {
          s.write(text);
          setTimeout(() => {
            s.destroy();
            resolve();
          }, 30);
        });
        s.on('error', () => resolve());
      });
    }
    await new Promise((r) => setTimeout(r, 50));
    await healthy();
  });
});
