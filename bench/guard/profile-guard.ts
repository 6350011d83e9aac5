/**
 * CPU profile of the guard under load (not part of `npm run bench`):
 * `node --import tsx bench/guard/profile-guard.ts [noop]` starts the app and
 * one guard (with `noop`, the ablation that skips the signature check, so the
 * profile shows everything else the guard does), drives it with wrk for 5 s
 * and writes the guard's .cpuprofile to bench/results/raw/.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cryptoRandom } from '../../src/platform/index.js';
import { generateSigningJwk, loadKeyRing, mintAssertion } from '../../src/token/index.js';
import { BENCH_DIR, RAW_DIR } from '../lib/paths.js';
import { runWrk, startNodeReady, wrkErrors, type Proc } from '../lib/proc.js';

const noop = process.argv.includes('noop');
const tmp = mkdtempSync(join(tmpdir(), 'tollgate-guard-profile-'));
const procs: Proc[] = [];
try {
  const ring = await loadKeyRing({ keys: [await generateSigningJwk('EdDSA')] });
  writeFileSync(join(tmp, 'jwks.json'), JSON.stringify(ring.jwks));
  const app = await startNodeReady('app', join(BENCH_DIR, 'guard', 'app.ts'), {});
  procs.push(app);
  const out = join(RAW_DIR, `guard-${noop ? 'noop' : 'eddsa'}-${Date.now()}.cpuprofile`);
  const guard = await startNodeReady('guard', join(BENCH_DIR, 'guard', 'guard-proc.ts'), {
    JWKS_FILE: join(tmp, 'jwks.json'), ISSUER: 'http://127.0.0.1:8787', AUDIENCE: 'bench', UPSTREAM_PORT: String(app.port),
    // The ablation patches WebCrypto, so it needs every signature on the threadpool.
    GUARD_PROFILE_OUT: out, ...(noop ? { NOOP_VERIFY: '1', SIGNATURE_DISPATCH: 'threadpool' } : {}),
  });
  procs.push(guard);
  const n = noop ? 120_000 : 60_000;
  const template = await mintAssertion({ issuer: 'http://127.0.0.1:8787', audience: 'bench', subject: 'user:abcdefghijkl:alice', requestId: 'r', method: 'GET', target: '/bench', sessionId: 's', roles: ['inventory-user'], email: 'alice@example.com', ttlSeconds: 60 }, ring.active, { now: Date.now(), random: cryptoRandom });
  const lines: string[] = [];
  if (noop) {
    const [h, p, s] = template.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    for (let i = 0; i < n; i++) lines.push(`${h}.${Buffer.from(JSON.stringify({ ...claims, jti: cryptoRandom.id(16) })).toString('base64url')}.${s}`);
  } else {
    for (let i = 0; i < n; i++) lines.push(await mintAssertion({ issuer: 'http://127.0.0.1:8787', audience: 'bench', subject: 'user:abcdefghijkl:alice', requestId: `r${i}`, method: 'GET', target: '/bench', sessionId: 's', roles: ['inventory-user'], email: 'alice@example.com', ttlSeconds: 60 }, ring.active, { now: Date.now(), random: cryptoRandom }));
  }
  writeFileSync(join(tmp, 'a.txt'), lines.join('\n') + '\n');
  const s = await runWrk(['-t1', '-c32', '-d5s', '--latency', '-s', join(BENCH_DIR, 'guard', 'assertions.lua'), `http://127.0.0.1:${guard.port}/bench`], [join(tmp, 'a.txt'), '1']);
  process.stderr.write(`guard${noop ? ' (no signature check)' : ''}: ${s.rps.toFixed(0)} req/s, errors ${wrkErrors(s)}; profile → ${out}\n`);
} finally {
  for (const p of procs) await p.stop();
  rmSync(tmp, { recursive: true, force: true });
}
