/**
 * Sign in at the demo IdP without a browser: follow the IdP's redirects from an
 * authorization URL, submit the password form, and hand back the redirect to the
 * client's callback (`…/auth/callback?code=…&state=…&iss=…`).
 *
 * Only the IdP origin is contacted (its cookies live in an {@link IdpCookieJar});
 * the first redirect that leaves it is returned, never followed. Node resolves
 * `localhost` but not `*.localhost` (DESIGN §9) — fine here, the IdP is on `localhost`.
 */

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export class LoginError extends Error {
  constructor(
    readonly code: 'invalid-credentials' | 'unexpected-response' | 'too-many-redirects' | 'non-loopback',
    message: string,
  ) {
    super(message);
    this.name = 'LoginError';
  }
}

/** Host-only cookies for one origin (enough for oidc-provider's `_interaction`, `_session` …). */
export class IdpCookieJar {
  private readonly cookies = new Map<string, { value: string; path: string; expires: number | null }>();

  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      let path = '/';
      let expires: number | null = null;
      for (const a of attrs) {
        const [k = '', v = ''] = a.split('=').map((s) => s.trim());
        if (k.toLowerCase() === 'path' && v.startsWith('/')) path = v;
        else if (k.toLowerCase() === 'max-age') expires = Date.now() + Number(v) * 1000;
        else if (k.toLowerCase() === 'expires' && expires === null) expires = Date.parse(v);
      }
      if (expires !== null && expires <= Date.now()) this.cookies.delete(name);
      else this.cookies.set(name, { value: pair.slice(eq + 1).trim(), path, expires });
    }
  }

  header(url: URL): string | undefined {
    const now = Date.now();
    const out: string[] = [];
    for (const [name, c] of this.cookies) {
      if (c.expires !== null && c.expires <= now) continue;
      const p = c.path.endsWith('/') ? c.path : `${c.path}/`;
      if (url.pathname === c.path || url.pathname.startsWith(p)) out.push(`${name}=${c.value}`);
    }
    return out.length ? out.join('; ') : undefined;
  }
}

const LOOPBACK_HOST = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost|[a-z0-9.-]+\.localhost)$/i;
const MAX_HOPS = 15;

/**
 * Sign `username` in with `password`, starting at the IdP's authorization URL.
 * Returns the absolute URL the IdP redirected to outside its own origin (the
 * client's redirect URI with `code`, `state` and `iss`, or with `error`).
 * Throws LoginError('invalid-credentials') when the IdP refuses the password.
 *
 * Pass the same `jar` again to reuse the IdP session (a second authorization then
 * needs no password; the password is not sent if no form is shown).
 */
export async function loginWithPassword(
  authorizationUrl: string,
  username: string,
  password: string,
  fetch: FetchLike = globalThis.fetch,
  jar: IdpCookieJar = new IdpCookieJar(),
): Promise<string> {
  const idpOrigin = new URL(authorizationUrl).origin;
  let url = new URL(authorizationUrl);
  let init: RequestInit = { method: 'GET' };
  let submitted = false;

  for (let hop = 0; hop < MAX_HOPS; hop++) {
    if (!LOOPBACK_HOST.test(url.hostname)) throw new LoginError('non-loopback', `refusing to contact ${url.hostname}`);
    const headers = new Headers(init.headers);
    headers.set('accept', 'text/html');
    const cookie = jar.header(url);
    if (cookie) headers.set('cookie', cookie);
    const res = await fetch(url.href, { ...init, headers, redirect: 'manual' });
    jar.store(res);
    const location = res.headers.get('location');

    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      const next = new URL(location, url);
      if (next.origin !== idpOrigin) return next.href;
      url = next;
      init = { method: 'GET' };
      continue;
    }

    const html = await res.text();
    const form = passwordForm(html);
    if (form && /Invalid username or password/.test(html) && submitted) {
      throw new LoginError('invalid-credentials', `the IdP refused the password for ${username}`);
    }
    if (form && !submitted) {
      const body = new URLSearchParams(form.hidden);
      body.set('username', username);
      body.set('password', password);
      url = new URL(form.action, url);
      init = { method: 'POST', body: body.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
      submitted = true;
      continue;
    }
    throw new LoginError('unexpected-response', `unexpected ${res.status} from ${url.origin}${url.pathname}: ${html.slice(0, 300)}`);
  }
  throw new LoginError('too-many-redirects', `more than ${MAX_HOPS} hops at the IdP`);
}

interface PasswordForm {
  action: string;
  hidden: [string, string][];
}

/** The IdP's login form: a POST form with a password field. */
function passwordForm(html: string): PasswordForm | undefined {
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const [, attrs = '', inner = ''] = m;
    if (!/type="password"/i.test(inner)) continue;
    const action = /\baction="([^"]*)"/i.exec(attrs)?.[1];
    if (!action) continue;
    const hidden: [string, string][] = [];
    for (const input of inner.matchAll(/<input\b[^>]*type="hidden"[^>]*>/gi)) {
      const name = /\bname="([^"]*)"/i.exec(input[0])?.[1];
      const value = /\bvalue="([^"]*)"/i.exec(input[0])?.[1] ?? '';
      if (name) hidden.push([unescapeHtml(name), unescapeHtml(value)]);
    }
    return { action: unescapeHtml(action), hidden };
  }
  return undefined;
}

function unescapeHtml(s: string): string {
  return s.replace(/&#(\d+);/g, (_, d: string) => String.fromCharCode(Number(d)))
    .replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}
