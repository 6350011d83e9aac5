/**
 * Child processes of the demo stack: started directly (never through npx or a
 * shell, so the pid we hold is the process that owns the port), output kept in
 * a log file and a short in-memory tail for error messages, stopped by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface ChildOptions {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Append stdout and stderr here. */
  logFile: string;
  /** Also called with each output line (e.g. to echo it, or to parse JSON log lines). */
  onLine?: (line: string) => void;
}

export interface Child {
  readonly name: string;
  readonly pid: number;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  readonly running: boolean;
  /** The last output lines, for error messages. */
  tail(lines?: number): string;
  /**
   * SIGTERM, then SIGKILL after `graceMs`; resolves once the process and the
   * descendants it had when stop() was called (e.g. wrangler's workerd) have exited.
   */
  stop(graceMs?: number): Promise<void>;
}

const TAIL_LINES = 60;
const live = new Set<ChildProcess>();

// Last resort if our process dies without running its cleanup (an uncaught
// error): take the children down rather than leave a wrangler holding a port.
process.once('exit', () => {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

export function startChild(options: ChildOptions): Child {
  const log: WriteStream = createWriteStream(options.logFile, { flags: 'a', mode: 0o600 });
  const proc = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (proc.pid === undefined) throw new Error(`${options.name}: could not start ${options.command}`);
  live.add(proc);
  const tail: string[] = [];
  let running = true;
  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, signal) => {
      running = false;
      live.delete(proc);
      resolve(code ?? signal ?? 'unknown');
    });
    proc.once('error', (err) => {
      tail.push(String(err));
      running = false;
      live.delete(proc);
      resolve('spawn-error');
    });
  });
  for (const stream of [proc.stdout, proc.stderr]) {
    stream.pipe(log, { end: false });
    createInterface({ input: stream }).on('line', (line) => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      options.onLine?.(line);
    });
  }
  void exited.then(() => log.end());

  return {
    name: options.name,
    pid: proc.pid,
    exited,
    get running() {
      return running;
    },
    tail: (lines = 25) => tail.slice(-lines).join('\n'),
    async stop(graceMs = 8000) {
      if (!running) return;
      const descendants = descendantsOf(proc.pid!);
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      await waitForExit(descendants, graceMs);
    },
  };
}

// ---------------------------------------------------------------- descendants (Linux /proc)

interface ProcId {
  pid: number;
  /** Start time in clock ticks since boot: tells a reused pid apart. */
  start: string;
}

function stat(pid: number): { ppid: number; state: string; start: string } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] ?? '', ppid: Number(rest[1]), start: rest[19] ?? '' };
  } catch {
    return undefined;
  }
}

/** Every live descendant of `root` (empty where /proc is unavailable). */
function descendantsOf(root: number): ProcId[] {
  let pids: number[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  } catch {
    return [];
  }
  const children = new Map<number, ProcId[]>();
  for (const pid of pids) {
    const st = stat(pid);
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push({ pid, start: st.start });
    children.set(st.ppid, list);
  }
  const out: ProcId[] = [];
  const queue = [root];
  while (queue.length) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c.pid);
    }
  }
  return out;
}

/** A zombie counts as exited: it holds no port or file, only a pid its new parent will reap. */
function alive(p: ProcId): boolean {
  const st = stat(p.pid);
  return st !== undefined && st.start === p.start && st.state !== 'Z' && st.state !== 'X';
}

async function waitForExit(procs: ProcId[], graceMs: number): Promise<void> {
  const deadline = Date.now() + graceMs;
  let remaining = procs.filter(alive);
  while (remaining.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    remaining = remaining.filter(alive);
  }
  for (const p of remaining) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
