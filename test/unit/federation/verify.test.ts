/**
 * External token validation table (issue 5): a trusted issuer's JWT is
 * accepted only with the right iss, aud, alg, key, lifetime and a matching
 * rule; JWKS rotation and unknown kids refetch at most once per cooldown.
 */
import { createHmac, createPublicKey } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { TollgateError } from '../../../src/errors.js';
import { remoteJwks, publicKeys, type FetchLike } from '../../../src/federation/jwks.js';
import type { TrustedIssuer } from '../../../src/federation/model.js';
import { verifyExternalToken } from '../../../src/federation/verify.js';
import { fixedClock } from '../../../src/platform/index.js';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const NOW_S = NOW / 1000;
const ISS = 'https://token.actions.githubusercontent.com';
const JWKS_URL = 'https://token.actions.githubusercontent.com/.well-known/jwks';

const issuer: TrustedIssuer = {
  id: 'github',
  preset: 'github-actions',
  issuer: ISS,
  description: '',
  jwksUri: JWKS_URL,
  audiences: ['https://tollgate.example.com'],
  algorithms: ['RS256'],
  maxLifetimeSeconds: 3600,
  rules: [{ service: 'deployer', claims: { repository: 'octo-org/deploy', ref: 'refs/heads/main' } }],
  disabled: false,
  createdAt: 0,
  updatedAt: 0,
  version: 1,
};

interface Key {
  privateKey: CryptoKey;
  jwk: JWK;
}

async function rsaKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

const claims = (over: JWTPayload = {}): JWTPayload => ({
  iss: ISS,
  aud: 'https://tollgate.example.com',
  sub: 'repo:octo-org/deploy:ref:refs/heads/main',
  repository: 'octo-org/deploy',
  ref: 'refs/heads/main',
  iat: NOW_S - 60,
  nbf: NOW_S - 60,
  exp: NOW_S + 300,
  ...over,
});

async function sign(key: Key, payload: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: key.jwk.kid!, typ: 'JWT', ...header }).sign(key.privateKey);
}

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** A fake issuer: serves whatever `keys` holds, counts fetches. */
function server(initial: JWK[]) {
  const state = { keys: initial, fetches: 0, status: 200 };
  const fetch: FetchLike = async (url) => {
    expect(url).toBe(JWKS_URL);
    state.fetches++;
    return new Response(JSON.stringify({ keys: state.keys }), { status: state.status, headers: { 'content-type': 'application/json' } });
  };
  return { state, fetch };
}

function refusal(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'accepted',
    (e: unknown) => {
      expect(e).toBeInstanceOf(TollgateError);
      expect((e as TollgateError).code).toBe('unauthenticated');
      expect((e as TollgateError).message).not.toMatch(/eyJ/);
      return String((e as TollgateError).details.tokenProblem);
    },
  );
}

let k1: Key;
let k2: Key;
let attacker: Key;
beforeAll(async () => {
  [k1, k2, attacker] = await Promise.all([rsaKey('k1'), rsaKey('k2'), rsaKey('k1')]);
});

function setup(keys: JWK[] = [k1.jwk]) {
  const clock = fixedClock(NOW);
  const s = server(keys);
  const jwks = remoteJwks(JWKS_URL, { fetch: s.fetch, clock, urlPolicy: { allowInsecure: 'none' }, cooldownSeconds: 30 });
  const verify = (token: string, t: TrustedIssuer = issuer) => verifyExternalToken(token, t, jwks.resolver, clock.now());
  return { clock, s, jwks, verify };
}

describe('verifyExternalToken', () => {
  it('accepts a valid token and maps it to its service', async () => {
    const { verify } = setup();
    const id = await verify(await sign(k1, claims()));
    expect(id).toMatchObject({ service: 'deployer', issuerId: 'github', externalSubject: 'repo:octo-org/deploy:ref:refs/heads/main', exp: NOW_S + 300, iat: NOW_S - 60 });
  });

  it.each([
    ['wrong iss', () => sign(k1, claims({ iss: 'https://evil.example.com' })), 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['iss with a trailing slash', () => sign(k1, claims({ iss: `${ISS}/` })), 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['wrong aud', () => sign(k1, claims({ aud: 'https://other.example.com' })), 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['no aud', () => sign(k1, claims({ aud: undefined })), 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['expired', () => sign(k1, claims({ exp: NOW_S - 31, iat: NOW_S - 600, nbf: NOW_S - 600 })), 'expired'],
    ['no exp', () => sign(k1, claims({ exp: undefined })), 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['not yet valid', () => sign(k1, claims({ nbf: NOW_S + 120 })), 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['issued in the future', () => sign(k1, claims({ iat: NOW_S + 120, nbf: undefined, exp: NOW_S + 600 })), 'issued-in-future'],
    ['lifetime above the issuer maximum', () => sign(k1, claims({ iat: NOW_S, exp: NOW_S + 7200 })), 'lifetime'],
    ['no matching rule', () => sign(k1, claims({ repository: 'octo-org/other' })), 'no-mapping'],
    ['signed by another key with the same kid', () => sign(attacker, claims()), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'],
    ['a Tollgate assertion typ', () => sign(k1, claims(), { typ: 'tollgate-assertion+jwt' }), 'typ'],
    ['an embedded attacker jwk header', () => sign(attacker, claims(), { kid: 'zz', jwk: attacker.jwk }), 'ERR_JWKS_NO_MATCHING_KEY'],
    ['a jku header to an attacker JWKS', () => sign(attacker, claims(), { kid: 'zz', jku: 'https://evil.example.com/jwks' }), 'ERR_JWKS_NO_MATCHING_KEY'],
    ['malformed', async () => 'a.b', 'malformed'],
  ])('refuses %s', async (_name, make, why) => {
    const { verify } = setup();
    expect(await refusal(verify(await make()))).toBe(why);
  });

  it('refuses alg none', async () => {
    const { verify } = setup();
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`;
    expect(await refusal(verify(none))).toBe('malformed');
    const noneWithSig = `${b64({ alg: 'none', kid: 'k1' })}.${b64(claims())}.c2ln`;
    expect(await refusal(verify(noneWithSig))).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
  });

  it('refuses HS256 signed with the issuer’s public key (algorithm confusion)', async () => {
    const { verify, s } = setup();
    const header = { alg: 'HS256', kid: 'k1', typ: 'JWT' };
    const input = `${b64(header)}.${b64(claims())}`;
    for (const secret of [
      createPublicKey({ key: k1.jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }),
      JSON.stringify(k1.jwk),
      Buffer.from(k1.jwk.n!, 'base64url'),
    ]) {
      const sig = createHmac('sha256', secret).update(input).digest('base64url');
      expect(await refusal(verify(`${input}.${sig}`))).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
    }
    // Refused before any key was fetched.
    expect(s.state.fetches).toBe(0);
  });

  it('refuses an RS256 token when the issuer only allows ES256', async () => {
    const { verify } = setup();
    expect(await refusal(verify(await sign(k1, claims()), { ...issuer, algorithms: ['ES256'] }))).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
  });

  it('refuses every token of a disabled issuer', async () => {
    const { verify } = setup();
    expect(await refusal(verify(await sign(k1, claims()), { ...issuer, disabled: true }))).toBe('issuer-disabled');
  });
});

describe('JWKS cache', () => {
  it('fetches once, then serves from the cache', async () => {
    const { verify, s } = setup();
    for (let i = 0; i < 5; i++) await verify(await sign(k1, claims()));
    expect(s.state.fetches).toBe(1);
  });

  it('rotation: a new kid triggers one refetch and is accepted', async () => {
    const { verify, s, clock } = setup();
    await verify(await sign(k1, claims()));
    s.state.keys = [k1.jwk, k2.jwk];
    clock.advance(31_000);
    expect((await verify(await sign(k2, claims({ iat: NOW_S, exp: NOW_S + 300 })))).service).toBe('deployer');
    expect(s.state.fetches).toBe(2);
    // The old key is gone at the issuer: after the cache ages out, tokens signed with it are refused.
    s.state.keys = [k2.jwk];
    clock.advance(601_000);
    expect(await refusal(verify(await sign(k1, claims({ iat: clock.now() / 1000, nbf: clock.now() / 1000, exp: clock.now() / 1000 + 60 }))))).toBe('ERR_JWKS_NO_MATCHING_KEY');
  });

  it('unknown kid: a flood costs one fetch per cooldown, and a key published later is accepted within one cooldown', async () => {
    const { verify, s, clock } = setup();
    await verify(await sign(k1, claims()));
    expect(s.state.fetches).toBe(1);
    clock.advance(30_000);
    for (let i = 0; i < 50; i++) expect(await refusal(verify(await sign(attacker, claims(), { kid: `made-up-${i}` })))).toBe('ERR_JWKS_NO_MATCHING_KEY');
    expect(s.state.fetches).toBe(2);
    s.state.keys = [k1.jwk, k2.jwk];
    expect(await refusal(verify(await sign(k2, claims())))).toBe('ERR_JWKS_NO_MATCHING_KEY'); // still within the cooldown
    clock.advance(30_000);
    expect((await verify(await sign(k2, claims()))).service).toBe('deployer');
    expect(s.state.fetches).toBe(3);
  });

  it('a failing JWKS keeps the cached keys; with none cached, tokens are refused', async () => {
    const { verify, s, clock } = setup();
    await verify(await sign(k1, claims()));
    s.state.status = 500;
    clock.advance(700_000);
    const t = clock.now() / 1000;
    expect((await verify(await sign(k1, claims({ iat: t, nbf: t, exp: t + 60 })))).service).toBe('deployer');
    const cold = setup();
    cold.s.state.status = 503;
    expect(await refusal(cold.verify(await sign(k1, claims())))).toBe('ERR_JWKS_NO_MATCHING_KEY');
  });

  it('never follows a redirect and refuses a private JWKS URL at fetch time', async () => {
    const clock = fixedClock(NOW);
    let fetched = 0;
    const redirecting: FetchLike = async (_url, init) => {
      fetched++;
      expect(init?.redirect).toBe('manual');
      return new Response(null, { status: 302, headers: { location: 'http://169.254.169.254/' } });
    };
    const r = remoteJwks(JWKS_URL, { fetch: redirecting, clock, urlPolicy: { allowInsecure: 'none' } });
    expect(await refusal(verifyExternalToken(await sign(k1, claims()), issuer, r.resolver, NOW))).toBe('ERR_JWKS_NO_MATCHING_KEY');
    expect(fetched).toBe(1);
    const privateUrl = remoteJwks('https://10.0.0.5/jwks', { fetch: redirecting, clock, urlPolicy: { allowInsecure: 'none' } });
    expect(await refusal(verifyExternalToken(await sign(k1, claims()), { ...issuer, jwksUri: 'https://10.0.0.5/jwks' }, privateUrl.resolver, NOW))).toBe('ERR_JWKS_NO_MATCHING_KEY');
    expect(fetched).toBe(1);
  });

  it('keeps only public asymmetric signature keys', () => {
    const kept = publicKeys({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 's' }, { ...k1.jwk, d: 'private' }, { ...k2.jwk, use: 'enc' }, 'junk'] });
    expect(kept.keys).toHaveLength(1);
    expect(kept.keys[0]!.kid).toBe('k1');
    expect(kept.keys[0]).not.toHaveProperty('d');
  });
});
