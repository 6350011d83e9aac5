/**
 * The signature checks: node:crypto (synchronous, the Node sidecar while idle)
 * and WebCrypto without jose's JWS layer (the default) accept exactly what jose
 * accepts, for any change to a valid assertion, and the adaptive dispatch
 * verifies synchronously only while idle.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createStaticKeySource, joseSignatureCheck, webCryptoSignatureCheck, type KeySource, type VerificationKey } from '../../../src/guard/index.js';
import { signatureCheckFor, syncSignatureCheck } from '../../../src/guard/node/index.js';
import { jwksOf, makeKey, mint, type TestKey } from './helpers.js';

let ed: TestKey;
let ec: TestKey;
let keys: KeySource;
const imported: Record<'EdDSA' | 'ES256', VerificationKey> = {} as never;
const tokens: Record<'EdDSA' | 'ES256', string> = {} as never;

beforeAll(async () => {
  ed = await makeKey('EdDSA', 'ed-1');
  ec = await makeKey('ES256', 'ec-1');
  keys = await createStaticKeySource(jwksOf(ed, ec));
  for (const [alg, k] of [['EdDSA', ed], ['ES256', ec]] as const) {
    const found = await keys.lookup(k.kid);
    if (found.status !== 'found') throw new Error('key not imported');
    imported[alg] = found.key;
    tokens[alg] = await mint(k);
  }
});

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Every check on one token and key: the same payload bytes as jose's, or all refuse. */
async function agree(token: string, key: VerificationKey): Promise<Uint8Array | undefined> {
  const sync = syncSignatureCheck(token, key);
  expect(sync).not.toBeInstanceOf(Promise);
  const jose = await joseSignatureCheck(token, key);
  const webCrypto = await webCryptoSignatureCheck(token, key);
  const bytes = (x: Uint8Array | undefined) => (x === undefined ? undefined : Array.from(x));
  expect(bytes(sync as Uint8Array | undefined)).toEqual(bytes(jose));
  expect(bytes(webCrypto)).toEqual(bytes(jose));
  return jose;
}

describe('syncSignatureCheck and webCryptoSignatureCheck', () => {
  it.each(['EdDSA', 'ES256'] as const)('returns the payload of a valid %s assertion', async (alg) => {
    const payload = await agree(tokens[alg], imported[alg]);
    expect(JSON.parse(new TextDecoder().decode(payload))).toMatchObject({ sub: 'user:VS52XyOFL_cY:alice' });
  });

  it.each([
    ['the other algorithm’s key', (t: string) => t, true],
    ['a truncated signature', (t: string) => t.slice(0, -2), false],
    ['an empty signature', (t: string) => t.replace(/\.[^.]*$/, '.'), false],
    ['a signature one byte longer', (t: string) => `${t}AA`, false],
    ['four segments', (t: string) => `${t}.x`, false],
    ['two segments', (t: string) => t.slice(0, t.lastIndexOf('.')), false],
  ] as const)('refuses %s', async (_name, change, swapKey) => {
    for (const alg of ['EdDSA', 'ES256'] as const) {
      const key = swapKey ? imported[alg === 'EdDSA' ? 'ES256' : 'EdDSA'] : imported[alg];
      expect(await agree(change(tokens[alg]), { ...key, alg })).toBeUndefined();
    }
  });

  it('agrees with jose on any one-character change, insertion or deletion (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('EdDSA', 'ES256'),
        fc.nat(),
        fc.constantFrom(...ALPHABET.split('')),
        fc.constantFrom('replace', 'insert', 'delete'),
        async (alg, at, ch, op) => {
          const t = tokens[alg];
          const i = at % t.length;
          const changed = op === 'replace' ? t.slice(0, i) + ch + t.slice(i + 1) : op === 'insert' ? t.slice(0, i) + ch + t.slice(i) : t.slice(0, i) + t.slice(i + 1);
          await agree(changed, imported[alg]);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('signatureCheckFor', () => {
  it('adaptive: synchronous while idle, the threadpool (a promise) under load', () => {
    let idle = true;
    const check = signatureCheckFor('adaptive', () => idle);
    expect(check(tokens.EdDSA, imported.EdDSA)).toBeInstanceOf(Uint8Array);
    idle = false;
    expect(check(tokens.EdDSA, imported.EdDSA)).toBeInstanceOf(Promise);
  });

  it.each([
    ['sync', syncSignatureCheck],
    ['threadpool', webCryptoSignatureCheck],
  ] as const)('%s is fixed whatever the load', (mode, check) => {
    expect(signatureCheckFor(mode, () => false)).toBe(check);
  });
});
