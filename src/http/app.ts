/**
 * The gateway's HTTP entry: request id, Host routing (DESIGN §2), the one
 * error mapper, one structured log line per request (by default not for requests that were
 * allowed and forwarded: the audit trail records those; `REQUEST_LOG=all` logs every one).
 *
 *   gateway origin  → /auth/*, /.well-known/jwks.json, else 404
 *   catalog host    → /.tollgate/* reserved, else the forward path
 *   unknown host    → 404
 *   malformed Host  → 400
 */
import { isAuthority } from '../catalog/index.js';
import { TollgateError } from '../errors.js';
import { isBrowserNavigation, type GatewayDeps, type RequestContext } from './context.js';
import { originRoutes } from './origin.js';
import { errorResponse } from './problem.js';
import { problem, workloadProxy, workloadRoutes } from './workload.js';

const MAX_URL_LENGTH = 16 * 1024;

/** The part of the Worker's ExecutionContext the gateway uses. */
export interface WaitUntilContext {
  waitUntil(promise: Promise<unknown>): void;
}

export interface GatewayApp {
  fetch(request: Request, ctx?: WaitUntilContext): Promise<Response>;
}

function withRequestId(response: Response, requestId: string): Response {
  try {
    response.headers.set('tollgate-request-id', requestId);
    return response;
  } catch {
    // Immutable headers (should not happen: every response here is built by us). Re-wrap, body streams through.
    const copy = new Response(response.body, response);
    copy.headers.set('tollgate-request-id', requestId);
    return copy;
  }
}

export function createApp(deps: GatewayDeps): GatewayApp {
  const origin = originRoutes();
  const workload = workloadRoutes();

  async function route(rc: RequestContext): Promise<Response> {
    if (rc.authority === deps.config.originAuthority) {
      rc.log.site = 'origin';
      return origin.fetch(rc.request, { rc });
    }
    const snapshot = await deps.snapshots.get();
    const w = snapshot.catalog.byHost(rc.authority);
    if (!w) {
      rc.log.site = 'unknown';
      throw new TollgateError('not-found', 'This host is not served by the gateway.');
    }
    rc.log.site = 'workload';
    const path = rc.url.pathname;
    // Hono routes on the percent-decoded path; anything that is or may decode to the reserved
    // prefix goes through the sub-app. Everything else is the forward path: call it directly
    // (no router, no Hono context), with the sub-app's error mapping and HEAD handling.
    if (path.startsWith('/.tollgate') || path.includes('%')) {
      return workload.fetch(rc.request, { rc, workload: w, snapshot });
    }
    let response: Response;
    try {
      response = await workloadProxy(rc, w, snapshot);
    } catch (err) {
      response = problem(rc, err);
    }
    // Hono answers HEAD by dispatching GET and dropping the body; keep that.
    return rc.request.method === 'HEAD' ? new Response(null, response) : response;
  }

  return {
    async fetch(request, ctx) {
      const started = deps.clock.now();
      const requestId = deps.random.id(16);
      const browser = isBrowserNavigation(request);
      let response: Response;
      const log: RequestContext['log'] = {};
      try {
        if (request.url.length > MAX_URL_LENGTH) throw new TollgateError('bad-request', 'The request URL is too long.');
        const url = new URL(request.url);
        const authority = (request.headers.get('host') ?? url.host).trim().toLowerCase();
        if (!isAuthority(authority)) throw new TollgateError('bad-request', 'The Host header is malformed.');
        const rc: RequestContext = { deps, request, url, requestId, authority, browser, log };
        if (ctx) rc.waitUntil = (p) => ctx.waitUntil(p);
        log.host = authority;
        response = await route(rc);
      } catch (err) {
        response = errorResponse(err, { requestId, browser, logger: deps.logger });
      }
      response = withRequestId(response, requestId);
      // An allowed, forwarded request is in the audit trail; by default only the others get a line.
      if (deps.config.requestLog === 'except-allowed' && log.decision === 'allow' && response.status < 500) return response;
      deps.logger.info('request', {
        request_id: requestId,
        method: request.method,
        status: response.status,
        ms: deps.clock.now() - started,
        ...log,
      });
      return response;
    },
  };
}
