/**
 * What an admin route module needs, in one import (docs/admin-api.md,
 * "Adding routes"): the auth middleware, OpenAPI response helpers, ETag /
 * If-Match, cursor pagination, JSON responses and the use-cases.
 */
import { z } from '@hono/zod-openapi';
import type { TypedResponse } from 'hono';
import { Problem } from './schemas.js';
import { etag } from './etag.js';
import type { AdminContext } from './context.js';

export { z, createRoute } from '@hono/zod-openapi';
export { requirePermission, adminAudience, ADMIN_BASE_PATH } from './auth.js';
export { adminRequest, now, perDeployment, rcOf, services, type AdminApi, type AdminContext, type AdminEnv } from './context.js';
export { checkIfMatch, etag, ifMatchVersions } from './etag.js';
export { validationError } from './errors.js';
export { DEFAULT_LIMIT, MAX_LIMIT, decodeCursor, encodeCursor, pageArgs, pageBody, pageQuery, pageSchema } from './pagination.js';
export { Id, IdParam, Problem } from './schemas.js';

/** Both ways to authenticate, for a route's `security` (OpenAPI). */
export const SECURITY: Record<string, string[]>[] = [{ bearer: [] }, { session: [] }];

const PROBLEM_TEXT: Record<number, string> = {
  400: 'Malformed input: `errors` names the failing fields',
  401: 'No valid credentials (`WWW-Authenticate: Bearer`)',
  403: 'Lacking the permission, or a cross-site request',
  404: 'No such resource',
  409: 'Conflict: the id is taken, or something still depends on the resource',
  412: 'If-Match does not match the current ETag: read again',
  413: 'The body is too large',
  415: 'The body is not application/json',
  422: 'The change would make the policy invalid: `errors` names the field',
  428: 'If-Match is required',
};

/** OpenAPI `responses` entries (problem+json) for the given statuses. */
export function problemResponses(...statuses: (keyof typeof PROBLEM_TEXT)[]) {
  const out: Record<number, { description: string; content: { 'application/problem+json': { schema: typeof Problem } } }> = {};
  for (const s of statuses) out[s] = { description: PROBLEM_TEXT[s]!, content: { 'application/problem+json': { schema: Problem } } };
  return out;
}

/** Problems every authenticated route can answer. */
export const COMMON_PROBLEMS = [400, 401, 403] as const;

/** An ETag response header for OpenAPI. */
export const ETAG_HEADER = { ETag: { schema: { type: 'string' as const }, description: 'Strong ETag "<version>"; send it back as If-Match' } };

/** The If-Match request header for OpenAPI (validated by `ifMatchVersions`, not by zod, so 428 stays 428). */
export const IF_MATCH_HEADER = z.object({
  'if-match': z.string().optional().openapi({ param: { name: 'if-match', in: 'header', required: true }, description: 'The ETag as read', example: '"12"' }),
});

export interface RespondOptions {
  status?: 200 | 201;
  /** Sets ETag to `"<version>"`. */
  version?: number;
  /** Location (path on the gateway origin) for 201. */
  location?: string;
}

/**
 * What handlers return. @hono/zod-openapi types handlers to return `c.json(…)`'s typed
 * responses; ours are built here (ETag, Location, no-store), so the type is widened on purpose.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AdminResponse = Response & TypedResponse<any, any, any>;

/** A JSON answer (`no-store`, optional ETag / Location). */
export function respond(_c: AdminContext, body: unknown, options: RespondOptions = {}): AdminResponse {
  const headers = new Headers({ 'content-type': 'application/json', 'cache-control': 'no-store' });
  if (options.version !== undefined) headers.set('etag', etag(options.version));
  if (options.location !== undefined) headers.set('location', options.location);
  return new Response(JSON.stringify(body), { status: options.status ?? 200, headers }) as AdminResponse;
}

/** 204 No Content. */
export function noContent(): AdminResponse {
  return new Response(null, { status: 204, headers: { 'cache-control': 'no-store' } }) as AdminResponse;
}
