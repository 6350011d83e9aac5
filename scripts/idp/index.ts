/**
 * The demo and test identity provider: a real, certified OpenID Provider
 * (panva/oidc-provider 9) held in memory, with a login page of our own.
 *
 * - authorization code flow, PKCE (S256) required for every client;
 * - scopes `openid email profile groups`; the scope claims are also put in the
 *   ID token (`conformIdTokenClaims: false`) so a relying party may skip userinfo;
 * - RP-initiated logout with our own confirmation page ("Sign out") and
 *   signed-out page;
 * - `iss` in the authorization response (RFC 9207; oidc-provider 9's default);
 * - consent is granted automatically (all clients are first-party demo clients);
 * - no page links an external font or asset: browser tests block every
 *   non-loopback request.
 *
 * The issuer uses the host name `localhost`, the gateway `127.0.0.1`: cookies
 * ignore ports, and the two sets must never mix (DESIGN §2).
 */
import { createHash, generateKeyPair, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import Provider, { type ClientMetadata, type KoaContextWithOIDC } from 'oidc-provider';

export type { ClientMetadata } from 'oidc-provider';

export interface DemoUser {
  /** Login name; also the OIDC `sub`. */
  username: string;
  password: string;
  email: string;
  name: string;
  groups: string[];
}

/** The demo's people. Passwords are demo passwords, printed by `npm start`. */
export const DEMO_USERS: readonly Readonly<DemoUser>[] = Object.freeze([
  { username: 'alice', password: 'alice-password', email: 'alice@example.com', name: 'Alice Example', groups: ['engineering'] },
  { username: 'bob', password: 'bob-password', email: 'bob@example.com', name: 'Bob Example', groups: ['contractors'] },
  { username: 'admin', password: 'admin-password', email: 'admin@example.com', name: 'Ada Admin', groups: ['admins'] },
].map((u) => Object.freeze({ ...u, groups: Object.freeze(u.groups) as string[] })));

export interface IdpLogEvent {
  event: string;
  [key: string]: unknown;
}

export interface StartIdpOptions {
  /** 0 = a random free port. Default 0. */
  port?: number;
  /** Listen address; must be a loopback address. Default 127.0.0.1. */
  host?: string;
  /** Default `http://localhost:<port>`. */
  issuer?: string;
  clients: ClientMetadata[];
  /** Default DEMO_USERS. */
  users?: readonly DemoUser[];
  /** Receives one object per notable event (sign-in, refused password, errors). Default: errors to stderr. */
  log?: (event: IdpLogEvent) => void;
}

export interface RunningIdp {
  issuer: string;
  port: number;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

/** Start the IdP. Resolves once it listens; rejects with a clear message when the port is taken. */
export async function startIdp(options: StartIdpOptions): Promise<RunningIdp> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.test(host)) throw new Error(`idp: refusing to listen on non-loopback host ${host}`);
  const users = new Map((options.users ?? DEMO_USERS).map((u) => [u.username, u]));
  const log = options.log ?? defaultLog;

  let handler: http.RequestListener | undefined;
  const server = http.createServer((req, res) => {
    if (handler) return handler(req, res);
    res.writeHead(503, { 'content-type': 'text/plain' }).end('starting');
    return undefined;
  });
  const port = await listen(server, options.port ?? 0, host);
  const issuer = options.issuer ?? `http://localhost:${port}`;

  try {
    const provider = new Provider(issuer, configuration(options.clients, users, log, await signingJwks()));
    provider.proxy = false;
    for (const ev of ['server_error', 'authorization.error', 'grant.error', 'end_session.error', 'userinfo.error']) {
      provider.on(ev, (_ctx: unknown, err: { message?: string; error_description?: string } | undefined) =>
        log({ event: `idp.${ev}`, error: err?.message, description: err?.error_description }));
    }
    provider.use(interactions(provider, users, log));
    handler = provider.callback();
  } catch (err) {
    await closeServer(server);
    throw err;
  }

  return { issuer, port, close: () => closeServer(server) };
}

function defaultLog(e: IdpLogEvent): void {
  if (/error/.test(e.event)) process.stderr.write(`${JSON.stringify(e)}\n`);
}

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE'
        ? new Error(`idp: port ${port} on ${host} is already in use (another demo or test stack running?)`)
        : err);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
    return undefined;
  });
}

/** A fresh RS256 key per start: ID tokens only have to outlive one IdP process. */
async function signingJwks(): Promise<{ keys: Record<string, unknown>[] }> {
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' }] };
}

function configuration(
  clients: ClientMetadata[],
  users: Map<string, DemoUser>,
  log: (e: IdpLogEvent) => void,
  jwks: { keys: Record<string, unknown>[] },
): Record<string, unknown> {
  return {
    clients: clients.map((c) => ({
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...c,
    })),
    jwks,
    // Random per start: a restarted IdP forgets its sessions, which is what a demo wants.
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      groups: ['groups'],
    },
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      // Not used by Tollgate; off so the demo's surface stays small.
      introspection: { enabled: false },
      revocation: { enabled: false },
    },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: 600,
      Interaction: 600,
      Session: 8 * 3600,
      Grant: 8 * 3600,
    },
    async findAccount(_ctx: unknown, sub: string) {
      const u = users.get(sub);
      if (!u) return undefined;
      return {
        accountId: sub,
        async claims() {
          return {
            sub,
            email: u.email,
            email_verified: true,
            name: u.name,
            preferred_username: u.username,
            groups: [...u.groups],
          };
        },
      };
    },
    // Every client is a first-party demo client: grant what it asked for, never ask.
    async loadExistingGrant(ctx: KoaContextWithOIDC) {
      const scopes = [...ctx.oidc.requestParamScopes].join(' ');
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) {
        const existing = await ctx.oidc.provider.Grant.find(grantId);
        if (existing) {
          existing.addOIDCScope(scopes);
          await existing.save();
          return existing;
        }
      }
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope(scopes);
      await grant.save();
      return grant;
    },
    renderError(ctx: KoaContextWithOIDC, out: Record<string, unknown>) {
      log({ event: 'idp.render_error', error: out.error, description: out.error_description });
      page(ctx, 'Sign-in error', `<h1>Something went wrong</h1>
<p><strong>${esc(out.error)}</strong></p><p>${esc(out.error_description ?? '')}</p>`);
    },
  };
}

// ---------------------------------------------------------------- pages

const STYLE = `body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0}
main{max-width:22rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:6px;box-shadow:0 1px 3px #0003}
h1{font-size:1.3rem;margin-top:0}label{display:block;margin:.8rem 0 .2rem}
input{width:100%;box-sizing:border-box;padding:.4rem;font-size:1rem}
button{margin-top:1.2rem;padding:.5rem 1rem;font-size:1rem;cursor:pointer}
.error{color:#a00;background:#fee;padding:.5rem;border-radius:4px}.muted{color:#666;font-size:.85rem}`;

function page(ctx: KoaContextWithOIDC, title: string, body: string, status?: number): void {
  ctx.type = 'html';
  ctx.set('cache-control', 'no-store');
  // No form-action: Chromium applies it to the redirects after a form post, and
  // both forms here end in a redirect to the relying party.
  ctx.set('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
  ctx.set('referrer-policy', 'no-referrer');
  if (status) ctx.status = status;
  ctx.body = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Demo IdP</title><style>${STYLE}</style></head>
<body><main>${body}</main></body></html>`;
}

function loginPage(ctx: KoaContextWithOIDC, uid: string, username: string, error?: string): void {
  page(ctx, 'Sign in', `<h1>Sign in</h1>
<p class="muted">Demo identity provider for Tollgate</p>
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login" autocomplete="off">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" required value="${esc(username)}"${username ? '' : ' autofocus'}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${username ? ' autofocus' : ''}>
<button type="submit">Sign in</button>
</form>`, error ? 401 : 200);
}

async function logoutSource(ctx: KoaContextWithOIDC, form: string): Promise<void> {
  // `form` is oidc-provider's own <form id="op.logoutForm"> with its xsrf token.
  page(ctx, 'Sign out', `<h1>Sign out</h1>
<p>Sign out of the demo identity provider?</p>
${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>`);
}

async function postLogoutSuccessSource(ctx: KoaContextWithOIDC): Promise<void> {
  page(ctx, 'Signed out', '<h1>You are signed out</h1><p>You have been signed out of the demo identity provider.</p>');
}

// ---------------------------------------------------------------- interactions

const INTERACTION_PATH = /^\/interaction\/([\w-]+)(\/login)?$/;
const MAX_FORM_BYTES = 16 * 1024;

function interactions(provider: Provider, users: Map<string, DemoUser>, log: (e: IdpLogEvent) => void) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<unknown> => {
    const m = INTERACTION_PATH.exec(ctx.path);
    if (!m) return next();
    const isSubmit = Boolean(m[2]);
    if (isSubmit ? ctx.method !== 'POST' : ctx.method !== 'GET') {
      ctx.status = 405;
      ctx.body = 'method not allowed';
      return undefined;
    }
    // Throws SessionNotFound (rendered by renderError) for an unknown or expired interaction.
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const { prompt, params, uid } = details;
    if (isSubmit && uid !== m[1]) {
      ctx.status = 400;
      ctx.body = 'interaction mismatch';
      return undefined;
    }

    const finish = async (result: Record<string, unknown>) => {
      const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
      ctx.status = 303;
      ctx.redirect(returnTo);
    };

    if (prompt.name === 'login') {
      const hint = typeof params.login_hint === 'string' ? params.login_hint : '';
      if (!isSubmit) return loginPage(ctx, uid, users.has(hint) ? hint : '');
      const form = await readForm(ctx.req);
      const username = form.get('username') ?? '';
      const user = users.get(username);
      if (!user || !passwordMatches(form.get('password') ?? '', user.password)) {
        log({ event: 'idp.login_refused', username: username.slice(0, 64) });
        return loginPage(ctx, uid, username.slice(0, 64), 'Invalid username or password');
      }
      log({ event: 'idp.login', sub: user.username, client: params.client_id });
      return finish({ login: { accountId: user.username, amr: ['pwd'] } });
    }

    if (prompt.name === 'consent') {
      // Not normally reached: loadExistingGrant grants everything.
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session?.accountId, clientId: params.client_id });
      const d = prompt.details;
      if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
      if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
      if (d.missingResourceScopes) {
        for (const [indicator, scopes] of Object.entries(d.missingResourceScopes as Record<string, string[]>)) {
          grant.addResourceScope(indicator, scopes.join(' '));
        }
      }
      const grantId = await grant.save();
      return finish({ consent: details.grantId ? {} : { grantId } });
    }

    ctx.status = 400;
    ctx.body = 'unsupported prompt';
    return undefined;
  };
}

function passwordMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > MAX_FORM_BYTES) break;
  }
  return new URLSearchParams(body.length > MAX_FORM_BYTES ? '' : body);
}

function esc(v: unknown): string {
  return String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
