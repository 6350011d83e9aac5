/** Loopback port checks and readiness polling for the demo stack. */
import net from 'node:net';
import type { Child } from './processes.js';

/** Rejects with a clear message when `port` is taken on `host`. */
export function assertPortFree(port: number, host: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE'
        ? new Error(`${what}: port ${port} on ${host} is already in use (is another Tollgate demo or test stack running? `
          + 'pick other ports with --port / --idp-port)')
        : err);
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** A port that was free a moment ago on `host`. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface WaitOptions {
  /** Milliseconds. */
  timeout: number;
  /** Fail early, with its output, if this process exits while we wait. */
  child?: Child;
  what: string;
}

/** Poll `url` until it answers 200. */
export async function waitForOk(url: string, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeout;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (options.child && !options.child.running) {
      throw new Error(`${options.what} exited (${await options.child.exited}) before it was ready:\n${options.child.tail()}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).cause ? String((err as Error & { cause: unknown }).cause) : String(err);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${options.what} not ready after ${options.timeout} ms (${url}: ${last})`
    + (options.child ? `\n${options.child.tail()}` : ''));
}
