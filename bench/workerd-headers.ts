/**
 * What the form of forwarded headers costs inside workerd (not part of
 * `npm run bench`; run `node --import tsx bench/workerd-headers.ts`, ~2 min).
 * Tiny pass-through Workers that rewrite the request and response headers the
 * way src/proxy/headers.ts does — iterate, filter, add the forwarding headers
 * and an assertion-sized value — and differ only in what they hand to `fetch`
 * and `Response`: a `Headers` built from a list of pairs, the list itself, a
 * null-prototype record, or a copied `Headers` mutated in place. Each runs on
 * Miniflare/workerd against the same node:http app, wrk -t2 -c32, rounds
 * interleaved; CPU per request of the workerd process tree from /proc.
 * Measured 2026-11-28, 8 rounds (medians; single runs scatter by ±40 µs):
 * over a plain pass-through, `new Headers(list)` +34 µs, the list +39, a
 * record built directly +1, a record via Object.fromEntries +25.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, round } from './lib/measure.js';
import { BENCH_DIR } from './lib/paths.js';
import { startNodeReady } from './lib/proc.js';
import { passthroughOptions } from './lib/worker-config.js';
import { loadWithCpu, startWorkerd, wrkArgs } from './lib/workerd.js';

const ROUNDS = Number(process.env.ROUNDS ?? 4);
const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-headers-'));

/** A Worker whose request and response headers are built by `build` (a JS expression over `pairs`, an array of [name, value]). */
function worker(build: (pairs: string) => string): string {
  return `export default { async fetch(request, env) {
  const url = new URL(request.url);
  const up = []; for (const [n, v] of request.headers) { if (n === 'host' || n === 'connection') continue; up.push([n, v]); }
  up.push(['x-forwarded-host', url.host], ['x-forwarded-proto', 'http'], ['tollgate-assertion', 'x'.repeat(700)]);
  const upstream = await fetch(env.UPSTREAM + url.pathname + url.search, { method: request.method, headers: ${build('up')}, redirect: 'manual' });
  const down = []; for (const [n, v] of upstream.headers) { if (n === 'connection' || n === 'set-cookie') continue; down.push([n, v]); }
  down.push(['tollgate-request-id', 'abcdefghijklmnopqrstuv']);
  return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers: ${build('down')} });
} };`;
}

const VARIANTS: Record<string, string> = {
  'plain pass-through': `export default { async fetch(request, env) { const url = new URL(request.url);
  const headers = new Headers(request.headers); headers.delete('host');
  const upstream = await fetch(env.UPSTREAM + url.pathname + url.search, { method: request.method, headers, redirect: 'manual' });
  return new Response(upstream.body, upstream); } };`,
  'new Headers(list of pairs)': worker((p) => `new Headers(${p})`),
  'list of pairs': worker((p) => p),
  'null-prototype record': worker((p) => `Object.assign(Object.create(null), Object.fromEntries(${p}))`),
  'record, built directly': worker((p) => `(() => { const r = Object.create(null); for (const [n, v] of ${p}) r[n] = v; return r; })()`),
};

const app = await startNodeReady('app', join(BENCH_DIR, 'guard', 'app.ts'), {});
const cpu: Record<string, number[]> = {};
const rps: Record<string, number[]> = {};
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, source] of Object.entries(VARIANTS)) {
      const script = join(dir, `w${Object.keys(VARIANTS).indexOf(name)}.js`);
      writeFileSync(script, source);
      const w = await startWorkerd('worker', passthroughOptions({ scriptPath: script, port: 0, upstream: `http://127.0.0.1:${app.port}` }), dir);
      const args = wrkArgs({ url: `http://127.0.0.1:${w.port}/api/bench` }, 2, 32);
      await loadWithCpu(args, 1);
      const { summary: s, cpuUs } = await loadWithCpu(args, 3, w.pid);
      (cpu[name] ??= []).push(cpuUs);
      (rps[name] ??= []).push(s.rps);
      await w.stop();
    }
  }
  const base = median(cpu['plain pass-through']!);
  for (const name of Object.keys(VARIANTS)) {
    const c = median(cpu[name]!);
    console.log(`${name.padEnd(28)} CPU ${round(c, 0)} µs/request (+${round(c - base, 0)}), ${round(median(rps[name]!), 0)} req/s; runs ${cpu[name]!.map((x) => round(x, 0)).join(', ')}`);
  }
} finally {
  await app.stop();
  rmSync(dir, { recursive: true, force: true });
}
