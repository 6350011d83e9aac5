/**
 * `npm run bench [-- names…]`: runs each benchmark in its own Node process
 * (so one's JIT state, heap and sockets never leak into another), prints one
 * table and writes bench/results/latest.json.
 *
 * names: decision guard bundle hot-path e2e peer (default: all but peer, which
 * takes minutes and apt-installed tools; `npm run bench -- peer` runs it).
 * Raw output of each run goes to bench/results/raw/ (git-ignored).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatTable, machine, type BenchResult } from './lib/measure.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(HERE, 'results');
const RAW = join(RESULTS, 'raw');
const ORDER = ['decision', 'guard', 'bundle', 'hot-path', 'e2e', 'peer'] as const;
const DEFAULT = ORDER.filter((b) => b !== 'peer');
const FILES: Record<string, string> = {
  decision: 'decision.ts',
  guard: 'guard.ts',
  bundle: 'bundle.ts',
  'hot-path': 'hot-path.ts',
  e2e: 'e2e.ts',
  peer: 'peer/peer.ts',
};

const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const a of asked) if (!(a in FILES)) throw new Error(`unknown benchmark "${a}" (one of ${ORDER.join(', ')})`);
const selected = asked.length ? ORDER.filter((b) => asked.includes(b)) : DEFAULT;
mkdirSync(RAW, { recursive: true });

function runOne(name: string): Promise<BenchResult | { bench: string; error: string }> {
  return new Promise((resolve) => {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const rawFile = join(RAW, `${stamp}-${name}.log`);
    // The hot path imports gateway modules that name `cloudflare:workers`: a Node stand-in is registered first.
    const pre = name === 'hot-path' ? ['--import', join(HERE, 'lib', 'register-cloudflare.mjs')] : [];
    const child = spawn(process.execPath, [...pre, '--import', 'tsx', join(HERE, FILES[name]!)], {
      cwd: join(HERE, '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BENCH_RAW_DIR: RAW },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => {
      err += d;
      process.stderr.write(d);
    });
    child.on('close', (code) => {
      writeFileSync(rawFile, `# ${name} exit ${code}\n## stdout\n${out}\n## stderr\n${err}\n`);
      const line = out.split('\n').reverse().find((l) => l.startsWith('BENCH_RESULT '));
      if (code === 0 && line) resolve(JSON.parse(line.slice('BENCH_RESULT '.length)) as BenchResult);
      else resolve({ bench: name, error: `exit ${code}; see ${rawFile}` });
    });
  });
}

const latestFile = join(RESULTS, 'latest.json');
const previous = existsSync(latestFile) ? (JSON.parse(readFileSync(latestFile, 'utf8')) as { results?: Record<string, BenchResult> }) : {};
const results: Record<string, BenchResult> = { ...(previous.results ?? {}) };
const failures: string[] = [];
for (const name of selected) {
  process.stderr.write(`\n=== bench ${name} ===\n`);
  const t0 = Date.now();
  const r = await runOne(name);
  process.stderr.write(`=== ${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s ===\n`);
  if ('error' in r) failures.push(`${name}: ${r.error}`);
  else results[name] = r;
}

const m = machine();
const summary = {
  updatedAt: new Date().toISOString(),
  machine: m,
  note: 'Each figure is a ratio against a baseline measured in the same run of that benchmark; benchmarks not run this time keep their last result (see each startedAt).',
  results: Object.fromEntries(ORDER.filter((b) => results[b]).map((b) => [b, results[b]!])),
};
writeFileSync(latestFile, `${JSON.stringify(summary, null, 2)}\n`);

const rows = ORDER.flatMap((b) => results[b]?.rows ?? []);
const headline = `Tollgate benchmarks — ${m.nproc} × ${m.cpu}, ${m.memGiB} GiB, Node ${m.node}, load ${m.loadavg1} at start`;
console.log(`\n${headline}`);
console.log(formatTable(rows));
// The same table as Markdown (README and docs/performance.md quote it), with when each benchmark ran.
const when = ORDER.filter((b) => results[b]).map((b) => `${b} ${results[b]!.startedAt.slice(0, 16).replace('T', ' ')} UTC (${results[b]!.seconds} s)`).join('; ');
writeFileSync(join(RESULTS, 'latest.md'), `${headline}\n\n${formatTable(rows)}\n\nRuns: ${when}.\n`);
for (const b of ORDER) if (results[b] && !selected.includes(b)) console.log(`(${b}: from an earlier run, ${results[b]!.startedAt})`);
console.log(`\nJSON: ${latestFile}`);
if (failures.length) {
  console.error(`\nfailed: ${failures.join('; ')}`);
  process.exitCode = 1;
}
