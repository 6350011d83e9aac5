/**
 * Shared helpers for the benchmarks: timing loops, the machine description,
 * result records and the one table format. No timing assertions anywhere:
 * benchmarks report, they never fail on a number.
 */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';

export interface Machine {
  nproc: number;
  cpu: string;
  memGiB: number;
  node: string;
  platform: string;
  /** 1-minute load average when the run started (other work skews results). */
  loadavg1: number;
}

export function machine(): Machine {
  let nproc = cpus().length;
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) || nproc;
  } catch {
    // nproc missing: os.cpus() is close enough
  }
  let load = 0;
  try {
    load = Number((execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ')[0]) ?? 0);
  } catch {
    // not Linux
  }
  return {
    nproc,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadavg1: load,
  };
}

/** One figure of the table. `ratio` = value / baseline (or as stated in `ratioMeaning`). */
export interface Row {
  bench: string;
  name: string;
  value: number;
  unit: string;
  /** What the value is compared with, measured in the same run. */
  baselineName?: string;
  baseline?: number;
  ratio?: number;
  /** e.g. "<= 1.3x", ">= 10x faster". */
  goal?: string;
  met?: boolean;
  note?: string;
}

export interface BenchResult {
  bench: string;
  title: string;
  startedAt: string;
  seconds: number;
  rows: Row[];
  /** Free-form facts worth keeping (counts, versions, agreement checks). */
  facts: Record<string, unknown>;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export interface TimingOptions {
  /** Untimed warm-up, ms. */
  warmupMs?: number;
  /** Length of one timed sample, ms. */
  sampleMs?: number;
  /** Number of samples; the median is reported. */
  samples?: number;
}

/**
 * Time a synchronous operation: calls `batch()` (which performs `perBatch`
 * operations) repeatedly; returns the median ns per operation over the samples.
 */
export function timeSync(batch: () => void, perBatch: number, o: TimingOptions = {}): { nsPerOp: number; samples: number[]; ops: number } {
  const warm = o.warmupMs ?? 300;
  const sampleMs = o.sampleMs ?? 400;
  const n = o.samples ?? 5;
  let end = performance.now() + warm;
  while (performance.now() < end) batch();
  const out: number[] = [];
  let ops = 0;
  for (let s = 0; s < n; s++) {
    let batches = 0;
    const t0 = performance.now();
    end = t0 + sampleMs;
    let t1 = t0;
    do {
      batch();
      batches++;
      t1 = performance.now();
    } while (t1 < end);
    ops += batches * perBatch;
    out.push(((t1 - t0) * 1e6) / (batches * perBatch));
  }
  return { nsPerOp: median(out), samples: out, ops };
}

/** Same for an async operation (awaited one batch at a time). */
export async function timeAsync(batch: () => Promise<void>, perBatch: number, o: TimingOptions = {}): Promise<{ nsPerOp: number; samples: number[]; ops: number }> {
  const warm = o.warmupMs ?? 300;
  const sampleMs = o.sampleMs ?? 400;
  const n = o.samples ?? 5;
  let end = performance.now() + warm;
  while (performance.now() < end) await batch();
  const out: number[] = [];
  let ops = 0;
  for (let s = 0; s < n; s++) {
    let batches = 0;
    const t0 = performance.now();
    end = t0 + sampleMs;
    let t1 = t0;
    do {
      await batch();
      batches++;
      t1 = performance.now();
    } while (t1 < end);
    ops += batches * perBatch;
    out.push(((t1 - t0) * 1e6) / (batches * perBatch));
  }
  return { nsPerOp: median(out), samples: out, ops };
}

/**
 * Interleave A/B timing: alternate samples of the two so that drift (another
 * process, CPU frequency) hits both alike. Returns the medians.
 */
export async function timePairAsync(
  a: () => Promise<void>,
  b: () => Promise<void>,
  perBatch: number,
  o: TimingOptions = {},
): Promise<{ a: number; b: number; aSamples: number[]; bSamples: number[] }> {
  const samples = o.samples ?? 7;
  const aS: number[] = [];
  const bS: number[] = [];
  const one = { ...o, samples: 1 };
  // warm both once
  await timeAsync(a, perBatch, { ...one, sampleMs: 50 });
  await timeAsync(b, perBatch, { ...one, sampleMs: 50 });
  for (let i = 0; i < samples; i++) {
    aS.push((await timeAsync(a, perBatch, { ...one, warmupMs: 20 })).nsPerOp);
    bS.push((await timeAsync(b, perBatch, { ...one, warmupMs: 20 })).nsPerOp);
  }
  return { a: median(aS), b: median(bS), aSamples: aS, bSamples: bS };
}

export function round(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Deterministic PRNG (mulberry32) so fixtures are the same on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

/** Emit a result as the last line of stdout (the runner parses it), and pretty-print it to stderr. */
export function emit(result: BenchResult): void {
  process.stderr.write(formatTable(result.rows) + '\n');
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
}

function fmt(v: number | undefined, unit = ''): string {
  if (v === undefined || Number.isNaN(v)) return '';
  const abs = Math.abs(v);
  const s = abs >= 1000 ? Math.round(v).toLocaleString('en-US') : abs >= 100 ? v.toFixed(0) : abs >= 10 ? v.toFixed(1) : v.toFixed(2);
  return unit ? `${s} ${unit}` : s;
}

export function formatTable(rows: Row[]): string {
  const head = ['bench', 'measurement', 'value', 'baseline (same run)', 'ratio', 'goal', 'met'];
  const body = rows.map((r) => [
    r.bench,
    r.name,
    fmt(r.value, r.unit),
    r.baselineName ? `${r.baselineName}${r.baseline !== undefined ? `: ${fmt(r.baseline, r.unit)}` : ''}` : '',
    r.ratio !== undefined ? `${fmt(r.ratio)}x` : '',
    r.goal ?? '',
    r.met === undefined ? '' : r.met ? 'yes' : 'NO',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}
