/**
 * Sign in through Tollgate at URL (a workload host that Node cannot resolve,
 * e.g. http://chain.localhost:19400/app/) and print the host's session cookie
 * (`name=value`), like ../shared/peers/login.mjs prints the RP's cookies.
 * Every request dials 127.0.0.1 with the Host header; the peer IdP
 * (http://127.0.0.1:19300) signs its user in by itself.
 */
import { signIn } from '../lib/signin.js';

const url = process.argv[2];
if (!url) {
  console.error('usage: node --import tsx bench/peer/login.ts URL');
  process.exit(2);
}
try {
  const r = await signIn(url, process.env.IDP_USER ?? 'alice', process.env.IDP_PASSWORD ?? 'unused', new Map(), undefined, process.env.IDP_ISSUER ?? 'http://127.0.0.1:19300');
  console.log(r.cookie);
} catch (err) {
  console.error(`login: FAILED: ${(err as Error).message}`);
  process.exit(1);
}
