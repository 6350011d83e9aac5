/**
 * verifyAssertion, one rule at a time (DESIGN §6), without a network: static
 * key source, frozen clock. The sidecar tests repeat the rules end to end.
 */
import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../../src/platform/index.js';
import {
  createReplayCache,
  createStaticKeySource,
  GUARD_REFUSALS,
  joseSignatureCheck,
  webCryptoSignatureCheck,
  verifyAssertion,
  type GuardRefusal,
  type KeySource,
  type SignatureCheck,
  type VerifyOptions,
} from '../../../src/guard/index.js';
import { syncSignatureCheck } from '../../../src/guard/node/index.js';
import { AUDIENCE, b64json, hmacSigned, ISSUER, jwksOf, makeKey, mint, mintRaw, NOW, NOW_S, unsigned, type TestKey } from './helpers.js';

let ed: TestKey;
let ec: TestKey;
let attacker: TestKey;
let keys: KeySource;

beforeAll(async () => {
  ed = await makeKey('EdDSA', 'ed-1');
  ec = await makeKey('ES256', 'ec-1');
  attacker = await makeKey('EdDSA', 'attacker');
  keys = await createStaticKeySource(jwksOf(ed, ec));
});

function options(over: Partial<VerifyOptions> = {}): VerifyOptions {
  return { issuer: ISSUER, audience: AUDIENCE, keys, replayCache: createReplayCache(), clock: fixedClock(NOW), ...over };
}

async function verifyToken(token: string, over: Partial<VerifyOptions> = {}, target = '/x', method = 'GET') {
  return verifyAssertion(target, method, { 'tollgate-assertion': token }, options(over));
}

/** Every way of checking a signature: jose (the reference), WebCrypto (the default), node:crypto (the Node sidecar when idle). */
const CHECKS: ReadonlyArray<readonly [string, SignatureCheck]> = [
  ['jose', joseSignatureCheck],
  ['WebCrypto', webCryptoSignatureCheck],
  ['node:crypto', syncSignatureCheck],
];

describe('verifyAssertion accepts', () => {
  it.each((['EdDSA', 'ES256'] as const).flatMap((alg) => CHECKS.map(([n, check]) => [alg, n, check] as const)))('a valid %s assertion (%s) and yields claims and identity headers', async (alg, _n, signatureCheck) => {
    const key = alg === 'EdDSA' ? ed : ec;
    const result = await verifyToken(await mint(key), { signatureCheck });
    expect(result).toMatchObject({
      ok: true,
      claims: { sub: 'user:VS52XyOFL_cY:alice', htu: '/x' },
      identityHeaders: {
        'Tollgate-User': 'user:VS52XyOFL_cY:alice',
        'Tollgate-Email': 'alice@example.com',
        'Tollgate-Roles': 'reader,viewer',
        'Tollgate-Device-Trust': 'high',
      },
    });
  });

  it('reads the header from a Fetch Headers, any letter case', async () => {
    const h = new Headers({ 'TOLLGATE-ASSERTION': await mint(ed) });
    expect((await verifyAssertion('/x', 'GET', h, options())).ok).toBe(true);
  });

  it('reads the header from a Node-style record with mixed-case names and one-element arrays', async () => {
    const t = await mint(ed);
    expect((await verifyAssertion('/x', 'GET', { 'Tollgate-Assertion': [t] }, options())).ok).toBe(true);
  });

  it.each([
    ['aud array containing the workload', { aud: ['other', AUDIENCE] }],
    ['exp passed by less than the skew', { iat: NOW_S - 30, exp: NOW_S - 4 }],
    ['iat ahead by less than the skew', { iat: NOW_S + 4, exp: NOW_S + 30 }],
    ['lifetime of exactly 60 s', { iat: NOW_S - 1, exp: NOW_S + 59 }],
    ['no optional claims', { email: undefined, roles: undefined, dev: undefined, rid: undefined, sid: undefined }],
  ])('%s', async (_name, claims) => {
    expect((await verifyToken(await mint(ed, { claims }))).ok).toBe(true);
  });

  it('leaves identity headers of absent claims absent', async () => {
    const r = await verifyToken(await mint(ed, { claims: { email: undefined, roles: [], dev: { id: 'd' } } }));
    expect(r.ok && r.identityHeaders).toEqual({ 'Tollgate-User': 'user:VS52XyOFL_cY:alice' });
  });

  it('checks ept only when an endpoint id is configured', async () => {
    expect((await verifyToken(await mint(ed, { claims: { ept: 'ep-2' } }))).ok).toBe(true);
    expect((await verifyToken(await mint(ed, { claims: { ept: 'ep-1' } }), { endpointId: 'ep-1' })).ok).toBe(true);
  });

  it('verifies the golden vector minted by src/token', async () => {
    const vectors = JSON.parse(fs.readFileSync(new URL('../../vectors/assertion.json', import.meta.url), 'utf8'));
    const { golden, rfc8037Key } = vectors;
    const { d: _d, ...pub } = rfc8037Key.jwk;
    const source = await createStaticKeySource({ keys: [{ ...pub, kid: golden.kid }] });
    const r = await verifyAssertion(golden.claims.htu, 'GET', { 'tollgate-assertion': golden.assertion }, {
      ...options({ keys: source, clock: fixedClock(golden.now) }),
      endpointId: golden.claims.ept,
    });
    expect(r).toMatchObject({ ok: true, identityHeaders: { 'Tollgate-Roles': 'reader,viewer' } });
  });
});

interface Case {
  name: string;
  reason: GuardRefusal;
  token?: () => Promise<string>;
  headers?: () => Promise<Record<string, string | string[]>>;
  over?: () => Partial<VerifyOptions>;
  target?: string;
  method?: string;
}

const cases: Case[] = [
  { name: 'no assertion header', reason: 'missing-assertion', headers: async () => ({}) },
  { name: 'assertion only in Authorization', reason: 'missing-assertion', headers: async () => ({ authorization: `Bearer ${await mint(ed)}` }) },
  { name: 'two headers (array)', reason: 'multiple-assertions', headers: async () => ({ 'tollgate-assertion': [await mint(ed), await mint(ed)] }) },
  { name: 'two headers (two names differing in case)', reason: 'multiple-assertions', headers: async () => ({ 'Tollgate-Assertion': await mint(ed), 'tollgate-assertion': await mint(ed) }) },
  { name: 'joined with a comma', reason: 'multiple-assertions', headers: async () => ({ 'tollgate-assertion': `${await mint(ed)}, ${await mint(ed)}` }) },
  { name: 'empty value', reason: 'malformed', token: async () => '' },
  { name: 'over 8 KiB', reason: 'assertion-too-large', token: async () => 'a'.repeat(8193) },
  { name: 'garbage', reason: 'malformed', token: async () => 'not a jws' },
  { name: 'two segments', reason: 'malformed', token: async () => 'abc.def' },
  { name: 'header not JSON', reason: 'malformed', token: async () => 'bm90LWpzb24.e30.c2ln' },
  { name: 'header is an array', reason: 'malformed', token: async () => `${b64json([1])}.e30.c2ln` },
  { name: 'typ JWT', reason: 'bad-typ', token: () => mint(ed, { header: { typ: 'JWT' } }) },
  { name: 'typ missing', reason: 'bad-typ', token: () => mint(ed, { header: { typ: undefined } }) },
  { name: 'typ in other case', reason: 'bad-typ', token: () => mint(ed, { header: { typ: 'Tollgate-Assertion+JWT' } }) },
  { name: 'alg none', reason: 'alg-not-allowed', token: async () => unsigned('ed-1') },
  {
    name: 'HS256 with the public key as HMAC secret',
    reason: 'alg-not-allowed',
    token: async () => hmacSigned('ed-1', new Uint8Array(Buffer.from(ed.publicJwk.x!, 'base64url'))),
  },
  { name: 'alg Ed25519 (not in the allow-list)', reason: 'alg-not-allowed', token: () => mint(ed, { header: { alg: 'Ed25519' } }) },
  { name: 'crit', reason: 'crit-unsupported', token: () => mintRaw(ed, { header: { crit: ['exp'], exp: 1 } }) },
  { name: 'empty crit', reason: 'crit-unsupported', token: () => mintRaw(ed, { header: { crit: [] } }) },
  { name: 'b64 false with crit', reason: 'crit-unsupported', token: () => mintRaw(ed, { header: { crit: ['b64'], b64: false } }) },
  { name: 'kid missing', reason: 'missing-kid', token: () => mint(ed, { header: { kid: undefined } }) },
  { name: 'kid not a string', reason: 'missing-kid', token: () => mint(ed, { header: { kid: 7 } }) },
  { name: 'kid unknown', reason: 'unknown-kid', token: () => mint(attacker) },
  {
    name: 'embedded jwk of the attacker key is ignored',
    reason: 'unknown-kid',
    token: () => mint(attacker, { header: { jwk: attacker.publicJwk } }),
  },
  {
    name: 'embedded jwk with a known kid: still verified with the cached key',
    reason: 'bad-signature',
    token: () => mint(attacker, { header: { kid: 'ed-1', jwk: attacker.publicJwk, jku: 'http://127.0.0.1:9/jwks', x5u: 'http://127.0.0.1:9/x5u', x5c: ['AAAA'] } }),
  },
  { name: 'EdDSA key used with ES256', reason: 'key-alg-mismatch', token: () => mint({ ...ec, kid: 'ed-1' }) },
  { name: 'signature of another key', reason: 'bad-signature', token: () => mint({ ...attacker, kid: 'ed-1' }) },
  {
    name: 'payload changed after signing',
    reason: 'bad-signature',
    token: async () => {
      const [h, , s] = (await mint(ed)).split('.');
      return `${h}.${b64json({ iss: ISSUER, aud: AUDIENCE, sub: 'user:x:admin' })}.${s}`;
    },
  },
  { name: 'empty signature', reason: 'bad-signature', token: async () => (await mint(ed)).replace(/\.[^.]+$/, '.') },
  { name: 'iss differs', reason: 'bad-issuer', token: () => mint(ed, { claims: { iss: 'http://evil.example' } }) },
  { name: 'iss with a trailing slash', reason: 'bad-issuer', token: () => mint(ed, { claims: { iss: `${ISSUER}/` } }) },
  { name: 'iss missing', reason: 'bad-issuer', token: () => mint(ed, { claims: { iss: undefined } }) },
  { name: 'aud differs', reason: 'bad-audience', token: () => mint(ed, { claims: { aud: 'billing' } }) },
  { name: 'aud array without the workload', reason: 'bad-audience', token: () => mint(ed, { claims: { aud: ['billing'] } }) },
  { name: 'aud missing', reason: 'bad-audience', token: () => mint(ed, { claims: { aud: undefined } }) },
  ...(['sub', 'iat', 'exp', 'jti', 'htm', 'htu'] as const).map(
    (claim): Case => ({ name: `${claim} missing`, reason: 'missing-claim', token: () => mint(ed, { claims: { [claim]: undefined } }) }),
  ),
  ...(
    [
      ['sub', 42],
      ['sub', ''],
      ['iat', '1767225600'],
      ['exp', null],
      ['jti', 12],
      ['jti', 'j'.repeat(257)],
      ['htm', ['GET']],
      ['htu', { p: '/x' }],
    ] as const
  ).map((([claim, value]): Case => ({ name: `${claim} = ${JSON.stringify(value).slice(0, 20)}`, reason: 'bad-claim', token: () => mint(ed, { claims: { [claim]: value } }) })) as (c: readonly [string, unknown]) => Case),
  { name: 'expired beyond the skew', reason: 'expired', token: () => mint(ed, { claims: { iat: NOW_S - 40, exp: NOW_S - 5 } }) },
  { name: 'iat beyond the skew in the future', reason: 'issued-in-future', token: () => mint(ed, { claims: { iat: NOW_S + 6, exp: NOW_S + 30 } }) },
  { name: 'nbf in the future', reason: 'not-yet-valid', token: () => mint(ed, { claims: { nbf: NOW_S + 10 } }) },
  { name: 'lifetime 61 s', reason: 'lifetime-too-long', token: () => mint(ed, { claims: { iat: NOW_S, exp: NOW_S + 61 } }) },
  { name: 'exp before iat', reason: 'bad-claim', token: () => mint(ed, { claims: { iat: NOW_S, exp: NOW_S - 1 } }) },
  { name: 'htm differs', reason: 'method-mismatch', token: () => mint(ed, { claims: { htm: 'POST' } }) },
  { name: 'htm differs in case', reason: 'method-mismatch', token: () => mint(ed, { claims: { htm: 'get' } }) },
  { name: 'htu differs', reason: 'target-mismatch', token: () => mint(ed, { claims: { htu: '/y' } }) },
  { name: 'htu without the query', reason: 'target-mismatch', token: () => mint(ed), target: '/x?a=1' },
  { name: 'ept missing while configured', reason: 'endpoint-mismatch', token: () => mint(ed), over: () => ({ endpointId: 'ep-1' }) },
  { name: 'ept for another endpoint', reason: 'endpoint-mismatch', token: () => mint(ed, { claims: { ept: 'ep-2' } }), over: () => ({ endpointId: 'ep-1' }) },
  { name: 'roles with a comma inside a role', reason: 'bad-claim', token: () => mint(ed, { claims: { roles: ['reader,admin'] } }) },
  { name: 'roles not an array', reason: 'bad-claim', token: () => mint(ed, { claims: { roles: 'admin' } }) },
  { name: 'email with CR LF', reason: 'bad-claim', token: () => mint(ed, { claims: { email: 'a@b\r\nTollgate-Roles: admin' } }) },
  { name: 'sub with a NUL', reason: 'bad-claim', token: () => mint(ed, { claims: { sub: 'user:x:a\u0000b' } }) },
  { name: 'dev.trust not a string', reason: 'bad-claim', token: () => mint(ed, { claims: { dev: { trust: 3 } } }) },
  { name: 'non-ASCII email', reason: 'bad-claim', token: () => mint(ed, { claims: { email: 'jürgen@example.com' } }) },
];

describe('verifyAssertion refuses', () => {
  it.each(cases.flatMap((c) => CHECKS.map(([n, check]) => [c.name, n, c, check] as const)))('%s (%s)', async (_name, _n, c, signatureCheck) => {
    const headers = c.headers ? await c.headers() : { 'tollgate-assertion': await c.token!() };
    const result = await verifyAssertion(c.target ?? '/x', c.method ?? 'GET', headers, options({ signatureCheck, ...c.over?.() }));
    expect(result).toEqual({ ok: false, reason: c.reason });
  });

  it('every reason is in the closed set', () => {
    for (const c of cases) expect(GUARD_REFUSALS).toContain(c.reason);
  });

  it('a replayed assertion, and does not burn a jti on refusal', async () => {
    const opts = options();
    const token = await mint(ed);
    const wrongTarget = await verifyAssertion('/y', 'GET', { 'tollgate-assertion': token }, opts);
    expect(wrongTarget).toEqual({ ok: false, reason: 'target-mismatch' });
    expect((await verifyAssertion('/x', 'GET', { 'tollgate-assertion': token }, opts)).ok).toBe(true);
    expect(await verifyAssertion('/x', 'GET', { 'tollgate-assertion': token }, opts)).toEqual({ ok: false, reason: 'replayed' });
  });

  it('all but one of 50 concurrent verifications of one assertion', async () => {
    const opts = options();
    const token = await mint(ec);
    const results = await Promise.all(Array.from({ length: 50 }, () => verifyAssertion('/x', 'GET', { 'tollgate-assertion': token }, opts)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.reason === 'replayed')).toHaveLength(49);
  });

  it('with replay-cache-full when the cache has no room for an unexpired jti', async () => {
    const opts = options({ replayCache: createReplayCache({ maxEntries: 2 }) });
    const verify = async () => verifyAssertion('/x', 'GET', { 'tollgate-assertion': await mint(ed) }, opts);
    expect((await verify()).ok).toBe(true);
    expect((await verify()).ok).toBe(true);
    expect(await verify()).toEqual({ ok: false, reason: 'replay-cache-full' });
  });

  it('with keys-unavailable when no key set was ever loaded', async () => {
    const none: KeySource = { lookup: async () => ({ status: 'unavailable' }), ready: () => false };
    expect(await verifyToken(await mint(ed), { keys: none })).toEqual({ ok: false, reason: 'keys-unavailable' });
    const broken: KeySource = { lookup: async () => { throw new Error('boom'); }, ready: () => false };
    expect(await verifyToken(await mint(ed), { keys: broken })).toEqual({ ok: false, reason: 'keys-unavailable' });
  });

  it('never clamps the skew above 5 s', async () => {
    const token = await mint(ed, { claims: { iat: NOW_S - 40, exp: NOW_S - 6 } });
    expect(await verifyToken(token, { skewSeconds: 60 })).toEqual({ ok: false, reason: 'expired' });
  });
});

describe('mintRaw sanity', () => {
  it('produces assertions the guard accepts when the header is ordinary', async () => {
    expect((await verifyToken(await mintRaw(ed))).ok).toBe(true);
    expect((await verifyToken(await mintRaw(ec))).ok).toBe(true);
  });
});
