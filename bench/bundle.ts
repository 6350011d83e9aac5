/**
 * Bench 6 — bundle and start-up. `wrangler deploy --dry-run --outdir` for the
 * gateway and for the pass-through Worker (the baseline: what any Worker
 * costs), raw and gzip (level 9, like an upload), with the largest inputs from
 * esbuild's metafile; plus start-up: time from spawning a fresh `wrangler dev`
 * to the first 200 (for the gateway: /.well-known/jwks.json, which builds the
 * gateway — config validation, key import — in the new isolate). Goal ≤ 350 KiB gzip.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { generateSigningJwk } from '../src/token/index.js';
import { emit, machine, median, round, type BenchResult, type Row } from './lib/measure.js';
import { BENCH_DIR, RAW_DIR, REPO_ROOT } from './lib/paths.js';
import { WRANGLER_NODE_ARGS, wranglerDev, wranglerEnv } from './lib/wrangler.js';
import { freePortNumber } from './lib/ports.js';
import { startNodeReady } from './lib/proc.js';

const started = Date.now();
const tmp = mkdtempSync(join(tmpdir(), 'tollgate-bench-bundle-'));
mkdirSync(RAW_DIR, { recursive: true });
const KiB = 1024;

interface Built {
  rawBytes: number;
  gzipBytes: number;
  files: string[];
  topInputs: { input: string; kib: number }[];
  wranglerSays: string;
}

function build(name: string, config: string, minify: boolean): Built {
  const out = join(tmp, `${name}${minify ? '-min' : ''}`);
  const meta = join(tmp, `${name}${minify ? '-min' : ''}.meta.json`);
  const log = execFileSync(process.execPath, [...WRANGLER_NODE_ARGS, 'deploy', '--dry-run', '--outdir', out, '--metafile', meta, '--config', config, ...(minify ? ['--minify'] : [])], {
    cwd: REPO_ROOT,
    env: wranglerEnv(),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const files = readdirSync(out).filter((f) => /\.(m?js|wasm)$/.test(f));
  let raw = 0;
  let gz = 0;
  for (const f of files) {
    const buf = readFileSync(join(out, f));
    raw += statSync(join(out, f)).size;
    gz += gzipSync(buf, { level: 9 }).length;
  }
  const m = JSON.parse(readFileSync(meta, 'utf8')) as { outputs: Record<string, { inputs?: Record<string, { bytesInOutput: number }> }> };
  const by = new Map<string, number>();
  for (const [file, o] of Object.entries(m.outputs)) {
    if (!file.endsWith('.js') || !o.inputs) continue;
    for (const [input, v] of Object.entries(o.inputs)) {
      let key: string;
      if (input.includes('node_modules/')) {
        const p = input.split('node_modules/').pop()!.split('/');
        key = p[0]!.startsWith('@') ? `${p[0]}/${p[1]}` : p[0]!;
      } else key = input.replace(/^(\.\.\/)+/, '').split('/').slice(0, 2).join('/');
      by.set(key, (by.get(key) ?? 0) + v.bytesInOutput);
    }
  }
  const topInputs = [...by].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([input, b]) => ({ input, kib: round(b / KiB, 1) }));
  return { rawBytes: raw, gzipBytes: gz, files, topInputs, wranglerSays: log.match(/Total Upload:.*$/m)?.[0] ?? '' };
}

/** Spawn `wrangler dev`, poll `path` until it answers 200; ms from spawn to that answer. */
async function timeToFirstResponse(name: string, args: (port: number) => string[], path: string): Promise<number> {
  const port = await freePortNumber();
  const inspector = await freePortNumber();
  const extra = args(port);
  const t0 = performance.now();
  const p = wranglerDev(name, ['--port', String(port), '--inspector-port', String(inspector), ...extra], join(RAW_DIR, `bundle-${name}.log`));
  try {
    for (;;) {
      if (p.child.exitCode !== null) throw new Error(`${name} exited:\n${p.output.slice(-20).join('\n')}`);
      if (performance.now() - t0 > 30_000) throw new Error(`${name}: no 200 after 30 s; see ${join(RAW_DIR, `bundle-${name}.log`)}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        if (res.status === 200) return performance.now() - t0;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await p.stop();
  }
}

try {
  const gatewayConfig = join(REPO_ROOT, 'wrangler.toml');
  const passConfig = join(BENCH_DIR, 'passthrough', 'wrangler.toml');
  const gw = build('gateway', gatewayConfig, false);
  const gwMin = build('gateway', gatewayConfig, true);
  const pass = build('passthrough', passConfig, false);
  process.stderr.write(`bundle: gateway ${(gw.rawBytes / KiB).toFixed(1)} KiB raw, ${(gw.gzipBytes / KiB).toFixed(1)} KiB gzip (minified: ${(gwMin.gzipBytes / KiB).toFixed(1)} KiB gzip); pass-through ${(pass.gzipBytes / KiB).toFixed(1)} KiB gzip\n`);
  process.stderr.write(`bundle: largest inputs: ${gw.topInputs.map((t) => `${t.input} ${t.kib} KiB`).join(', ')}\n`);

  // Start-up: the gateway needs its secrets (an env file like npm start writes), state in a temp dir.
  const jwk = await generateSigningJwk('EdDSA');
  const envFile = (port: number) => {
    const file = join(tmp, `gateway-${port}.env`);
    const vars: Record<string, string> = {
    TOLLGATE_ORIGIN: `http://127.0.0.1:${port}`,
    OIDC_ISSUER: 'http://localhost:9',
    OIDC_CLIENT_ID: 'bench',
    OIDC_CLIENT_SECRET: 'bench-secret',
    SESSION_SECRET: Buffer.alloc(32, 7).toString('base64url'),
    SIGNING_KEYS: JSON.stringify({ keys: [jwk] }),
    SIGNING_KID: String(jwk.kid),
    };
    writeFileSync(file, Object.entries(vars).map(([k, v]) => `${k}='${v}'`).join('\n') + '\n', { mode: 0o600 });
    return file;
  };
  const app = await startNodeReady('app', join(BENCH_DIR, 'guard', 'app.ts'), {});
  const gwStart: number[] = [];
  const passStart: number[] = [];
  for (let i = 0; i < 2; i++) {
    passStart.push(await timeToFirstResponse('passthrough', () => ['--config', passConfig, '--var', `UPSTREAM:http://127.0.0.1:${app.port}`], '/'));
    gwStart.push(await timeToFirstResponse('gateway', (port) => ['--config', gatewayConfig, '--persist-to', join(tmp, 'state'), '--env-file', envFile(port)], '/.well-known/jwks.json'));
  }
  await app.stop();
  process.stderr.write(`bundle: time to first 200 from a fresh wrangler dev: gateway ${gwStart.map((x) => x.toFixed(0)).join(', ')} ms; pass-through ${passStart.map((x) => x.toFixed(0)).join(', ')} ms\n`);

  const gwMs = median(gwStart);
  const passMs = median(passStart);
  const rows: Row[] = [
    {
      bench: 'bundle',
      name: 'gateway bundle, gzip (wrangler deploy --dry-run)',
      value: round(gw.gzipBytes / KiB, 1),
      unit: 'KiB',
      baselineName: 'pass-through Worker',
      baseline: round(pass.gzipBytes / KiB, 1),
      ratio: round(gw.gzipBytes / pass.gzipBytes, 1),
      goal: '≤ 350 KiB gzip',
      met: gw.gzipBytes <= 350 * KiB,
      note: `raw ${round(gw.rawBytes / KiB, 1)} KiB; minified ${round(gwMin.gzipBytes / KiB, 1)} KiB gzip; largest: ${gw.topInputs.slice(0, 3).map((t) => `${t.input} ${t.kib} KiB`).join(', ')}`,
    },
    {
      bench: 'bundle',
      name: 'gateway bundle, raw',
      value: round(gw.rawBytes / KiB, 1),
      unit: 'KiB',
      baselineName: 'pass-through Worker',
      baseline: round(pass.rawBytes / KiB, 1),
      ratio: round(gw.rawBytes / pass.rawBytes, 1),
    },
    {
      bench: 'bundle',
      name: 'start-up: fresh wrangler dev → first 200 (gateway: JWKS, builds the gateway)',
      value: round(gwMs, 0),
      unit: 'ms',
      baselineName: 'pass-through Worker',
      baseline: round(passMs, 0),
      ratio: round(gwMs / passMs, 2),
      note: 'includes wrangler’s own start (bundling, workerd launch); the difference is the gateway’s isolate start plus its first build',
    },
  ];
  const result: BenchResult = {
    bench: 'bundle',
    title: 'Bundle size and Worker start-up',
    startedAt: new Date(started).toISOString(),
    seconds: round((Date.now() - started) / 1000, 1),
    rows,
    facts: {
      machine: machine(),
      gateway: gw,
      gatewayMinified: { rawBytes: gwMin.rawBytes, gzipBytes: gwMin.gzipBytes },
      passthrough: { rawBytes: pass.rawBytes, gzipBytes: pass.gzipBytes },
      startupMs: { gateway: gwStart.map((x) => round(x, 0)), passthrough: passStart.map((x) => round(x, 0)) },
    },
  };
  emit(result);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
