/**
 * The guard sidecar for Node (`node:http`): `startGuard` and its configuration.
 * Runtime-agnostic pieces live in `src/guard/index.ts`.
 */
export { startGuard, HEALTHZ_PATH } from './server.js';
export type { GuardConfig, RunningGuard } from './server.js';
export { parseGuardEnv, configProblems, DEFAULT_GUARD_PORT } from './config.js';
export type { GuardEnvConfig } from './config.js';
export { parseUpstream, upstreamRequestHeaders, clientResponseHeaders, bodyFraming } from './upstream.js';
export type { UpstreamTarget } from './upstream.js';
export { syncSignatureCheck, signatureCheckFor } from './signature.js';
export type { SignatureDispatch } from './signature.js';
