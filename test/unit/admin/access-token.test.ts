/**
 * Access tokens (src/token/access-token.ts), in Node with a frozen clock:
 * mint → verify round trip for both algorithms, and every refusal.
 */
import fc from 'fast-check';
import { SignJWT, base64url, createLocalJWKSet } from 'jose';
import { describe, expect, it } from 'vitest';
import { isTollgateError } from '../../../src/errors.js';
import { cryptoRandom } from '../../../src/platform/index.js';
import {
  MAX_ACCESS_TOKEN_LIFETIME,
  accessTokenKeys,
  generateSigningJwk,
  loadKeyRing,
  mintAccessToken,
  verifyAccessToken,
  type AccessTokenInput,
  type AssertionAlg,
  type KeyRing,
} from '../../../src/token/index.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const NOW_S = NOW / 1000;
const ISS = 'http://127.0.0.1:8787';
const AUD = `${ISS}/admin/v1`;
const input: AccessTokenInput = {
  issuer: ISS,
  audience: AUD,
  subject: 'user:VS52XyOFL_cY:admin',
  clientId: 'cli',
  lifetimeSeconds: 3600,
  groups: ['admins'],
  email: 'admin@example.com',
};

async function ring(alg: AssertionAlg = 'EdDSA'): Promise<KeyRing> {
  return loadKeyRing({ keys: [await generateSigningJwk(alg, `k-${alg}`), await generateSigningJwk(alg === 'EdDSA' ? 'ES256' : 'EdDSA', 'other')] }, `k-${alg}`);
}

const verify = (r: KeyRing, t: string, now = NOW, extra: { audience?: string; issuer?: string } = {}) =>
  verifyAccessToken(t, accessTokenKeys(r), { issuer: extra.issuer ?? ISS, audience: extra.audience ?? AUD, now });

async function refused(p: Promise<unknown>): Promise<void> {
  await expect(p).rejects.toSatisfy((e: unknown) => isTollgateError(e) && e.code === 'unauthenticated' && !/eyJ/.test(e.message));
}

describe('access tokens', () => {
  it.each(['EdDSA', 'ES256'] as const)('%s: mint → verify round trip with the RFC 9068 header and claims', async (alg) => {
    const r = await ring(alg);
    const t = await mintAccessToken(input, r.active, { now: NOW, random: cryptoRandom });
    const header = JSON.parse(new TextDecoder().decode(base64url.decode(t.split('.')[0]!)));
    expect(header).toEqual({ alg, kid: `k-${alg}`, typ: 'at+jwt' });
    const claims = await verify(r, t);
    expect(claims).toMatchObject({ iss: ISS, aud: AUD, sub: input.subject, client_id: 'cli', iat: NOW_S, exp: NOW_S + 3600, groups: ['admins'], email: 'admin@example.com' });
    expect(claims.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('refuses lifetimes outside 1..8 h when minting', async () => {
    const r = await ring();
    for (const lifetimeSeconds of [0, -1, 1.5, MAX_ACCESS_TOKEN_LIFETIME + 1]) {
      await expect(mintAccessToken({ ...input, lifetimeSeconds }, r.active, { now: NOW, random: cryptoRandom })).rejects.toSatisfy(
        (e: unknown) => isTollgateError(e) && e.code === 'config-invalid',
      );
    }
    await expect(mintAccessToken({ ...input, lifetimeSeconds: 600 }, r.active, { now: NOW, random: cryptoRandom, maxLifetimeSeconds: 300 })).rejects.toThrow();
  });

  it('expiry and clock skew (5 s)', async () => {
    const r = await ring();
    const t = await mintAccessToken({ ...input, lifetimeSeconds: 60 }, r.active, { now: NOW, random: cryptoRandom });
    await expect(verify(r, t, NOW + 64_000)).resolves.toBeTruthy();
    await refused(verify(r, t, NOW + 66_000));
    await expect(verify(r, t, NOW - 4_000)).resolves.toBeTruthy();
    await refused(verify(r, t, NOW - 10_000));
  });

  it('audience and issuer must match exactly', async () => {
    const r = await ring();
    const t = await mintAccessToken(input, r.active, { now: NOW, random: cryptoRandom });
    await refused(verify(r, t, NOW, { audience: `${AUD}/` }));
    await refused(verify(r, t, NOW, { audience: 'billing' }));
    await refused(verify(r, t, NOW, { issuer: `${ISS}/` }));
  });

  it('only keys of the ring, only EdDSA / ES256, only typ at+jwt', async () => {
    const r = await ring();
    const stranger = await ring();
    await refused(verify(r, await mintAccessToken(input, stranger.active, { now: NOW, random: cryptoRandom })));
    const claims = { iss: ISS, aud: AUD, sub: 's', client_id: 'c', iat: NOW_S, exp: NOW_S + 60, jti: 'j' };
    const wrongTyp = await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: 'k-EdDSA', typ: 'JWT' }).sign(r.active.privateKey);
    await refused(verify(r, wrongTyp));
    const hmac = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'k-EdDSA', typ: 'at+jwt' }).sign(new Uint8Array(32));
    await refused(verify(r, hmac));
    const none = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt' }))}.${base64url.encode(JSON.stringify(claims))}.`;
    await refused(verify(r, none));
    const ok = await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: 'k-EdDSA', typ: 'at+jwt' }).sign(r.active.privateKey);
    await expect(verify(r, ok)).resolves.toMatchObject({ groups: [] });
  });

  it('claims: lifetime > 8 h, missing client_id / jti, bad groups are refused', async () => {
    const r = await ring();
    const sign = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: 'k-EdDSA', typ: 'at+jwt' }).sign(r.active.privateKey);
    const base = { iss: ISS, aud: AUD, sub: 's', client_id: 'c', iat: NOW_S, exp: NOW_S + 60, jti: 'j' };
    await refused(verify(r, await sign({ ...base, exp: NOW_S + MAX_ACCESS_TOKEN_LIFETIME + 1 })));
    await refused(verify(r, await sign({ ...base, client_id: undefined })));
    await refused(verify(r, await sign({ ...base, jti: undefined })));
    await refused(verify(r, await sign({ ...base, groups: [1] })));
    await refused(verify(r, await sign({ ...base, groups: Array.from({ length: 101 }, (_, i) => `g${i}`) })));
    await refused(verify(r, await sign({ ...base, email: 42 })));
    await refused(verify(r, await sign({ ...base, sub: '' })));
  });

  it('malformed input never throws anything but unauthenticated', async () => {
    const r = await ring();
    for (const t of ['', 'a', 'a.b', 'a.b.c', '..', 'x'.repeat(9000), 'e30.e30.e30', `${'a'.repeat(10)}.${'b'.repeat(10)}.${'c'.repeat(10)}`]) await refused(verify(r, t));
  });

  it('the key resolver is built once per key ring', async () => {
    const r = await ring();
    expect(accessTokenKeys(r)).toBe(accessTokenKeys(r));
  });
});

describe('verified-token cache (the signature is checked once per key ring)', () => {
  it('a token verified once is checked in full again on every later call', async () => {
    const r = await ring();
    const t = await mintAccessToken({ ...input, lifetimeSeconds: 60 }, r.active, { now: NOW, random: cryptoRandom });
    await expect(verify(r, t)).resolves.toMatchObject({ sub: input.subject });
    await refused(verify(r, t, NOW, { audience: 'billing' }));
    await refused(verify(r, t, NOW, { issuer: 'http://127.0.0.1:8788' }));
    await refused(verify(r, t, NOW - 10_000));
    await expect(verify(r, t, NOW + 30_000)).resolves.toMatchObject({ sub: input.subject });
    await refused(verify(r, t, NOW + 66_000));
    // A ring that never verified it does not take the other ring's word for it.
    await refused(verify(await ring(), t));
  });

  it('gives the same answer as an uncached verification, whatever was asked before (property)', async () => {
    const r = await ring();
    const sign = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: 'k-EdDSA', typ: 'at+jwt' }).sign(r.active.privateKey);
    const outcome = (p: Promise<unknown>) =>
      p.then(
        (claims) => JSON.stringify(claims),
        (e: unknown) => (isTollgateError(e) ? `refused:${String(e.details.tokenProblem)}` : `threw:${String(e)}`),
      );
    const token = fc.record({
      iat: fc.integer({ min: -120, max: 120 }),
      life: fc.integer({ min: -10, max: 600 }),
      nbf: fc.option(fc.integer({ min: -60, max: 60 }), { nil: undefined }),
      aud: fc.constantFrom(AUD, [AUD, 'billing'], 'billing', ['other']),
    });
    const call = fc.record({ at: fc.integer({ min: -200, max: 900 }), audience: fc.constantFrom(AUD, 'billing', 'nope'), issuer: fc.constantFrom(ISS, `${ISS}/`) });
    await fc.assert(
      fc.asyncProperty(token, fc.array(call, { minLength: 1, maxLength: 6 }), async (c, calls) => {
        const t = await sign({
          iss: ISS,
          aud: c.aud,
          sub: 's',
          client_id: 'c',
          iat: NOW_S + c.iat,
          exp: NOW_S + c.iat + c.life,
          jti: 'j',
          ...(c.nbf === undefined ? {} : { nbf: NOW_S + c.nbf }),
        });
        for (const { at, audience, issuer } of calls) {
          const now = NOW + at * 1000;
          const options = { issuer, audience, now };
          // createLocalJWKSet anew: a resolver no call has seen, so nothing cached.
          const fresh = await outcome(verifyAccessToken(t, createLocalJWKSet(r.jwks), options));
          expect(await outcome(verifyAccessToken(t, accessTokenKeys(r), options))).toBe(fresh);
        }
      }),
      { numRuns: 150 },
    );
  });
});
