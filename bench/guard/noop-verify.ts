/**
 * Ablation, for measurement only (bench/guard.ts): `--import`ed before
 * guard-proc.ts, every Ed25519/ECDSA verification asked of WebCrypto
 * answers "valid" at once. Everything else the guard does — parsing, claim
 * checks, the replay cache, header rewriting, forwarding — is unchanged, so the
 * difference to the guard as shipped is what the signature check itself costs.
 * Only the threadpool dispatch goes through WebCrypto: run the guard with
 * SIGNATURE_DISPATCH=threadpool. Never load this anywhere else.
 */
const subtle = globalThis.crypto.subtle;
const original = subtle.verify.bind(subtle);

subtle.verify = (async (algorithm: AlgorithmIdentifier | EcdsaParams, key: CryptoKey, signature: BufferSource, data: BufferSource) => {
  const name = typeof algorithm === 'string' ? algorithm : algorithm.name;
  if (name !== 'Ed25519' && name !== 'ECDSA') return original(algorithm, key, signature, data);
  return true;
}) as typeof subtle.verify;
export {};
