/**
 * The guard under test: `startGuard` (src/guard/node) exactly as the sidecar
 * runs it, except that the keys come from a JWKS file (createStaticKeySource)
 * instead of the gateway's URL. JWKS_FILE, ISSUER, AUDIENCE, UPSTREAM_PORT;
 * SIGNATURE_DISPATCH=adaptive|sync|threadpool (default: the shipped default);
 * NOOP_VERIFY=1 loads the ablation in noop-verify.ts first (measurement only;
 * it patches WebCrypto, so it needs SIGNATURE_DISPATCH=threadpool);
 * GUARD_PROFILE_OUT=<file> writes a CPU profile of the whole run there on SIGTERM.
 * Prints "READY <port>".
 */
import { readFileSync } from 'node:fs';
import { createStaticKeySource } from '../../src/guard/index.js';
import { startGuard, type SignatureDispatch } from '../../src/guard/node/index.js';

if (process.env.NOOP_VERIFY === '1') await import('./noop-verify.js');
const keySource = await createStaticKeySource(JSON.parse(readFileSync(process.env.JWKS_FILE!, 'utf8')) as { keys: unknown[] });
const guard = await startGuard({
  issuer: process.env.ISSUER!,
  audience: process.env.AUDIENCE!,
  upstream: `http://127.0.0.1:${process.env.UPSTREAM_PORT}`,
  host: '127.0.0.1',
  port: 0,
  keySource,
  ...(process.env.SIGNATURE_DISPATCH ? { signatureDispatch: process.env.SIGNATURE_DISPATCH as SignatureDispatch } : {}),
});
let stopProfile: (() => Promise<void>) | undefined;
if (process.env.GUARD_PROFILE_OUT) {
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  stopProfile = async () => writeFileSync(process.env.GUARD_PROFILE_OUT!, JSON.stringify((await session.post('Profiler.stop')).profile));
}
process.stdout.write(`READY ${guard.port}\n`);
process.on('SIGTERM', () => {
  void (stopProfile?.() ?? Promise.resolve()).then(() => guard.close(1000)).then(() => process.exit(0));
});
