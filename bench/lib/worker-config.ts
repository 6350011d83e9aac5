/**
 * Miniflare options equivalent to what `wrangler dev` gives a Worker, for the
 * gateway (wrangler.toml: D1, KV, the revocation Durable Object, the audit
 * queue; [vars] plus an env file) and the pass-through Worker.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';
import { WRANGLER_NODE_ARGS, wranglerEnv } from './wrangler.js';

/**
 * Bundle a Worker exactly as a deploy would (`wrangler deploy --dry-run --outdir`); resolves with the main
 * module's path. `minify: false` keeps names readable (profiles); the default follows wrangler.toml.
 * Asynchronous, so that bundles can be built while other parts of a bench start.
 */
export async function bundleWorker(config: string, outdir: string, options: { minify?: boolean } = {}): Promise<string> {
  const minify = options.minify === false ? ['--no-minify'] : [];
  await new Promise<void>((resolve, reject) =>
    execFile(process.execPath, [...WRANGLER_NODE_ARGS, 'deploy', '--dry-run', '--outdir', outdir, '--config', config, ...minify], { cwd: REPO_ROOT, env: wranglerEnv() }, (err, _out, stderr) =>
      err ? reject(new Error(`bundling ${config} failed: ${String(stderr).slice(-2000)}`)) : resolve(),
    ),
  );
  const main = readFileSync(config, 'utf8').match(/^main\s*=\s*"([^"]+)"/m)?.[1] ?? 'index.ts';
  return join(outdir, main.replace(/^.*\//, '').replace(/\.ts$/, '.js'));
}

/** `[vars]` of a wrangler.toml (string values only, as the gateway's are). */
export function tomlVars(config: string): Record<string, string> {
  const text = readFileSync(config, 'utf8');
  const section = text.split(/^\[vars\]\s*$/m)[1]?.split(/^\[/m)[0] ?? '';
  const out: Record<string, string> = {};
  for (const m of section.matchAll(/^([A-Z0-9_]+)\s*=\s*"([^"]*)"/gm)) out[m[1]!] = m[2]!;
  return out;
}

/** KEY='value' lines of an env file as scripts/stack.ts writes it. */
export function envFileVars(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of readFileSync(file, 'utf8').matchAll(/^([A-Z0-9_]+)='(.*)'$/gm)) out[m[1]!] = m[2]!;
  return out;
}

export function gatewayOptions(o: { scriptPath: string; port: number; vars: Record<string, string>; persist: string }): Record<string, unknown> {
  return {
    host: '127.0.0.1',
    port: o.port,
    modules: true,
    modulesRoot: join(o.scriptPath, '..'),
    scriptPath: o.scriptPath,
    compatibilityDate: '2026-04-20',
    bindings: o.vars,
    d1Databases: { DB: '00000000-0000-0000-0000-000000000000' },
    kvNamespaces: { CONFIG: '00000000000000000000000000000000' },
    durableObjects: {
      REVOCATIONS: { className: 'RevocationLedger', useSQLite: true },
      CLIENT_LIMITS: { className: 'ClientLimiter', useSQLite: true },
    },
    queueProducers: { AUDIT: { queueName: 'tollgate-audit' } },
    queueConsumers: { 'tollgate-audit': { maxBatchSize: 100, maxBatchTimeout: 1, maxRetries: 10, deadLetterQueue: 'tollgate-audit-dlq' } },
    // wrangler dev --persist-to X keeps its state in X/v3: the same D1, KV and Durable Object files.
    defaultPersistRoot: join(o.persist, 'v3'),
  };
}

export function passthroughOptions(o: { scriptPath: string; port: number; upstream: string }): Record<string, unknown> {
  return {
    host: '127.0.0.1',
    port: o.port,
    modules: true,
    modulesRoot: join(o.scriptPath, '..'),
    scriptPath: o.scriptPath,
    compatibilityDate: '2026-04-20',
    bindings: { UPSTREAM: o.upstream },
  };
}
