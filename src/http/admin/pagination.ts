/**
 * Cursor pagination. Lists are ordered by id; `limit` is 1..200 (default 50);
 * the response carries `next_cursor` (null on the last page). Cursors are
 * opaque (base64url JSON naming the list and the last id): a client passes
 * them back unchanged. A cursor for another list, or one that does not
 * decode, is a 400 naming the `cursor` parameter.
 */
import { z } from '@hono/zod-openapi';
import { TollgateError } from '../../errors.js';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 200;

export const limitParam = z
  .string()
  .regex(/^[1-9]\d{0,2}$/, { error: `limit must be a whole number from 1 to ${MAX_LIMIT}` })
  .refine((v) => Number(v) <= MAX_LIMIT, { error: `limit must be a whole number from 1 to ${MAX_LIMIT}` })
  .optional()
  .openapi({ param: { name: 'limit', in: 'query' }, description: `Page size, 1..${MAX_LIMIT} (default ${DEFAULT_LIMIT}).`, example: '50' });

export const cursorParam = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,1024}$/, { error: 'cursor must be a next_cursor value from an earlier page' })
  .optional()
  .openapi({ param: { name: 'cursor', in: 'query' }, description: 'The `next_cursor` of the previous page.' });

/** Query schema fields every list accepts. Spread into a route's query object. */
export const pageQuery = { limit: limitParam, cursor: cursorParam };

function b64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function unb64(text: string): string {
  const s = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(s, (ch) => ch.charCodeAt(0)));
}

export function encodeCursor(list: string, lastId: string): string {
  return b64(JSON.stringify({ l: list, a: lastId }));
}

function badCursor(): TollgateError {
  return new TollgateError('bad-request', 'the cursor is not valid for this list', {
    details: { errors: [{ in: 'query', pointer: '/cursor', detail: 'must be a next_cursor value from an earlier page of this list' }] },
  });
}

/** The id to continue after ('' for the first page). */
export function decodeCursor(list: string, cursor: string | undefined): string {
  if (cursor === undefined) return '';
  let v: unknown;
  try {
    v = JSON.parse(unb64(cursor));
  } catch {
    throw badCursor();
  }
  const o = v as { l?: unknown; a?: unknown } | null;
  if (o === null || typeof o !== 'object' || o.l !== list || typeof o.a !== 'string' || o.a.length === 0 || o.a.length > 512) throw badCursor();
  return o.a;
}

export interface PageArgs {
  after: string;
  limit: number;
}

/** Parsed `limit` and `cursor` for the store. */
export function pageArgs(list: string, q: { limit?: string | undefined; cursor?: string | undefined }): PageArgs {
  return { after: decodeCursor(list, q.cursor), limit: q.limit === undefined ? DEFAULT_LIMIT : Number(q.limit) };
}

/** `{items, next_cursor}` from a store page. */
export function pageBody<T, W>(list: string, page: { items: T[]; more: boolean }, idOf: (t: T) => string, wire: (t: T) => W): { items: W[]; next_cursor: string | null } {
  const last = page.items[page.items.length - 1];
  return { items: page.items.map(wire), next_cursor: page.more && last !== undefined ? encodeCursor(list, idOf(last)) : null };
}

/** OpenAPI schema of a page of `item`. */
export function pageSchema<T extends z.ZodType>(name: string, item: T) {
  return z
    .object({ items: z.array(item), next_cursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next page; null on the last page.' }) })
    .openapi(name);
}
