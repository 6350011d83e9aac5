/**
 * The admin app's Hono environment and per-request helpers. Route modules
 * import from here (and from `framework.ts`), never from the gateway's
 * internals directly.
 */
import type { Context } from 'hono';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { createConfigService, createSessionAdmin, type AdminRequest, type ConfigService, type Principal, type SessionAdmin } from '../../admin/index.js';
import { TollgateError } from '../../errors.js';
import { nowSeconds, type GatewayDeps, type HttpBindings, type RequestContext } from '../context.js';

export interface AdminVariables {
  /** Set by `requirePermission` before any handler runs. */
  principal: Principal;
}

export interface AdminEnv {
  Bindings: HttpBindings;
  Variables: AdminVariables;
}

/** The admin API app that route modules register on (paths relative to /admin/v1). */
export type AdminApi = OpenAPIHono<AdminEnv>;
export type AdminContext = Context<AdminEnv>;

export interface AdminServices {
  config: ConfigService;
  sessions: SessionAdmin;
}

/**
 * `build` run once per gateway deployment (its deps), the result kept for the
 * isolate's life: admin use-cases hold no per-request state.
 */
export function perDeployment<T>(build: (deps: GatewayDeps) => T): (c: AdminContext) => T {
  const cache = new WeakMap<GatewayDeps, T>();
  return (c) => {
    const deps = c.env.rc.deps;
    let value = cache.get(deps);
    if (value === undefined) {
      value = build(deps);
      cache.set(deps, value);
    }
    return value;
  };
}

/** The admin use-cases for this gateway (built once per isolate). */
export const services: (c: AdminContext) => AdminServices = perDeployment((deps) => ({
  config: createConfigService({
    store: deps.admin.store,
    versions: deps.admin.versions,
    logger: deps.logger,
    originAuthority: deps.config.originAuthority,
    assertionTtlSeconds: deps.config.assertionTtlSeconds,
  }),
  sessions: createSessionAdmin({ store: deps.admin.store, revocation: deps.admin.revocation }),
}));

export function rcOf(c: AdminContext): RequestContext {
  return c.env.rc;
}

/** Epoch seconds from the gateway's clock (frozen in tests). */
export function now(c: AdminContext): number {
  return nowSeconds(c.env.rc.deps);
}

/** Who acts, on which request, when: for use-cases and their audit records. */
export function adminRequest(c: AdminContext): AdminRequest {
  const p = c.get('principal');
  if (!p) throw new TollgateError('internal', 'admin route without requirePermission');
  return { actor: { subject: p.subject, via: p.via }, requestId: c.env.rc.requestId, now: now(c) };
}
