/**
 * Sign in through the real gateway from Node, as a browser would, and return
 * the session cookie for a workload host: host → hand-off → /auth/login → IdP
 * (scripts/idp/login.ts fills the password form) → /auth/callback → hand-off →
 * /.tollgate/callback on the host. Node cannot resolve *.localhost, so every
 * request dials 127.0.0.1 with the host in the Host header
 * (test/support/http.ts `loopbackFetch`).
 */
import { IdpCookieJar, loginWithPassword } from '../../scripts/idp/login.js';
import { loopbackFetch } from '../../test/support/http.js';

type Jar = Map<string, Map<string, string>>;

function store(jar: Jar, url: string, res: { headers: { getSetCookie(): string[] } }): void {
  const host = new URL(url).hostname;
  const cookies = jar.get(host) ?? new Map<string, string>();
  jar.set(host, cookies);
  for (const line of res.headers.getSetCookie()) {
    const [pair = ''] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (/max-age=0/i.test(line) || value === '') cookies.delete(name);
    else cookies.set(name, value);
  }
}

function header(jar: Jar, url: string): string | undefined {
  const c = jar.get(new URL(url).hostname);
  return c && c.size ? [...c].map(([k, v]) => `${k}=${v}`).join('; ') : undefined;
}

export interface SignInResult {
  /** `Cookie` header value for the workload host (the host session cookie only). */
  cookie: string;
  hops: string[];
}

/** A session for `username` on the workload at `hostUrl` (e.g. http://inventory.localhost:8897/). Reuses `jar` across hosts. */
export async function signIn(
  hostUrl: string,
  username: string,
  password: string,
  jar: Jar = new Map(),
  idpJar = new IdpCookieJar(),
  /** The IdP's origin (the demo IdP: http://localhost:<port>). */
  idpOrigin?: string,
): Promise<SignInResult & { jar: Jar }> {
  const hops: string[] = [];
  let url = hostUrl;
  for (let i = 0; i < 20; i++) {
    const u = new URL(url);
    let res;
    if (idpOrigin ? u.origin === new URL(idpOrigin).origin : u.hostname === 'localhost') {
      // The IdP: its own login helper drives the form and returns the redirect back to the gateway.
      url = await loginWithPassword(url, username, password, (input, init) => fetch(input, init), idpJar);
      hops.push(`IdP → ${new URL(url).pathname}`);
      continue;
    }
    const cookie = header(jar, url);
    res = await loopbackFetch(url, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate', ...(cookie ? { cookie } : {}) } });
    store(jar, url, res);
    await res.arrayBuffer();
    hops.push(`${res.status} ${u.host}${u.pathname}`);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      url = new URL(location, url).href;
      continue;
    }
    if (res.status === 200 && u.host === new URL(hostUrl).host) {
      const session = [...(jar.get(u.hostname) ?? [])].find(([k]) => k.endsWith('tg_session'));
      if (!session) throw new Error(`signed in but no session cookie on ${u.host}`);
      return { cookie: `${session[0]}=${session[1]}`, hops, jar };
    }
    throw new Error(`sign-in: unexpected ${res.status} at ${url} (hops: ${hops.join(' | ')})`);
  }
  throw new Error(`sign-in: too many hops (${hops.join(' | ')})`);
}
