/**
 * The closed set of reasons the guard refuses a request for. They go to the
 * guard's log, never to the client (the client learns only "assertion refused").
 */
export const GUARD_REFUSALS = [
  'missing-assertion',
  'multiple-assertions',
  'assertion-too-large',
  'malformed',
  'bad-typ',
  'alg-not-allowed',
  'crit-unsupported',
  'missing-kid',
  'unknown-kid',
  'key-alg-mismatch',
  'keys-unavailable',
  'bad-signature',
  'bad-issuer',
  'bad-audience',
  'missing-claim',
  'bad-claim',
  'expired',
  'issued-in-future',
  'not-yet-valid',
  'lifetime-too-long',
  'method-mismatch',
  'target-mismatch',
  'endpoint-mismatch',
  'replayed',
  'replay-cache-full',
] as const;

/** Why the guard refused an assertion (kebab-case, closed set; see {@link GUARD_REFUSALS}). */
export type GuardRefusal = (typeof GUARD_REFUSALS)[number];

/**
 * HTTP status for a refusal: 503 only when the guard itself cannot take more
 * (`replay-cache-full`: DESIGN §6 says answer 503 rather than evict an unexpired
 * jti); every other refusal, `keys-unavailable` included, is the 401 of DESIGN §6
 * (fail closed — healthz reports the missing keys as 503 to the orchestrator).
 */
export function refusalStatus(reason: GuardRefusal): 401 | 503 {
  return reason === 'replay-cache-full' ? 503 : 401;
}
