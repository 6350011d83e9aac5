/**
 * `npm start`: the demo stack (scripts/stack.ts) until Ctrl-C.
 *
 *   npm start [-- --port 8787] [--idp-port 9400] [--dir .tollgate] [--config wrangler.toml] [--verbose]
 *
 * Prints what runs where and ends with the line `Tollgate demo ready`; the same
 * facts are in `.tollgate/stack.json`. Ctrl-C or SIGTERM stops every process it
 * started, by pid, and waits for them.
 */
import { parseArgs } from 'node:util';
import { startStack, type Stack } from './stack.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'idp-port': { type: 'string' },
    dir: { type: 'string' },
    config: { type: 'string' },
    verbose: { type: 'boolean', short: 'v', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write('usage: npm start -- [--port 8787] [--idp-port 9400] [--dir .tollgate] [--config wrangler.toml] [--verbose]\n');
  process.exit(0);
}

const port = (v: string | undefined, name: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    process.stderr.write(`--${name} must be a port number\n`);
    process.exit(2);
  }
  return n;
};

let stack: Stack | undefined;
let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`\n${signal}: stopping the demo stack…\n`);
  await stack?.close();
  process.stdout.write('stopped\n');
  process.exit(0);
}
// A terminal's Ctrl-C also reaches the children (same process group); we still
// stop each by pid and wait, so nothing outlives `npm start`.
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGHUP', () => void stop('SIGHUP'));

process.stdout.write('Starting the Tollgate demo stack (IdP, gateway under wrangler dev, 2 guards, 2 apps)…\n');
try {
  stack = await startStack({
    gatewayPort: port(values.port, 'port'),
    idpPort: port(values['idp-port'], 'idp-port'),
    dir: values.dir,
    wranglerConfig: values.config,
    onOutput: values.verbose ? (name, line) => process.stdout.write(`[${name}] ${line}\n`) : undefined,
  });
} catch (err) {
  process.stderr.write(`\nnpm start failed: ${(err as Error).message}\n`);
  process.exit(1);
}
if (stopping) {
  await stack.close();
  process.exit(0);
}

const s = stack;
const lines = [
  '',
  `Gateway     ${s.origin}   (wrangler dev, pid ${s.gateway.pid}; JWKS ${s.gateway.jwks})`,
  `IdP         ${s.idp.issuer}   (oidc-provider, client "${s.idp.clientId}")`,
  '',
  'Workloads (open these in a browser):',
  ...s.workloads.map((w) => `  ${w.title.padEnd(10)} ${w.url.padEnd(34)} guard 127.0.0.1:${w.guard.port} (pid ${w.guard.pid}) → app unix:${w.app.socket}`),
  '',
  'Demo users (IdP login):',
  ...s.users.map((u) => `  ${u.username.padEnd(6)} password ${u.password.padEnd(15)} groups ${u.groups.join(',')}`),
  '  alice → inventory; bob → inventory (denied billing); admin → inventory + billing + admin API',
  '',
  'Admin API (docs/admin-api.md; human docs at ' + `${s.origin}/admin/v1/docs):`,
  // Tokens and secrets stay in their (0600) files, never on the terminal or in a captured log.
  `  demo admin token (8 h, user "admin") in ${s.adminToken.file}:`,
  `  curl -H "Authorization: Bearer $(cat ${s.adminToken.file})" ${s.origin}/admin/v1/roles`,
  '',
  'Demo service account (docs/services.md; may use inventory), credentials in ' + `${s.demoService.file}:`,
  `  client_id ${s.demoService.clientId}   client_secret: jq -r .client_secret ${s.demoService.file}`,
  `  token endpoint ${s.demoService.tokenEndpoint}  (client_credentials, token exchange)`,
  '',
  `State: ${s.dir}   logs: ${s.logs}   stack.json: ${s.dir}/stack.json`,
  `Started in ${(s.readyMs / 1000).toFixed(1)} s. Ctrl-C stops everything.`,
  'Tollgate demo ready',
];
process.stdout.write(`${lines.join('\n')}\n`);
