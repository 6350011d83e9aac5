/**
 * Admin API test helpers (workerd side): tokens signed with the suite's key
 * ring, a request helper, admin/auditor roles bound to groups, and a digest of
 * every configuration table (to prove a refused write changed nothing).
 */
import { env } from 'cloudflare:workers';
import { SELF } from 'cloudflare:test';
import { cryptoRandom } from '../../../src/platform/index.js';
import { createD1Store } from '../../../src/store/index.js';
import { loadKeyRing, mintAccessToken, userSubject, type AccessTokenInput, type KeyRing } from '../../../src/token/index.js';
import { GATEWAY_ORIGIN } from './constants.js';

export const ADMIN = `${GATEWAY_ORIGIN}/admin/v1`;
export const IDP_ISSUER = (env as unknown as { OIDC_ISSUER: string }).OIDC_ISSUER;

let ring: Promise<KeyRing> | undefined;
export function keyRing(): Promise<KeyRing> {
  const e = env as unknown as { SIGNING_KEYS: string; SIGNING_KID: string };
  ring ??= loadKeyRing(e.SIGNING_KEYS, e.SIGNING_KID);
  return ring;
}

export interface TokenOptions extends Partial<AccessTokenInput> {
  /** ms since the epoch (default now). */
  now?: number;
}

/** A Tollgate access token for the admin API (defaults: the demo admin, groups ["tg-admins"], 1 h). */
export async function token(o: TokenOptions = {}): Promise<string> {
  const r = await keyRing();
  return mintAccessToken(
    {
      issuer: o.issuer ?? GATEWAY_ORIGIN,
      audience: o.audience ?? ADMIN,
      subject: o.subject ?? (await userSubject(IDP_ISSUER, 'admin')),
      clientId: o.clientId ?? 'tests',
      lifetimeSeconds: o.lifetimeSeconds ?? 3600,
      groups: o.groups ?? ['tg-admins'],
      ...(o.email !== undefined ? { email: o.email } : {}),
    },
    r.active,
    { now: o.now ?? Date.now(), random: cryptoRandom },
  );
}

export const adminToken = () => token();
export const auditorToken = () => token({ groups: ['tg-auditors'], subject: 'user:auditorhash0:carol' });
export const nobodyToken = () => token({ groups: ['nobody'], subject: 'user:nobodyhash00:dave' });

export interface CallOptions {
  token?: string | null;
  body?: unknown;
  /** Raw body (sent as is). */
  raw?: string;
  headers?: Record<string, string>;
  ifMatch?: string;
}

/** A request to the admin API through the gateway (SELF). */
export async function call(method: string, path: string, o: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...(o.headers ?? {}) };
  const t = o.token === undefined ? await adminToken() : o.token;
  if (t !== null) headers.authorization = `Bearer ${t}`;
  if (o.ifMatch !== undefined) headers['if-match'] = o.ifMatch;
  let body: string | undefined;
  if (o.raw !== undefined) body = o.raw;
  else if (o.body !== undefined) {
    body = JSON.stringify(o.body);
    headers['content-type'] ??= 'application/json';
  }
  return SELF.fetch(path.startsWith('http') ? path : `${ADMIN}${path}`, { method, headers, body, redirect: 'manual' });
}

/** Roles holding the admin permissions, bound to groups tg-admins / tg-auditors. */
export async function seedAdminRoles(): Promise<void> {
  const store = createD1Store({ DB: env.DB, CONFIG: env.CONFIG });
  const w = store.configWriter;
  await w.putRole({ id: 'tg-admin', description: 'admin API', permissions: ['admin'], grants: [] });
  await w.putRole({ id: 'tg-auditor', description: 'read-only admin API', permissions: ['auditor'], grants: [] });
  await w.putBinding({ id: 'tg-admins', subject: { kind: 'group', value: 'tg-admins' }, roleId: 'tg-admin' });
  await w.putBinding({ id: 'tg-auditors', subject: { kind: 'group', value: 'tg-auditors' }, roleId: 'tg-auditor' });
  await store.version.publish(await w.bumpVersion());
}

const TABLES = ['roles', 'grants', 'bindings', 'deny_rules', 'workloads', 'workload_hosts', 'endpoints', 'meta', 'config_writes'];

/** A digest of every configuration table (rows in a fixed order) and the count of change records. */
export async function configDigest(): Promise<string> {
  const parts: unknown[] = [];
  for (const t of TABLES) {
    const rows = (await env.DB.prepare(`SELECT * FROM ${t} ORDER BY 1`).all()).results;
    parts.push([t, rows]);
  }
  parts.push(['audit-changes', await env.DB.prepare(`SELECT count(*) AS n FROM audit WHERE kind IN ('change', 'revocation')`).first('n')]);
  parts.push(['kv', await env.CONFIG.get('policy-version')]);
  const bytes = new TextEncoder().encode(JSON.stringify(parts));
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Change records in the audit table, oldest first. */
export async function changeRecords(): Promise<{ at: number; request_id: string; kind: string; subject: string; data: Record<string, unknown> }[]> {
  const rows = (await env.DB.prepare(`SELECT at, request_id, kind, subject, data FROM audit WHERE kind IN ('change', 'revocation') ORDER BY id`).all()).results;
  return rows.map((r) => ({ ...(r as { at: number; request_id: string; kind: string; subject: string }), data: JSON.parse(String(r.data)) }));
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  request_id: string;
  reasons?: string[];
  errors?: { in: string; pointer: string; detail: string }[];
}

/** Assert an RFC 9457 problem with a stable type, the request id and no-store; returns the body. */
export async function expectProblem(res: Response, status: number, code: string): Promise<ProblemBody> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`expected ${status} ${code}, got ${res.status}: ${text}`);
  if (res.headers.get('content-type') !== 'application/problem+json') throw new Error(`not problem+json: ${res.headers.get('content-type')}`);
  if (res.headers.get('cache-control') !== 'no-store') throw new Error('problem without no-store');
  const body = JSON.parse(text) as ProblemBody;
  if (body.type !== `https://tollgate.dev/problems/${code}`) throw new Error(`expected type ${code}, got ${body.type}: ${text}`);
  if (body.status !== status || body.request_id !== res.headers.get('tollgate-request-id')) throw new Error(`bad problem body: ${text}`);
  return body;
}
