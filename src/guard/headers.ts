/**
 * Reading request headers from either Node (`IncomingHttpHeaders`, values
 * `string | string[] | undefined`) or Fetch (`Headers`), and the header names
 * the guard owns.
 */

/** A header map as Node gives it (`req.headers`, `req.headersDistinct`) or any plain record. */
export type HeaderRecord = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Anything with a Fetch-style `get` (a `Headers`, or Hono's `c.req.raw.headers`). */
export interface HeaderGetter {
  get(name: string): string | null;
}

/** Where the guard reads the request headers from. */
export type HeaderSource = HeaderGetter | HeaderRecord;

/** The assertion header (DESIGN §5). */
export const ASSERTION_HEADER = 'Tollgate-Assertion';

/** The identity headers the guard sets, from verified claims only. */
export const IDENTITY_HEADER_NAMES = ['Tollgate-User', 'Tollgate-Email', 'Tollgate-Roles', 'Tollgate-Device-Trust'] as const;

/** Largest assertion the guard will parse; anything longer is refused unparsed. */
export const MAX_ASSERTION_BYTES = 8 * 1024;

/** True for every header the guard owns: the client's copy of these is always stripped. */
export function isTollgateHeader(name: string): boolean {
  return name.length >= 9 && name.slice(0, 9).toLowerCase() === 'tollgate-';
}

function isGetter(source: HeaderSource): source is HeaderGetter {
  return typeof (source as { get?: unknown }).get === 'function';
}

/** Result of {@link readAssertionHeader}: the one assertion value, or why there is not exactly one usable value. */
export type AssertionHeader =
  | { ok: true; value: string }
  | { ok: false; reason: 'missing-assertion' | 'multiple-assertions' | 'assertion-too-large' | 'malformed' };

/**
 * The single `Tollgate-Assertion` value. Repeated headers arrive as an array or
 * joined with ", " (Node and Fetch both join); a compact JWS has no comma, so a
 * comma means more than one header. Never looks at `Authorization`.
 */
export function readAssertionHeader(source: HeaderSource): AssertionHeader {
  const values: string[] = [];
  if (isGetter(source)) {
    const v = source.get(ASSERTION_HEADER);
    if (v !== null) values.push(v);
  } else {
    for (const name of Object.keys(source)) {
      if (name.length !== ASSERTION_HEADER.length || name.toLowerCase() !== 'tollgate-assertion') continue;
      const v = source[name];
      if (typeof v === 'string') values.push(v);
      else if (Array.isArray(v)) for (const item of v) values.push(String(item));
    }
  }
  if (values.length === 0) return { ok: false, reason: 'missing-assertion' };
  if (values.length > 1) return { ok: false, reason: 'multiple-assertions' };
  const value = values[0]!.trim();
  if (value.length > MAX_ASSERTION_BYTES) return { ok: false, reason: 'assertion-too-large' };
  if (value.includes(',')) return { ok: false, reason: 'multiple-assertions' };
  if (value.length === 0) return { ok: false, reason: 'malformed' };
  return { ok: true, value };
}
