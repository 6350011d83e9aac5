import { createHash } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, generateSecret, jwtVerify, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { TollgateError } from '../../../src/errors.js';
import { cryptoRandom, type Random } from '../../../src/platform/index.js';
import {
  ASSERTION_TYP,
  generateSigningJwk,
  loadKeyRing,
  mintAssertion,
  serviceSubject,
  userSubject,
  type AssertionAlg,
  type AssertionInput,
  type KeyRing,
} from '../../../src/token/index.js';
import vectors from '../../vectors/assertion.json' with { type: 'json' };

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0, 500);
const NOW_S = Math.floor(NOW / 1000);
const ISSUER = 'http://127.0.0.1:8787';

function fixedRandom(bytes: number[]): Random {
  return {
    bytes: (n) => Uint8Array.from({ length: n }, (_, i) => bytes[i % bytes.length]!),
    id: (n = 16) => Buffer.from(Uint8Array.from({ length: n }, (_, i) => bytes[i % bytes.length]!)).toString('base64url'),
  };
}

const baseInput: AssertionInput = {
  issuer: ISSUER,
  audience: 'inventory',
  subject: 'user:VS52XyOFL_cY:alice',
  requestId: 'rid-1',
  method: 'POST',
  target: '/items/%2e%2e/x?q=a%20b&q=c',
  roles: ['editor'],
};

async function ringFor(alg: AssertionAlg, kid = `k-${alg}`): Promise<{ ring: KeyRing; jwk: JWK }> {
  const jwk = await generateSigningJwk(alg, kid);
  return { ring: await loadKeyRing({ keys: [jwk] }), jwk };
}

async function expectConfigInvalid(p: Promise<unknown>): Promise<TollgateError> {
  const err = await p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TollgateError);
  expect((err as TollgateError).code).toBe('config-invalid');
  return err as TollgateError;
}

function decodePart(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('userSubject / serviceSubject', () => {
  it.each(vectors.userSubjects)('$issuer + $sub', async ({ issuer, sub, expected }) => {
    expect(await userSubject(issuer, sub)).toBe(expected);
  });

  it('matches an independent SHA-256 computation', async () => {
    const issuer = 'https://idp.example.org/realms/main';
    const h = createHash('sha256').update(issuer).digest('base64url').slice(0, 12);
    expect(await userSubject(issuer, 'x')).toBe(`user:${h}:x`);
    expect(h).toHaveLength(12);
  });

  it('service subjects', () => {
    expect(serviceSubject('ci')).toBe('service:ci');
  });
});

describe('mintAssertion', () => {
  for (const alg of ['EdDSA', 'ES256'] as const) {
    describe(alg, () => {
      it('verifies with jose against the published JWKS; header and claims have the exact shape', async () => {
        const { ring } = await ringFor(alg);
        const jws = await mintAssertion(
          {
            ...baseInput,
            sessionId: 'sid-1',
            email: 'alice@example.com',
            device: { id: 'dev-1', trust: 'high' },
            cnf: { jkt: 'abc' },
            act: { sub: 'service:ci' },
            endpoint: 'ept-1',
          },
          ring.active,
          { now: NOW, random: cryptoRandom },
        );
        const parts = jws.split('.');
        expect(parts).toHaveLength(3);
        expect(decodeProtectedHeader(jws)).toEqual({ alg, kid: `k-${alg}`, typ: ASSERTION_TYP });
        expect(Object.keys(decodePart(parts[0]!))).toEqual(['alg', 'kid', 'typ']);

        const { payload, protectedHeader } = await jwtVerify(jws, createLocalJWKSet(ring.jwks), {
          issuer: ISSUER,
          audience: 'inventory',
          typ: ASSERTION_TYP,
          algorithms: [alg],
          currentDate: new Date(NOW),
        });
        expect(protectedHeader.kid).toBe(`k-${alg}`);
        expect(payload).toEqual({
          iss: ISSUER,
          aud: 'inventory',
          sub: 'user:VS52XyOFL_cY:alice',
          iat: NOW_S,
          exp: NOW_S + 30,
          jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
          rid: 'rid-1',
          htm: 'POST',
          htu: '/items/%2e%2e/x?q=a%20b&q=c',
          sid: 'sid-1',
          roles: ['editor'],
          dev: { id: 'dev-1', trust: 'high' },
          cnf: { jkt: 'abc' },
          act: { sub: 'service:ci' },
          ept: 'ept-1',
          email: 'alice@example.com',
        });
      });

      it('signs with raw JWS signatures (64 bytes)', async () => {
        const { ring } = await ringFor(alg);
        const jws = await mintAssertion(baseInput, ring.active, { now: NOW, random: cryptoRandom });
        expect(Buffer.from(jws.split('.')[2]!, 'base64url')).toHaveLength(64);
      });
    });
  }

  it('omits optional claims that are not given', async () => {
    const { ring } = await ringFor('EdDSA');
    const jws = await mintAssertion(baseInput, ring.active, { now: NOW, random: cryptoRandom });
    expect(Object.keys(decodePart(jws.split('.')[1]!))).toEqual(['iss', 'aud', 'sub', 'iat', 'exp', 'jti', 'rid', 'htm', 'htu', 'roles']);
  });

  it('reproduces the golden vector byte for byte (RFC 8037 key, Ed25519 is deterministic)', async () => {
    const g = vectors.golden;
    const ring = await loadKeyRing({ keys: [{ ...vectors.rfc8037Key.jwk, kid: g.kid, alg: 'EdDSA' }] });
    const jws = await mintAssertion(g.input, ring.active, { now: g.now, random: fixedRandom(g.jtiBytes) });
    expect(jws).toBe(g.assertion);
    expect(decodePart(jws.split('.')[1]!)).toEqual(g.claims);
  });

  it.each([
    [undefined, 30],
    [1, 1],
    [45, 45],
    [60, 60],
  ])('ttl %s gives exp - iat = %i', async (ttlSeconds, expected) => {
    const { ring } = await ringFor('EdDSA');
    const jws = await mintAssertion({ ...baseInput, ttlSeconds }, ring.active, { now: NOW, random: cryptoRandom });
    const claims = decodePart(jws.split('.')[1]!);
    expect((claims.exp as number) - (claims.iat as number)).toBe(expected);
    expect(claims.iat).toBe(NOW_S);
  });

  it.each([0, 61, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses ttl %s', async (ttlSeconds) => {
    const { ring } = await ringFor('EdDSA');
    await expectConfigInvalid(mintAssertion({ ...baseInput, ttlSeconds }, ring.active, { now: NOW, random: cryptoRandom }));
  });

  it('an expired assertion no longer verifies', async () => {
    const { ring } = await ringFor('EdDSA');
    const jws = await mintAssertion(baseInput, ring.active, { now: NOW, random: cryptoRandom });
    await expect(
      jwtVerify(jws, createLocalJWKSet(ring.jwks), { currentDate: new Date(NOW + 31_000), clockTolerance: 0 }),
    ).rejects.toThrow();
  });

  it('jti: 128 bits from the injected random source, unique across mints', async () => {
    const { ring } = await ringFor('EdDSA');
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const jws = await mintAssertion(baseInput, ring.active, { now: NOW, random: cryptoRandom });
      const jti = decodePart(jws.split('.')[1]!).jti as string;
      expect(Buffer.from(jti, 'base64url')).toHaveLength(16);
      expect(jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
      seen.add(jti);
    }
    expect(seen.size).toBe(200);

    const fixed = await mintAssertion(baseInput, ring.active, { now: NOW, random: fixedRandom([0xff]) });
    expect(decodePart(fixed.split('.')[1]!).jti).toBe(Buffer.alloc(16, 0xff).toString('base64url'));
  });

  it('copies roles and device instead of aliasing the caller’s objects', async () => {
    const { ring } = await ringFor('EdDSA');
    const roles = ['a'];
    const device = { id: 'd', trust: 'low', extra: 'not-a-claim' } as { id: string; trust: string };
    const jws = await mintAssertion({ ...baseInput, roles, device }, ring.active, { now: NOW, random: cryptoRandom });
    expect(decodePart(jws.split('.')[1]!).dev).toEqual({ id: 'd', trust: 'low' });
  });

  it('refuses missing required inputs', async () => {
    const { ring } = await ringFor('EdDSA');
    for (const field of ['issuer', 'audience', 'subject', 'requestId', 'method', 'target'] as const) {
      await expect(mintAssertion({ ...baseInput, [field]: '' }, ring.active, { now: NOW, random: cryptoRandom })).rejects.toBeInstanceOf(TollgateError);
    }
  });
});

describe('loadKeyRing', () => {
  it('publishes only public fields, with use "sig"', async () => {
    const ed = await generateSigningJwk('EdDSA', 'ed');
    const ec = await generateSigningJwk('ES256', 'ec');
    const ring = await loadKeyRing(JSON.stringify({ keys: [ed, { ...ec, key_ops: ['sign'], ext: true, x5c: ['AAAA'] }] }));
    expect(ring.jwks.keys).toEqual([
      { kty: 'OKP', crv: 'Ed25519', x: ed.x, kid: 'ed', alg: 'EdDSA', use: 'sig' },
      { kty: 'EC', crv: 'P-256', x: ec.x, y: ec.y, kid: 'ec', alg: 'ES256', use: 'sig' },
    ]);
    for (const k of ring.jwks.keys) {
      for (const field of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'key_ops', 'ext', 'x5c']) expect(k).not.toHaveProperty(field);
    }
    expect(JSON.stringify(ring.jwks)).not.toContain(ed.d!);
    expect(JSON.stringify(ring.jwks)).not.toContain(ec.d!);
  });

  it('the active key is the first by default, or the named kid; others are published (rotation)', async () => {
    const current = await generateSigningJwk('EdDSA', 'current');
    const next = await generateSigningJwk('ES256', 'next');
    const { x: _x, d: _d, ...rest } = await generateSigningJwk('EdDSA', 'retired');
    const retiredPublic = { ...rest, x: _x }; // private half destroyed, still published

    const before = await loadKeyRing({ keys: [current, next, retiredPublic] });
    expect(before.active.kid).toBe('current');
    expect(before.active.alg).toBe('EdDSA');
    expect(before.jwks.keys.map((k) => k.kid)).toEqual(['current', 'next', 'retired']);

    const after = await loadKeyRing({ keys: [current, next, retiredPublic] }, 'next');
    expect(after.active.kid).toBe('next');
    expect(after.active.alg).toBe('ES256');

    // An assertion signed before the rotation still verifies against the JWKS published after it.
    const jwks = createLocalJWKSet(after.jwks);
    const old = await mintAssertion(baseInput, before.active, { now: NOW, random: cryptoRandom });
    const fresh = await mintAssertion(baseInput, after.active, { now: NOW, random: cryptoRandom });
    expect((await jwtVerify(old, jwks, { currentDate: new Date(NOW) })).protectedHeader.kid).toBe('current');
    expect((await jwtVerify(fresh, jwks, { currentDate: new Date(NOW) })).protectedHeader.kid).toBe('next');

    await expectConfigInvalid(loadKeyRing({ keys: [current, next] }, 'missing'));
    await expectConfigInvalid(loadKeyRing({ keys: [current, retiredPublic] }, 'retired'));
  });

  it('generateSigningJwk: kid defaults to the RFC 7638 thumbprint', async () => {
    for (const alg of ['EdDSA', 'ES256'] as const) {
      const jwk = await generateSigningJwk(alg);
      const members = alg === 'EdDSA' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
      expect(jwk.kid).toBe(createHash('sha256').update(JSON.stringify(members)).digest('base64url'));
      expect(jwk).toMatchObject({ alg, use: 'sig' });
      expect(typeof jwk.d).toBe('string');
    }
  });

  it('imports the RFC 8037 key (whose thumbprint is the RFC value)', async () => {
    const ring = await loadKeyRing({ keys: [{ ...vectors.rfc8037Key.jwk, kid: vectors.rfc8037Key.rfc7638ThumbprintFromRfc, alg: 'EdDSA' }] });
    expect(ring.jwks.keys[0]!.x).toBe(vectors.rfc8037Key.jwk.x);
  });

  it('refuses bad key sets without echoing key material', async () => {
    const ed = await generateSigningJwk('EdDSA', 'ed');
    const ec = await generateSigningJwk('ES256', 'ec');
    const other = await generateSigningJwk('EdDSA', 'other');
    const hmac = { ...(await exportJWK(await generateSecret('HS256', { extractable: true }))), kid: 'h', alg: 'HS256' };
    const rsa = { ...(await exportJWK((await generateKeyPair('RS256', { extractable: true })).privateKey)), kid: 'r', alg: 'RS256' };
    const p384 = { ...(await exportJWK((await generateKeyPair('ES384', { extractable: true })).privateKey)), kid: 'p', alg: 'ES256' };
    const { kid: _kid, ...noKid } = ed;
    const { alg: _alg, ...noAlg } = ed;
    const cases: [string, unknown][] = [
      ['not JSON', '{"keys": ['],
      ['no keys', { keys: [] }],
      ['keys not an array', { keys: {} }],
      ['null', null],
      ['HMAC', { keys: [hmac] }],
      ['RSA', { keys: [rsa] }],
      ['RSA as a non-active key', { keys: [ed, rsa] }],
      ['P-384 labelled ES256', { keys: [p384] }],
      ['EdDSA alg on an EC key', { keys: [{ ...ec, alg: 'EdDSA' }] }],
      ['alg none', { keys: [{ ...ed, alg: 'none' }] }],
      ['missing kid', { keys: [noKid] }],
      ['missing alg', { keys: [noAlg] }],
      ['duplicate kid', { keys: [ed, { ...ec, kid: 'ed' }] }],
      ['use enc', { keys: [{ ...ed, use: 'enc' }] }],
      ['public half of another key', { keys: [{ ...ed, x: other.x }] }],
      ['garbage d', { keys: [{ ...ed, d: 'AAAA' }] }],
      ['active key public only', { keys: [{ ...ed, d: undefined }] }],
      ['a key that is a string', { keys: ['ed'] }],
    ];
    for (const [name, doc] of cases) {
      const err = await expectConfigInvalid(loadKeyRing(doc as never));
      for (const secret of [ed.d, ec.d, hmac.k, rsa.d].filter(Boolean)) expect(err.message, name).not.toContain(secret);
    }
  });
});
