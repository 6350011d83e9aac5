/**
 * Prototype of a guard fix, for measurement only (bench/guard.ts, third target):
 * `--import` this before guard-proc.ts and Ed25519/ECDSA verifications that
 * jose asks WebCrypto for run synchronously through node:crypto with a
 * KeyObject cached per CryptoKey, instead of a libuv threadpool job per
 * request. Same guard, same checks, same keys — only the primitive's dispatch
 * differs. The real fix belongs in src/guard/node (see docs/performance.md).
 */
import { KeyObject, verify } from 'node:crypto';

const subtle = globalThis.crypto.subtle;
const original = subtle.verify.bind(subtle);
const keys = new WeakMap<CryptoKey, KeyObject>();

subtle.verify = (async (algorithm: AlgorithmIdentifier | EcdsaParams, key: CryptoKey, signature: BufferSource, data: BufferSource) => {
  const name = typeof algorithm === 'string' ? algorithm : algorithm.name;
  if (name !== 'Ed25519' && name !== 'ECDSA') return original(algorithm, key, signature, data);
  let k = keys.get(key);
  if (!k) {
    k = KeyObject.from(key);
    keys.set(key, k);
  }
  const view = (b: BufferSource) => (ArrayBuffer.isView(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : new Uint8Array(b));
  return name === 'Ed25519'
    ? verify(null, view(data), k, view(signature))
    : verify('sha256', view(data), { key: k, dsaEncoding: 'ieee-p1363' }, view(signature));
}) as typeof subtle.verify;
