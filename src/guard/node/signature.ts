/**
 * How the Node sidecar checks an assertion's signature.
 *
 * WebCrypto's verify runs in Node as a libuv threadpool job. Under load that
 * is what we want: the second core verifies while the main thread parses and
 * forwards. A lone request, though, pays the round trip
 * to the pool on top of the verification (docs/performance.md: ~155 µs against
 * ~80 µs synchronously). `adaptive` verifies synchronously through node:crypto
 * (the same Ed25519/ECDSA primitive, no job) while no other request is in
 * flight, and through the threadpool otherwise.
 */
import { KeyObject, verify } from 'node:crypto';
import { base64url } from 'jose';
import type { VerificationKey } from '../key-source.js';
import { jwsSegments, webCryptoSignatureCheck, type SignatureCheck } from '../verify.js';

/** `sync`: always node:crypto on the main thread; `threadpool`: always WebCrypto; `adaptive`: sync when idle. */
export type SignatureDispatch = 'adaptive' | 'sync' | 'threadpool';

const keyObjects = new WeakMap<CryptoKey, KeyObject>();

function keyObjectOf(key: CryptoKey): KeyObject {
  let k = keyObjects.get(key);
  if (k === undefined) {
    k = KeyObject.from(key);
    keyObjects.set(key, k);
  }
  return k;
}

function verifies(key: VerificationKey, signingInput: Uint8Array, signature: Uint8Array): boolean {
  const k = keyObjectOf(key.key);
  return key.alg === 'EdDSA'
    ? verify(null, signingInput, k, signature)
    : verify('sha256', signingInput, { key: k, dsaEncoding: 'ieee-p1363' }, signature);
}

/**
 * A synchronous {@link SignatureCheck} through node:crypto, with one
 * `KeyObject` per imported key. Segments are decoded with jose's base64url, so
 * it accepts exactly what jose's `compactVerify` accepts (property test).
 */
export const syncSignatureCheck: SignatureCheck = (token, key) => {
  const jws = jwsSegments(token);
  if (jws === undefined) return undefined;
  try {
    // The signing input is ASCII: verifyAssertion has checked the base64url alphabet.
    if (!verifies(key, Buffer.from(jws.signingInput, 'latin1'), base64url.decode(jws.signature))) return undefined;
    return base64url.decode(jws.payload);
  } catch {
    return undefined;
  }
};

/**
 * The {@link SignatureCheck} for a dispatch mode; `isIdle` says whether the
 * request being verified is the only one in flight (read per request).
 */
export function signatureCheckFor(dispatch: SignatureDispatch, isIdle: () => boolean): SignatureCheck {
  switch (dispatch) {
    case 'sync':
      return syncSignatureCheck;
    case 'threadpool':
      return webCryptoSignatureCheck;
    case 'adaptive':
      return (token, key) => (isIdle() ? syncSignatureCheck(token, key) : webCryptoSignatureCheck(token, key));
  }
}
