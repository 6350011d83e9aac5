/**
 * Child processes for the benchmarks (started directly, never through a shell
 * or npx, so the pid we hold is the process to stop) and the wrk driver.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';

export interface Proc {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Output lines so far (for error messages). */
  output: string[];
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

export function start(name: string, command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; logFile?: string } = {}): Proc {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`${name}: could not start`);
  live.add(child);
  const output: string[] = [];
  const log = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
  const onData = (d: Buffer) => {
    log?.write(d);
    for (const line of d.toString().split('\n')) if (line) output.push(line);
    if (output.length > 400) output.splice(0, output.length - 400);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    live.delete(child);
    log?.end();
    resolve();
  }));
  return {
    name,
    pid: child.pid,
    child,
    output,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Wait until the process prints a line matching `re`; resolves with the match. */
export function waitForLine(p: Proc, re: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      for (const l of p.output) {
        const m = l.match(re);
        if (m) {
          resolve(m);
          return true;
        }
      }
      return false;
    };
    if (check()) return;
    const onData = () => {
      if (check()) cleanup();
    };
    const onExit = () => {
      cleanup();
      reject(new Error(`${p.name} exited before it was ready:\n${p.output.slice(-20).join('\n')}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${p.name} not ready after ${timeoutMs} ms:\n${p.output.slice(-20).join('\n')}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      p.child.stdout!.off('data', onData);
      p.child.stderr!.off('data', onData);
      p.child.off('exit', onExit);
    };
    p.child.stdout!.on('data', onData);
    p.child.stderr!.on('data', onData);
    p.child.once('exit', onExit);
  });
}

/** A node child running a TypeScript file through tsx, ready when it prints "READY <port>". */
export async function startNodeReady(name: string, file: string, env: Record<string, string>, logFile?: string): Promise<Proc & { port: number }> {
  const p = start(name, process.execPath, ['--import', 'tsx', file], { env: { ...process.env, ...env }, ...(logFile ? { logFile } : {}) });
  const m = await waitForLine(p, /^READY (\d+)$/);
  return Object.assign(p, { port: Number(m[1]) });
}

export interface WrkSummary {
  requests: number;
  durationUs: number;
  rps: number;
  bytes: number;
  errConnect: number;
  errRead: number;
  errWrite: number;
  errStatus: number;
  errTimeout: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
  raw: string;
}

export function parseWrk(out: string): WrkSummary {
  const line = out.split('\n').find((l) => l.startsWith('WRK '));
  if (!line) throw new Error(`no WRK summary in wrk output:\n${out.slice(-2000)}`);
  const kv = Object.fromEntries(line.slice(4).split(' ').map((p) => p.split('=')).map(([k, v]) => [k!, Number(v)]));
  const n = (k: string) => kv[k] ?? NaN;
  return {
    requests: n('requests'),
    durationUs: n('duration_us'),
    rps: n('requests') / (n('duration_us') / 1e6),
    bytes: n('bytes'),
    errConnect: n('err_connect'),
    errRead: n('err_read'),
    errWrite: n('err_write'),
    errStatus: n('err_status'),
    errTimeout: n('err_timeout'),
    p50Us: n('p50_us'),
    p90Us: n('p90_us'),
    p99Us: n('p99_us'),
    maxUs: n('max_us'),
    raw: out,
  };
}

export function wrkErrors(s: WrkSummary): number {
  return s.errConnect + s.errRead + s.errWrite + s.errStatus + s.errTimeout;
}

/** Run wrk (Debian's /usr/bin/wrk) to completion; `script` must print the WRK summary line in done(). */
export function runWrk(args: string[], scriptArgs: string[] = []): Promise<WrkSummary> {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', [...args, ...(scriptArgs.length ? ['--', ...scriptArgs] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`wrk exited ${code}: ${out.slice(-1000)}`));
      else {
        try {
          resolve(parseWrk(out));
        } catch (e) {
          reject(e);
        }
      }
    });
  });
}

/**
 * CPU time (user + system, ms) used so far by `root` and all its descendants,
 * from /proc (Linux). Miniflare runs workerd as a child of its Node process;
 * the tree is what serving a Worker costs on this machine.
 */
export function treeCpuMs(root: number): number {
  const ticks = 1000 / 100; // CLK_TCK is 100 on Linux x86-64
  const stats = new Map<number, { ppid: number; cpu: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    stats.set(Number(entry), { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) * ticks });
  }
  const children = new Map<number, number[]>();
  for (const [pid, s] of stats) (children.get(s.ppid) ?? children.set(s.ppid, []).get(s.ppid)!).push(pid);
  let total = 0;
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop()!;
    total += stats.get(pid)?.cpu ?? 0;
    todo.push(...(children.get(pid) ?? []));
  }
  return total;
}
