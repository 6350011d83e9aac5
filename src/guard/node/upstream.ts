/**
 * The app behind the sidecar: where it is (`TOLLGATE_UPSTREAM`) and which
 * headers cross the guard in each direction.
 */
import { isTollgateHeader, type IdentityHeaders } from '../index.js';

/** Where the sidecar forwards: a TCP host and port, or a Unix socket. */
export type UpstreamTarget = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; socketPath: string };

/**
 * Parse `http://host:port` or `unix:/absolute/path.sock`. Only plain http (the
 * app is on localhost or in the same task); no path, query, credentials or
 * fragment. Returns an error message instead of throwing.
 */
export function parseUpstream(value: string): UpstreamTarget | string {
  if (value.startsWith('unix:')) {
    const socketPath = value.slice(5);
    if (!socketPath.startsWith('/') || socketPath.includes('\0')) return 'a unix: upstream needs an absolute socket path (unix:/path/to.sock)';
    return { kind: 'unix', socketPath };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be http://host:port or unix:/path/to.sock';
  }
  if (url.protocol !== 'http:') return 'only http:// (or unix:) upstreams are supported';
  if (url.username !== '' || url.password !== '') return 'must not contain credentials';
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    return 'must not have a path, query or fragment (the request path is forwarded unchanged)';
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { kind: 'tcp', host, port: url.port === '' ? 80 : Number(url.port) };
}

// RFC 9110 §7.6.1 hop-by-hop fields, plus Expect (the guard answers 100-continue itself).
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'http2-settings',
]);

// Never removed because the Connection header names them: framing and routing must survive.
const PROTECTED = new Set(['content-length', 'host']);

function connectionTokens(rawHeaders: readonly string[]): Set<string> {
  const tokens = new Set<string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== 'connection') continue;
    for (const t of rawHeaders[i + 1]!.split(',')) {
      const token = t.trim().toLowerCase();
      if (token !== '' && !PROTECTED.has(token)) tokens.add(token);
    }
  }
  return tokens;
}

/**
 * Headers for the upstream request, in the flat `[name, value, …]` form of
 * `rawHeaders`: the client's headers minus every `Tollgate-*` (any case) and
 * hop-by-hop header, plus the identity headers from the verified claims.
 */
export function upstreamRequestHeaders(
  rawHeaders: readonly string[],
  identity: IdentityHeaders,
  options: { framing: 'chunked' | 'empty' | 'as-is'; defaultHost: string },
): string[] {
  const dropped = connectionTokens(rawHeaders);
  const out: string[] = [];
  let hasHost = false;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (isTollgateHeader(lower) || HOP_BY_HOP.has(lower) || dropped.has(lower)) continue;
    if (lower === 'host') hasHost = true;
    out.push(name, rawHeaders[i + 1]!);
  }
  if (!hasHost) out.push('Host', options.defaultHost);
  // Node re-frames what it forwards: keep a chunked body chunked, and say "no
  // body" explicitly where Node would otherwise invent an empty chunked one.
  if (options.framing === 'chunked') out.push('Transfer-Encoding', 'chunked');
  else if (options.framing === 'empty') out.push('Content-Length', '0');
  for (const [name, value] of Object.entries(identity)) {
    if (value !== undefined) out.push(name, value);
  }
  return out;
}

/** Headers for the client from the upstream response: everything but hop-by-hop fields. */
export function clientResponseHeaders(rawHeaders: readonly string[]): string[] {
  const dropped = connectionTokens(rawHeaders);
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const lower = rawHeaders[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || dropped.has(lower)) continue;
    out.push(rawHeaders[i]!, rawHeaders[i + 1]!);
  }
  return out;
}

// Methods for which Node's client sends a chunked (empty) body unless told a length.
const NO_DEFAULT_BODY = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

/** How the upstream request's body is framed, from the client request's framing headers. */
export function bodyFraming(method: string, contentLength: string | undefined, transferEncoding: string | undefined): 'chunked' | 'empty' | 'as-is' {
  if (transferEncoding !== undefined) return 'chunked';
  if (contentLength === undefined && !NO_DEFAULT_BODY.has(method)) return 'empty';
  return 'as-is';
}
