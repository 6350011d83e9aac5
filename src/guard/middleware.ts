/**
 * `tollgateGuard`: the guard as a Hono middleware, for apps that verify the
 * assertion in-process instead of behind the sidecar.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { consoleLogger, cryptoRandom, type Logger, type Random } from '../platform/index.js';
import { isTollgateHeader } from './headers.js';
import { refusalResponse, requestIdOf, REQUEST_ID_HEADER } from './problem.js';
import { verifyAssertion, type AssertionClaims, type VerifyOptions } from './verify.js';

/** Hono variables set by {@link tollgateGuard}: `c.get('tollgate')` is the verified claims. */
export interface GuardVariables {
  tollgate: AssertionClaims;
}

/** Hono environment of {@link tollgateGuard}. */
export interface GuardEnv {
  Variables: GuardVariables;
}

/** Options of {@link tollgateGuard}. */
export interface GuardMiddlewareOptions extends VerifyOptions {
  /**
   * The raw request target (path plus query exactly as received). Default: the
   * path and query of `c.req.url` — but a Fetch `Request` normalises its URL
   * (`/a/../b` → `/b`, dot segments, some percent-encodings), so an assertion
   * for a non-normalised target is refused there. On Node with
   * `@hono/node-server`, pass `(c) => c.env.incoming.url`; better, run the
   * sidecar, which always reads the raw target.
   */
  rawTarget?: (c: Context) => string;
  /** Where refusals are logged (reason and request id, never the token). Default: JSON lines on the console. */
  logger?: Logger;
  /** Source of request ids when the request has none. */
  random?: Random;
}

function defaultRawTarget(c: Context): string {
  const url = new URL(c.req.url);
  return url.pathname + url.search;
}

/**
 * Hono middleware: verify the request's assertion (DESIGN §6); on success strip
 * every client-sent `Tollgate-*` header, set the identity headers from the
 * verified claims on the request the next handlers see, and `c.set('tollgate',
 * claims)`; on refusal answer the problem document (401, or 503 when the replay
 * cache is full) and log the reason.
 */
export function tollgateGuard(options: GuardMiddlewareOptions): MiddlewareHandler<GuardEnv> {
  const logger = options.logger ?? consoleLogger;
  const random = options.random ?? cryptoRandom;
  const rawTargetOf = options.rawTarget ?? defaultRawTarget;

  return async (c, next) => {
    const requestId = requestIdOf(c.req.raw.headers.get(REQUEST_ID_HEADER), random);
    const result = await verifyAssertion(rawTargetOf(c), c.req.method, c.req.raw.headers, options);
    if (!result.ok) {
      logger.warn('guard.refused', { reason: result.reason, request_id: requestId, method: c.req.method });
      const r = refusalResponse(result.reason, requestId);
      return c.body(r.body, r.status as 401 | 503, r.headers);
    }
    const headers = new Headers();
    c.req.raw.headers.forEach((value, name) => {
      if (!isTollgateHeader(name)) headers.append(name, value);
    });
    for (const [name, value] of Object.entries(result.identityHeaders)) {
      if (value !== undefined) headers.set(name, value);
    }
    c.req.raw = new Request(c.req.raw, { headers });
    c.set('tollgate', result.claims);
    await next();
  };
}
