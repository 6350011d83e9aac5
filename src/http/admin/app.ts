/**
 * The admin API at /admin/v1 on the gateway origin (docs/admin-api.md).
 *
 * Order for every request: cross-site guard (cookie requests) → body limit →
 * the route's `requirePermission` (401/403) → zod validation of path, query,
 * headers and body (400 with `errors`) → handler → use-case. Errors of any
 * kind go through src/http/problem.ts (problem+json, stable `type`).
 *
 * To add routes, write a module exporting `register…(api: AdminApi)` and add
 * it to ROUTE_MODULES below (docs/admin-api.md, "Adding routes").
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { TollgateError } from '../../errors.js';
import { PAGE_HEADERS } from '../pages.js';
import { ADMIN_BASE_PATH, crossSiteGuard } from './auth.js';
import type { AdminApi, AdminEnv } from './context.js';
import { renderDocs } from './docs.js';
import { adminError, validationHook } from './errors.js';
import { registerConfigResources } from './routes/config-resources.js';
import { registerAudit } from './routes/audit.js';
import { registerDecisions } from './routes/decisions.js';
import { registerPolicy } from './routes/policy.js';
import { registerSessions } from './routes/sessions.js';
import { registerServiceAccounts } from './routes/service-accounts.js';
import { registerTrustedIssuers } from './routes/trusted-issuers.js';

/** Largest accepted request body (a whole-policy import included). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Every route module of the admin API, in registration order. */
const ROUTE_MODULES: ((api: AdminApi) => void)[] = [registerConfigResources, registerSessions, registerAudit, registerDecisions, registerPolicy, registerServiceAccounts, registerTrustedIssuers];

const DOCS_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

export interface AdminApp {
  fetch(request: Request, env: AdminEnv['Bindings']): Response | Promise<Response>;
}

export function adminRoutes(): AdminApp {
  const api: AdminApi = new OpenAPIHono<AdminEnv>({ defaultHook: validationHook as never });
  api.onError(adminError);
  api.use('*', crossSiteGuard);
  api.use('*', bodyLimit({ maxSize: MAX_BODY_BYTES }));
  api.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: `A Tollgate access token (typ at+jwt) with aud "<origin>${ADMIN_BASE_PATH}"`,
  });
  api.openAPIRegistry.registerComponent('securitySchemes', 'session', {
    type: 'apiKey',
    in: 'cookie',
    name: 'tg_session',
    description: 'The gateway origin’s session cookie (browsers; cross-site requests are refused). Over https: __Host-tg_session.',
  });
  for (const register of ROUTE_MODULES) register(api);

  const root = new OpenAPIHono<AdminEnv>();
  root.onError(adminError);
  root.notFound((c) => adminError(new TollgateError('not-found', 'there is no such admin API endpoint'), c));
  root.route(ADMIN_BASE_PATH, api);

  let doc: Record<string, unknown> | undefined;
  const openapi = (origin: string) => {
    doc ??= root.getOpenAPI31Document({
      openapi: '3.1.0',
      info: {
        title: 'Tollgate admin API',
        version: 'v1',
        description:
          'Roles, bindings, deny rules, workloads and sessions of a Tollgate gateway. Authenticate with an admin access token (Authorization: Bearer) or an admin session. Reads need the auditor permission, changes need admin. Every change needs If-Match and is recorded in the audit log.',
      },
      servers: [{ url: origin }],
    }) as unknown as Record<string, unknown>;
    return doc;
  };

  // The API description is public: it holds no configuration, only the shape of the API.
  root.get(`${ADMIN_BASE_PATH}/openapi.json`, (c) => {
    c.env.rc.log.route = 'admin-openapi';
    return new Response(JSON.stringify(openapi(c.env.rc.deps.config.origin)), {
      headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' },
    });
  });
  root.get(`${ADMIN_BASE_PATH}/docs`, (c) => {
    c.env.rc.log.route = 'admin-docs';
    const headers = new Headers(PAGE_HEADERS);
    headers.set('content-security-policy', DOCS_CSP);
    headers.set('cache-control', 'public, max-age=300');
    return new Response(renderDocs(openapi(c.env.rc.deps.config.origin)), { headers });
  });
  root.all(`${ADMIN_BASE_PATH}/openapi.json`, () => {
    throw new TollgateError('method-not-allowed', 'this method is not allowed here', { details: { allow: 'GET, HEAD' } });
  });
  root.all(`${ADMIN_BASE_PATH}/docs`, () => {
    throw new TollgateError('method-not-allowed', 'this method is not allowed here', { details: { allow: 'GET, HEAD' } });
  });

  return {
    fetch: (request, env) => {
      env.rc.log.route ??= 'admin';
      return root.fetch(request, env);
    },
  };
}
