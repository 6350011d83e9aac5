/**
 * The one place that turns errors into responses: RFC 9457 problem+json for API
 * clients, a small HTML page for browser navigations. Codes map to statuses
 * here and nowhere else. Anything that is not a TollgateError is a generic 500
 * (never a catch-all 400), logged by name only.
 */
import { isTollgateError, type ErrorCode } from '../errors.js';
import type { Logger } from '../platform/index.js';
import { PAGE_HEADERS, renderPage } from './pages.js';

export const PROBLEM_BASE = 'https://tollgate.dev/problems/';

const STATUS: Record<ErrorCode, number> = {
  'bad-request': 400,
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  conflict: 409,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  'policy-invalid': 422,
  'precondition-required': 428,
  'precondition-failed': 412,
  'rate-limited': 429,
  'upstream-unreachable': 502,
  'upstream-timeout': 504,
  'config-invalid': 500,
  internal: 500,
};

const TITLE: Record<ErrorCode, string> = {
  'bad-request': 'Bad request',
  unauthenticated: 'Sign-in required',
  forbidden: 'Access denied',
  'not-found': 'Not found',
  'method-not-allowed': 'Method not allowed',
  conflict: 'Conflict',
  'payload-too-large': 'Request too large',
  'unsupported-media-type': 'Unsupported media type',
  'policy-invalid': 'The change would make the policy invalid',
  'precondition-required': 'Precondition required',
  'precondition-failed': 'Precondition failed',
  'rate-limited': 'Too many requests',
  'upstream-unreachable': 'Service unreachable',
  'upstream-timeout': 'Service timed out',
  'config-invalid': 'Internal error',
  internal: 'Internal error',
};

export function statusOf(code: ErrorCode): number {
  return STATUS[code];
}

export interface ProblemContext {
  requestId: string;
  /** Browser navigation: answer with a page instead of problem+json. */
  browser: boolean;
  logger: Logger;
}

interface Problem {
  code: ErrorCode;
  status: number;
  detail: string;
  reasons: string[];
  extra: Record<string, unknown>;
  headers: Record<string, string>;
}

function cause(err: unknown): string[] {
  const names: string[] = [];
  for (let e = err, depth = 0; e instanceof Error && depth < 6; e = e.cause, depth++) names.push(e.name);
  return names;
}

/**
 * Detail keys that are part of the problem document (RFC 9457 extension members). Only these are
 * copied from `TollgateError.details`; everything else there stays server-side.
 *   errors: [{in, pointer, detail}] — the failing fields of a validation error.
 */
function problemExtras(details: Record<string, unknown>): Record<string, unknown> {
  return Array.isArray(details.errors) ? { errors: details.errors } : {};
}

function toProblem(err: unknown, ctx: ProblemContext): Problem {
  if (isTollgateError(err) && err.code !== 'internal' && err.code !== 'config-invalid') {
    const headers: Record<string, string> = {};
    if (err.code === 'unauthenticated') headers['www-authenticate'] = 'Bearer realm="tollgate"';
    if (err.code === 'method-not-allowed' && typeof err.details.allow === 'string') headers.allow = err.details.allow;
    if (err.code === 'rate-limited' && typeof err.details.retryAfter === 'number') {
      headers['retry-after'] = String(err.details.retryAfter);
    }
    const level = STATUS[err.code] >= 500 ? 'warn' : 'info';
    ctx.logger[level]('request-refused', {
      request_id: ctx.requestId,
      code: err.code,
      reasons: err.reasons,
      causes: cause(err.cause),
      ...(typeof err.details.oidcError === 'string' ? { oidc_error: err.details.oidcError } : {}),
    });
    return { code: err.code, status: STATUS[err.code], detail: err.message, reasons: err.reasons, extra: problemExtras(err.details), headers };
  }
  // Unexpected: no message to the client (it may carry internals), names only to the log.
  ctx.logger.error('internal-error', {
    request_id: ctx.requestId,
    code: isTollgateError(err) ? err.code : 'unexpected',
    ...(isTollgateError(err) ? { message: err.message } : {}),
    causes: cause(err),
  });
  return {
    code: 'internal',
    status: 500,
    detail: 'Something went wrong on our side. Quote the request id if you report it.',
    reasons: [],
    extra: {},
    headers: {},
  };
}

/** The response for an error. Every such response is `no-store` and carries the request id. */
export function errorResponse(err: unknown, ctx: ProblemContext, extraHeaders?: Headers): Response {
  const p = toProblem(err, ctx);
  const headers = new Headers(p.headers);
  headers.set('cache-control', 'no-store');
  headers.set('tollgate-request-id', ctx.requestId);
  if (extraHeaders) for (const [k, v] of extraHeaders) headers.append(k, v);
  if (ctx.browser) {
    for (const [k, v] of Object.entries(PAGE_HEADERS)) headers.set(k, v);
    const body = renderPage({
      title: TITLE[p.code],
      paragraphs: [p.detail],
      reasons: p.reasons,
      requestId: ctx.requestId,
    });
    return new Response(body, { status: p.status, headers });
  }
  headers.set('content-type', 'application/problem+json');
  const body: Record<string, unknown> = {
    type: `${PROBLEM_BASE}${p.code}`,
    title: TITLE[p.code],
    status: p.status,
    detail: p.detail,
    request_id: ctx.requestId,
    ...p.extra,
  };
  if (p.reasons.length > 0) body.reasons = p.reasons;
  return new Response(JSON.stringify(body), { status: p.status, headers });
}
