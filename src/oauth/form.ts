/**
 * The body of an OAuth request: `application/x-www-form-urlencoded`, at most
 * 64 KiB, every parameter at most once (RFC 6749 §3.2) — except `resource`
 * (RFC 8707 allows several; Tollgate issues for one, see audience.ts).
 */
import { readBoundedBytes } from '../platform/index.js';
import { oauthError } from './errors.js';

export const MAX_FORM_BYTES = 64 * 1024;

export interface OAuthForm {
  get(name: string): string | undefined;
  has(name: string): boolean;
  /** Every `resource` value, in order. */
  resources: string[];
}

async function readBounded(request: Request): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > MAX_FORM_BYTES) throw oauthError('invalid_request', 'the request body is too large');
  const all = await readBoundedBytes(request.body, MAX_FORM_BYTES);
  if (!all) throw oauthError('invalid_request', 'the request body is too large');
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(all);
  } catch {
    throw oauthError('invalid_request', 'the request body is not UTF-8');
  }
}

/** Parse and check the form. Throws invalid_request for anything malformed. */
export async function readOAuthForm(request: Request): Promise<OAuthForm> {
  const type = (request.headers.get('content-type') ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    await request.body?.cancel();
    throw oauthError('invalid_request', 'send the parameters as application/x-www-form-urlencoded');
  }
  return parseOAuthForm(await readBounded(request));
}

export function parseOAuthForm(text: string): OAuthForm {
  const values = new Map<string, string>();
  const resources: string[] = [];
  for (const [name, value] of new URLSearchParams(text)) {
    if (name === 'resource') {
      resources.push(value);
      continue;
    }
    if (values.has(name)) throw oauthError('invalid_request', `the parameter ${name.slice(0, 64)} appears more than once`);
    values.set(name, value);
  }
  return {
    // An empty value counts as absent (RFC 6749 §3.1).
    get: (name) => {
      const v = values.get(name);
      return v === undefined || v === '' ? undefined : v;
    },
    has: (name) => values.has(name) && values.get(name) !== '',
    resources,
  };
}
