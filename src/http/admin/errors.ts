/**
 * Errors of the admin app: zod validation failures → 400 with the failing
 * fields; Hono's own HTTPExceptions (malformed JSON, wrong media type, body
 * too large) → the matching TollgateError; everything through the gateway's
 * one mapper (src/http/problem.ts), so every error is RFC 9457 problem+json
 * with a stable `type`.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { FieldError } from '../../admin/index.js';
import { TollgateError } from '../../errors.js';
import { errorResponse } from '../problem.js';
import type { AdminEnv } from './context.js';

const IN: Record<string, FieldError['in']> = { json: 'body', form: 'body', query: 'query', param: 'path', header: 'header', cookie: 'header' };

interface Issue {
  path: PropertyKey[];
  message: string;
  code?: string;
  keys?: string[];
}

function pointer(path: PropertyKey[]): string {
  return path.map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** The failing fields of a zod error, as RFC 9457 `errors` members (at most 50). */
export function fieldErrors(issues: readonly Issue[], target: string): FieldError[] {
  const where = IN[target] ?? 'body';
  const out: FieldError[] = [];
  for (const i of issues.slice(0, 50)) {
    if (i.code === 'unrecognized_keys' && Array.isArray(i.keys)) {
      for (const k of i.keys.slice(0, 10)) out.push({ in: where, pointer: pointer([...i.path, k]), detail: 'unknown field' });
    } else {
      out.push({ in: where, pointer: pointer(i.path), detail: i.message.slice(0, 300) });
    }
  }
  return out;
}

/** A 400 naming the failing fields. */
export function validationError(issues: readonly Issue[], target: string): TollgateError {
  const errors = fieldErrors(issues, target);
  const first = errors[0];
  const where = first ? `${first.in} ${first.pointer || '(whole)'}: ${first.detail}` : 'invalid input';
  return new TollgateError('bad-request', `the request is invalid (${where})`, { details: { errors } });
}

/** @hono/zod-openapi's default hook: every validation failure becomes our 400. */
export function validationHook(result: { success: boolean; error?: { issues: readonly Issue[] }; target?: string }): void {
  if (!result.success) throw validationError(result.error?.issues ?? [], result.target ?? 'json');
}

function fromHttpException(err: HTTPException): TollgateError {
  switch (err.status) {
    case 413:
      return new TollgateError('payload-too-large', 'the request body is too large');
    case 415:
      return new TollgateError('unsupported-media-type', 'send the body as application/json');
    default:
      return new TollgateError('bad-request', err.status === 400 ? 'the request body is not valid JSON' : 'the request is malformed');
  }
}

export function adminError(err: unknown, c: Context<AdminEnv>): Response {
  const rc = c.env.rc;
  const e = err instanceof HTTPException ? fromHttpException(err) : err;
  return errorResponse(e, { requestId: rc.requestId, browser: rc.browser, logger: rc.deps.logger });
}
