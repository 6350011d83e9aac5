/**
 * The workerd side's "browser": requests to the gateway through SELF (Host from
 * the URL, redirects never followed), a tiny cookie jar keyed by host, and the
 * full sign-in: gateway → real IdP login form → callback → hand-off.
 */
import { SELF } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { loginWithPassword } from '../../../scripts/idp/login.js';
import { createCookieCodec, type CookieCodec } from '../../../src/session/index.js';
import { GATEWAY_ORIGIN } from './constants.js';

export const PASSWORDS: Record<string, string> = {
  alice: 'alice-password',
  bob: 'bob-password',
  admin: 'admin-password',
};

export const NAVIGATE = { 'sec-fetch-mode': 'navigate', accept: 'text/html' } as const;
export const API = { accept: 'application/json' } as const;

export function gw(url: string, init: RequestInit = {}): Promise<Response> {
  return SELF.fetch(url, { redirect: 'manual', ...init });
}

/** name → value of every Set-Cookie in a response (a cleared cookie maps to ''). */
export function setCookies(res: Response): Map<string, { value: string; raw: string }> {
  const out = new Map<string, { value: string; raw: string }>();
  for (const line of res.headers.getSetCookie()) {
    const first = line.split(';', 1)[0] ?? '';
    const eq = first.indexOf('=');
    out.set(first.slice(0, eq).trim(), { value: first.slice(eq + 1).trim(), raw: line });
  }
  return out;
}

export function cookieOf(res: Response, name: string): string {
  const c = setCookies(res).get(name);
  if (!c || c.value === '') throw new Error(`no ${name} cookie in response (${res.status})`);
  return c.value;
}

/** Fetch for the IdP (loopback, no redirects followed by the runtime). */
export const idpFetch = (input: string, init?: RequestInit) => fetch(input, init);

/** Start at /auth/login and go through the IdP's login form; returns the callback URL and the tx cookie. */
export async function authorize(user: string, returnTo?: string): Promise<{ callback: string; tx: string; authUrl: URL }> {
  const q = returnTo ? `?${new URLSearchParams({ return: returnTo })}` : '';
  const start = await gw(`${GATEWAY_ORIGIN}/auth/login${q}`, { headers: NAVIGATE });
  if (start.status !== 302) throw new Error(`login start: ${start.status} ${await start.text()}`);
  const tx = cookieOf(start, 'tg_auth');
  const authUrl = new URL(start.headers.get('location')!);
  const callback = await loginWithPassword(authUrl.href, user, PASSWORDS[user]!, idpFetch);
  return { callback, tx, authUrl };
}

/** Full sign-in on the gateway origin; returns the origin session cookie value. */
export async function signIn(user: string): Promise<string> {
  const { callback, tx } = await authorize(user);
  const res = await gw(callback, { headers: { ...NAVIGATE, cookie: `tg_auth=${tx}` } });
  if (res.status !== 302) throw new Error(`callback: ${res.status} ${await res.text()}`);
  return cookieOf(res, 'tg_session');
}

export interface HandoffSteps {
  /** The workload host's redirect to the origin's hand-off (sets tg_nonce). */
  start: Response;
  nonce: string;
  handoffUrl: string;
  /** The origin's redirect to the host's callback (carries the code). */
  issued: Response;
  callbackUrl: string;
}

/** Steps 1 and 3 of the hand-off: returns the one-time code URL without redeeming it. */
export async function beginHandoff(originSession: string, host: string, path = '/'): Promise<HandoffSteps> {
  const start = await gw(`http://${host}${path}`, { headers: NAVIGATE });
  if (start.status !== 302) throw new Error(`handoff start: ${start.status}`);
  const nonce = cookieOf(start, 'tg_nonce');
  const handoffUrl = start.headers.get('location')!;
  const issued = await gw(handoffUrl, { headers: { ...NAVIGATE, cookie: `tg_session=${originSession}` } });
  if (issued.status !== 302) throw new Error(`handoff: ${issued.status} ${await issued.text()}`);
  return { start, nonce, handoffUrl, issued, callbackUrl: issued.headers.get('location')! };
}

/** The whole hand-off; returns the host session cookie value. */
export async function hostSession(originSession: string, host: string, path = '/'): Promise<string> {
  const steps = await beginHandoff(originSession, host, path);
  const res = await gw(steps.callbackUrl, { headers: { ...NAVIGATE, cookie: `tg_nonce=${steps.nonce}` } });
  if (res.status !== 302) throw new Error(`handoff callback: ${res.status} ${await res.text()}`);
  return cookieOf(res, 'tg_session');
}

let codec: Promise<CookieCodec> | undefined;
/** The gateway's own cookie codec (same SESSION_SECRET), for forging test inputs. */
export function testCodec(): Promise<CookieCodec> {
  codec ??= createCookieCodec((env as unknown as { SESSION_SECRET: string }).SESSION_SECRET);
  return codec;
}

export function expectRequestId(res: Response): string {
  const id = res.headers.get('tollgate-request-id');
  if (!id || !/^[A-Za-z0-9_-]{16,}$/.test(id)) throw new Error(`missing request id on ${res.status}`);
  return id;
}
