/**
 * What a token is for (RFC 8707 `resource`, RFC 8693 `audience`):
 *
 * | target | `audience` | `resource` | token `aud` |
 * |---|---|---|---|
 * | the gateway (default) | the issuer (`TOLLGATE_ORIGIN`) | the origin (any path but /admin/v1) | the issuer: accepted on every workload host, decided per request |
 * | one workload | its id (`inventory`) | a URL on one of its hosts (`https://inventory.example.com/`) | the workload id: accepted on that workload's hosts only |
 * | the admin API | `<origin>/admin/v1` | `<origin>/admin/v1…` | `<origin>/admin/v1` (the principal needs an admin permission) |
 *
 * One target per request: several `resource` values, or a `resource` and an
 * `audience` that name different targets, are `invalid_target`.
 */
import type { Catalog, Workload } from '../catalog/index.js';
import { oauthError } from './errors.js';
import type { OAuthForm } from './form.js';

export type Target = { kind: 'gateway'; aud: string } | { kind: 'workload'; aud: string; workload: Workload } | { kind: 'admin'; aud: string };

export interface TargetContext {
  /** `TOLLGATE_ORIGIN` (no trailing slash). */
  origin: string;
  /** "http" or "https": workload URLs must use the gateway's scheme. */
  scheme: string;
  catalog: Catalog;
}

const ADMIN_PATH = '/admin/v1';

function invalid(message: string): never {
  throw oauthError('invalid_target', message);
}

function fromAudience(value: string, ctx: TargetContext): Target {
  if (value === ctx.origin || value === `${ctx.origin}/`) return { kind: 'gateway', aud: ctx.origin };
  if (value === `${ctx.origin}${ADMIN_PATH}`) return { kind: 'admin', aud: value };
  const w = ctx.catalog.byId(value);
  if (w) return { kind: 'workload', aud: w.id, workload: w };
  invalid('the audience is not a workload of this gateway');
}

function fromResource(value: string, ctx: TargetContext): Target {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    invalid('resource must be an absolute URI');
  }
  if (url.hash) invalid('resource must not have a fragment');
  if (url.origin === ctx.origin) {
    return url.pathname === ADMIN_PATH || url.pathname.startsWith(`${ADMIN_PATH}/`)
      ? { kind: 'admin', aud: `${ctx.origin}${ADMIN_PATH}` }
      : { kind: 'gateway', aud: ctx.origin };
  }
  const w = url.protocol === `${ctx.scheme}:` ? ctx.catalog.byHost(url.host.toLowerCase()) : undefined;
  if (!w) invalid('the resource is not served by this gateway');
  return { kind: 'workload', aud: w.id, workload: w };
}

/** The one target of a token request (default: the gateway). */
export function resolveTarget(form: OAuthForm, ctx: TargetContext): Target {
  if (form.resources.length > 1) invalid('ask for one resource per request');
  const resource = form.resources[0];
  const audience = form.get('audience');
  const a = audience !== undefined ? fromAudience(audience, ctx) : undefined;
  const r = resource !== undefined && resource !== '' ? fromResource(resource, ctx) : undefined;
  if (a && r && a.aud !== r.aud) invalid('resource and audience name different targets');
  return a ?? r ?? { kind: 'gateway', aud: ctx.origin };
}
