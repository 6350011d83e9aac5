/** Running wrangler 4.86.0 from node_modules: its CLI process directly (stoppable by pid), metrics off. */
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';
import { start, type Proc } from './proc.js';

export const WRANGLER_CLI = join(REPO_ROOT, 'node_modules', 'wrangler', 'wrangler-dist', 'cli.js');
export const WRANGLER_NODE_ARGS = ['--no-warnings', '--experimental-vm-modules', WRANGLER_CLI];

export function wranglerEnv(): NodeJS.ProcessEnv {
  return { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: 'true', FORCE_COLOR: '0', NO_COLOR: '1' };
}

/** `wrangler dev` as its own CLI process (never npx), on 127.0.0.1:port. */
export function wranglerDev(name: string, args: string[], logFile?: string): Proc {
  return start(name, process.execPath, [...WRANGLER_NODE_ARGS, 'dev', '--ip', '127.0.0.1', '--show-interactive-dev-session=false', ...args], {
    cwd: REPO_ROOT,
    env: wranglerEnv(),
    ...(logFile ? { logFile } : {}),
  });
}
