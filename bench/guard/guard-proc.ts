/**
 * The guard under test: `startGuard` (src/guard/node) exactly as the sidecar
 * runs it, except that the keys come from a JWKS file (createStaticKeySource)
 * instead of the gateway's URL. JWKS_FILE, ISSUER, AUDIENCE, UPSTREAM_PORT;
 * SYNC_VERIFY=1 loads the prototype in sync-verify.ts first (measurement only).
 * Prints "READY <port>".
 */
import { readFileSync } from 'node:fs';
import { createStaticKeySource } from '../../src/guard/index.js';
import { startGuard } from '../../src/guard/node/index.js';

if (process.env.SYNC_VERIFY === '1') await import('./sync-verify.js');
const keySource = await createStaticKeySource(JSON.parse(readFileSync(process.env.JWKS_FILE!, 'utf8')) as { keys: unknown[] });
const guard = await startGuard({
  issuer: process.env.ISSUER!,
  audience: process.env.AUDIENCE!,
  upstream: `http://127.0.0.1:${process.env.UPSTREAM_PORT}`,
  host: '127.0.0.1',
  port: 0,
  keySource,
});
process.stdout.write(`READY ${guard.port}\n`);
process.on('SIGTERM', () => {
  void guard.close(1000).then(() => process.exit(0));
});
