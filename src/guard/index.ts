/**
 * The guard (DESIGN §6): verifies the per-request assertion, refuses replays,
 * and yields the identity headers for the app. Runtime-agnostic: no Node APIs
 * here (the `node:http` sidecar lives in `./node/`). Every export is documented
 * where it is defined.
 */
export { verifyAssertion, joseSignatureCheck, webCryptoSignatureCheck, ASSERTION_TYP, MAX_ASSERTION_LIFETIME_SECONDS, DEFAULT_SKEW_SECONDS } from './verify.js';
export type { AssertionClaims, SignatureCheck, VerifyOptions, VerifyResult } from './verify.js';
export { GUARD_REFUSALS, refusalStatus } from './reasons.js';
export type { GuardRefusal } from './reasons.js';
export {
  readAssertionHeader,
  isTollgateHeader,
  ASSERTION_HEADER,
  IDENTITY_HEADER_NAMES,
  MAX_ASSERTION_BYTES,
} from './headers.js';
export type { HeaderSource, HeaderRecord, HeaderGetter, AssertionHeader } from './headers.js';
export { identityHeadersOf, isSafeHeaderValue } from './identity.js';
export type { IdentityHeaders } from './identity.js';
export { createReplayCache, DEFAULT_REPLAY_CACHE_MAX_ENTRIES } from './replay-cache.js';
export type { ReplayCache, ReplayCacheOptions, ReplayCheck } from './replay-cache.js';
export { createRemoteKeySource, createStaticKeySource, ALLOWED_ALGORITHMS } from './key-source.js';
export type {
  KeySource,
  RemoteKeySource,
  RemoteKeySourceOptions,
  KeyLookup,
  VerificationKey,
  AssertionAlgorithm,
  FetchLike,
} from './key-source.js';
export {
  refusalResponse,
  upstreamErrorResponse,
  internalErrorResponse,
  requestIdOf,
  PROBLEM_TYPES,
  REQUEST_ID_HEADER,
} from './problem.js';
export type { GuardResponse } from './problem.js';
export { tollgateGuard } from './middleware.js';
export type { GuardMiddlewareOptions, GuardVariables, GuardEnv } from './middleware.js';
