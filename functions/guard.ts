/**
 * The guard sidecar (DESIGN §6): `npm run guard`.
 * Reads and validates the environment once, starts the `node:http` sidecar,
 * logs `{"event":"guard.listening","port":N}`, stops gracefully on SIGTERM/SIGINT.
 *
 * Uses `node:http` directly rather than @hono/node-server: the sidecar must see
 * the raw request target (`req.url`) and forward it byte for byte, which a
 * Fetch `Request` (and so Hono's adapter) would normalise.
 */
import { configProblems, parseGuardEnv, startGuard } from '../src/guard/node/index.js';

async function main(): Promise<void> {
  let config;
  try {
    config = parseGuardEnv(process.env);
  } catch (err) {
    const problems = configProblems(err) ?? [err instanceof Error ? err.message : String(err)];
    console.error(JSON.stringify({ level: 'error', event: 'guard.config_invalid', problems }));
    process.exit(2);
  }

  const guard = await startGuard(config);
  console.log(JSON.stringify({ event: 'guard.listening', port: guard.port }));

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log(JSON.stringify({ event: 'guard.stopping', signal }));
    void guard.close(10_000).then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  const code = (err as { code?: unknown } | null)?.code;
  console.error(JSON.stringify({ level: 'error', event: 'guard.start_failed', error: typeof code === 'string' ? code : String((err as Error)?.message ?? err) }));
  process.exit(1);
});
