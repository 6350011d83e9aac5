/** The forward itself: one fetch to the chosen endpoint, streaming both bodies. */
import { TollgateError } from '../errors.js';
import type { Endpoint, Workload } from '../catalog/index.js';
import type { HeaderRecord } from './headers.js';

/**
 * The endpoints to try, in order (DESIGN §8): healthy ones first, then those
 * of unknown health, each in catalog order; within that, endpoints that
 * refused a connection a moment ago (`recentlyFailed`) go behind the others.
 * Unhealthy endpoints are never tried. Throws 'upstream-unreachable' when none
 * is left.
 */
export function endpointsToTry(workload: Workload, recentlyFailed: (endpoint: Endpoint) => boolean = () => false): Endpoint[] {
  const rank = (e: Endpoint) => (e.health === 'healthy' ? 0 : 2) + (recentlyFailed(e) ? 1 : 0);
  const usable = workload.endpoints.filter((e) => e.health === 'healthy' || e.health === 'unknown');
  if (usable.length === 0) throw new TollgateError('upstream-unreachable', 'the service has no available endpoint');
  if (usable.length === 1) return usable;
  // A stable sort: catalog order within each rank.
  return usable.map((e, i) => ({ e, i, r: rank(e) })).sort((a, b) => a.r - b.r || a.i - b.i).map((x) => x.e);
}

/** Methods RFC 9110 §9.2.2 defines as idempotent. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Whether a forward that could not connect may be tried at the next endpoint
 * (DESIGN §8): only for an idempotent method, and only without a request body
 * (GET and HEAD never send one), so that no request body byte can have been
 * sent to the endpoint that failed.
 */
export function mayFailOver(method: string, body: ReadableStream<Uint8Array> | null): boolean {
  if (!IDEMPOTENT.has(method)) return false;
  return body === null || method === 'GET' || method === 'HEAD';
}

/**
 * Endpoints that refused a connection recently, as this isolate saw it
 * (passive health): for `holdMs` they are tried after the others, so a dead
 * replica does not cost every request a failed connection. Bounded; oldest
 * out first.
 */
export class RecentFailures {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly holdMs = 30_000,
    private readonly max = 1024,
  ) {}

  private static key(e: Endpoint): string {
    return `${e.id} ${e.url}`;
  }

  failed(e: Endpoint, nowMs: number): void {
    const key = RecentFailures.key(e);
    this.until.delete(key);
    if (this.until.size >= this.max) this.until.delete(this.until.keys().next().value!);
    this.until.set(key, nowMs + this.holdMs);
  }

  succeeded(e: Endpoint): void {
    if (this.until.size > 0) this.until.delete(RecentFailures.key(e));
  }

  recently(e: Endpoint, nowMs: number): boolean {
    if (this.until.size === 0) return false;
    const key = RecentFailures.key(e);
    const until = this.until.get(key);
    if (until === undefined) return false;
    if (until > nowMs) return true;
    this.until.delete(key);
    return false;
  }
}

/**
 * The URL the forward will request: the endpoint origin plus the client's
 * path and query exactly as the WHATWG URL parser left them (it has already
 * removed dot segments, including `%2e` forms). Built by concatenation so a
 * path starting with `//` can never change the authority.
 */
export function upstreamUrl(endpointOrigin: string, requestUrl: URL): URL {
  const target = new URL(`${endpointOrigin}${requestUrl.pathname}${requestUrl.search}`);
  // Re-parsing an already-parsed path changes nothing; if it ever did, htu and the decision would no longer describe it.
  if (target.origin !== endpointOrigin || target.pathname !== requestUrl.pathname || target.search !== requestUrl.search) {
    throw new TollgateError('bad-request', 'the request path cannot be forwarded');
  }
  return target;
}

/** The assertion's `htu`: path plus query of the URL the fetch sends. */
export function requestTarget(url: URL): string {
  return `${url.pathname}${url.search}`;
}

export interface ForwardOptions {
  fetch: (input: Request | string | URL, init?: RequestInit) => Promise<Response>;
  /** Time allowed until the upstream's response headers arrive. */
  timeoutMs: number;
}

/**
 * Send the request upstream without buffering the body. Connection failure →
 * TollgateError('upstream-unreachable') (502); no response headers within
 * `timeoutMs` → TollgateError('upstream-timeout') (504). Redirects are passed
 * back to the client, never followed.
 */
export async function forward(
  method: string,
  body: ReadableStream<Uint8Array> | null,
  target: URL,
  headers: HeaderRecord | Headers,
  options: ForwardOptions,
): Promise<Response> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, options.timeoutMs);
  try {
    const init: RequestInit = { method, headers, redirect: 'manual', signal: controller.signal };
    if (method !== 'GET' && method !== 'HEAD' && body !== null) init.body = body;
    return await options.fetch(target.href, init);
  } catch (cause) {
    if (timedOut) throw new TollgateError('upstream-timeout', 'the service did not answer in time', { cause });
    throw new TollgateError('upstream-unreachable', 'the service could not be reached', { cause });
  } finally {
    clearTimeout(timer);
  }
}
