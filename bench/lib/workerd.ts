/**
 * Workers run directly on Miniflare/workerd for the benchmarks (bench/e2e.ts,
 * bench/token-endpoint.ts, bench/workerd-ablation.ts, bench/workerd-headers.ts),
 * and wrk load against them with the CPU time of the serving process tree.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR } from './paths.js';
import { runWrk, startNodeReady, treeCpuMs, type Proc, type WrkSummary } from './proc.js';

let optionFiles = 0;

/**
 * Start `bench/lib/miniflare-run.ts` with these Miniflare options (written as
 * JSON into `dir`); resolves once it serves, with the port it serves on.
 */
export async function startWorkerd(name: string, options: Record<string, unknown>, dir: string, logFile?: string): Promise<Proc & { port: number }> {
  const file = join(dir, `mf-${name}-${optionFiles++}.json`);
  writeFileSync(file, JSON.stringify(options));
  return startNodeReady(name, join(BENCH_DIR, 'lib', 'miniflare-run.ts'), { MF_OPTIONS: file, ...(logFile ? { MF_LOG: logFile } : {}) });
}

export interface WrkTarget {
  url: string;
  /** wrk arguments for the request headers (`-H`, `Host: …`, …). */
  headers?: string[];
}

/** wrk arguments (without -d) for a target: `threads` × `conns`, the summary script, keep-alive. */
export function wrkArgs(target: WrkTarget, threads: number, conns: number): string[] {
  return [`-t${threads}`, `-c${conns}`, '--timeout', '5s', '--latency', '-s', join(BENCH_DIR, 'lib', 'report.lua'), ...(target.headers ?? []), target.url];
}

/**
 * One wrk run of `seconds`; with `cpuOf`, also the CPU time (user + system) of
 * that process and its descendants per request, in µs, read from /proc.
 */
export async function loadWithCpu(args: string[], seconds: number, cpuOf: number): Promise<{ summary: WrkSummary; cpuUs: number }>;
export async function loadWithCpu(args: string[], seconds: number, cpuOf?: number): Promise<{ summary: WrkSummary; cpuUs?: number }>;
export async function loadWithCpu(args: string[], seconds: number, cpuOf?: number): Promise<{ summary: WrkSummary; cpuUs?: number }> {
  const cpu0 = cpuOf === undefined ? 0 : treeCpuMs(cpuOf);
  const summary = await runWrk([`-d${seconds}s`, ...args]);
  if (cpuOf === undefined) return { summary };
  return { summary, cpuUs: ((treeCpuMs(cpuOf) - cpu0) * 1000) / summary.requests };
}

/** Wait until nothing listens on 127.0.0.1:port (a stopped wrangler's workerd may take a moment). */
export async function waitPortFree(port: number, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const busy = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(500) }).then(
      () => true,
      (e: Error & { cause?: { code?: string } }) => e.cause?.code !== 'ECONNREFUSED',
    );
    if (!busy) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${port} still in use`);
}
