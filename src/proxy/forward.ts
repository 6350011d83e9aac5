/** The forward itself: one fetch to the chosen endpoint, streaming both bodies. */
import { TollgateError } from '../errors.js';
import type { Endpoint, Workload } from '../catalog/index.js';
import type { HeaderRecord } from './headers.js';

/** First healthy endpoint, else the first of unknown health; unhealthy ones are skipped. */
export function pickEndpoint(workload: Workload): Endpoint {
  const chosen =
    workload.endpoints.find((e) => e.health === 'healthy') ?? workload.endpoints.find((e) => e.health === 'unknown');
  if (!chosen) throw new TollgateError('upstream-unreachable', 'the service has no available endpoint');
  return chosen;
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
