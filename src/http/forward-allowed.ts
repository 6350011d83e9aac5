/**
 * The tail every allowed request shares, whoever asked (session or bearer):
 * pick an endpoint, mint the per-request assertion for exactly the method and
 * target being forwarded, rewrite headers, forward, and hand back the streamed
 * response. Only an allowed request reaches this point, so only an allowed
 * request learns anything about the upstream (e.g. that it has no endpoint).
 */
import type { Workload } from '../catalog/index.js';
import { clientResponseHeaders, forward, pickEndpoint, requestTarget, upstreamRequestHeaders, upstreamUrl } from '../proxy/index.js';
import { GATEWAY_COOKIE_NAMES } from '../session/index.js';
import { mintAssertionWithClaims, type AssertionInput } from '../token/index.js';
import type { RequestContext } from './context.js';

/** Who the assertion speaks for: the claims that differ between the session and bearer paths. */
export type AllowedCaller = Pick<AssertionInput, 'subject' | 'roles' | 'sessionId' | 'email' | 'device' | 'act'>;

export interface ForwardAllowedOptions {
  /** The decision's TTL (0 or less: the configured default); capped at 60 s. */
  ttl: number;
  clientIp?: string;
  /** Remove the caller's Authorization header (bearer path, unless the workload asks for it). */
  stripAuthorization?: boolean;
  /** Called with the minted assertion's jti before forwarding (the audit record names it). */
  onMinted?(jti: string): void;
  /** Extra Set-Cookie for the client (a refreshed session cookie). */
  setCookie?: () => Promise<string | undefined>;
}

export async function forwardAllowed(
  rc: RequestContext,
  workload: Workload,
  caller: AllowedCaller,
  options: ForwardAllowedOptions,
): Promise<Response> {
  const { config, keyRing, random, clock, upstreamFetch } = rc.deps;
  const endpoint = pickEndpoint(workload);
  const target = upstreamUrl(endpoint.url, rc.url);
  const { assertion, claims } = await mintAssertionWithClaims(
    {
      ...caller,
      issuer: config.origin,
      audience: workload.id,
      requestId: rc.requestId,
      // Exactly the method the forward sends (fetch upper-cases the standard ones, keeps others as sent).
      method: rc.request.method,
      target: requestTarget(target),
      ttlSeconds: Math.min(options.ttl > 0 ? options.ttl : config.assertionTtlSeconds, 60),
    },
    keyRing.active,
    { now: clock.now(), random },
  );
  options.onMinted?.(claims.jti);
  const headers = upstreamRequestHeaders(rc.request.headers, {
    clientHost: rc.authority,
    proto: rc.url.protocol.replace(/:$/, ''),
    ...(options.clientIp ? { clientIp: options.clientIp } : {}),
    assertion,
    gatewayCookies: GATEWAY_COOKIE_NAMES,
    ...(options.stripAuthorization ? { stripAuthorization: true } : {}),
  });
  const upstream = await forward(rc.request.method, rc.request.body, target, headers, {
    fetch: upstreamFetch,
    timeoutMs: config.upstreamTimeoutMs,
  });
  const cookie = await options.setCookie?.();
  const out = clientResponseHeaders(upstream.headers, {
    requestId: rc.requestId,
    gatewayCookies: GATEWAY_COOKIE_NAMES,
    ...(cookie ? { setCookie: cookie } : {}),
    location: { from: target.origin, to: `${rc.url.protocol}//${rc.authority}` },
  });
  rc.log.upstream_status = upstream.status;
  // Null-body statuses must not get a body stream.
  const nullBody = upstream.status === 204 || upstream.status === 304 || rc.request.method === 'HEAD';
  if (nullBody) await upstream.body?.cancel();
  return new Response(nullBody ? null : upstream.body, { status: upstream.status, statusText: upstream.statusText, headers: out });
}
