/**
 * The tail every allowed request shares, whoever asked (session or bearer):
 * pick an endpoint, mint the per-request assertion for exactly the method and
 * target being forwarded, rewrite headers, forward — to the next endpoint if
 * one could not be reached and the request may be repeated (DESIGN §8) — and
 * hand back the streamed response. Only an allowed request reaches this
 * point, so only an allowed request learns anything about the upstream (e.g.
 * that it has no endpoint).
 */
import type { Workload } from '../catalog/index.js';
import { isTollgateError } from '../errors.js';
import { clientResponseHeaders, endpointsToTry, forward, mayFailOver, RecentFailures, requestTarget, upstreamRequestHeaders, upstreamUrl } from '../proxy/index.js';
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

/** Endpoints that refused a connection a moment ago, in this isolate (see RecentFailures). */
const failures = new RecentFailures();

export async function forwardAllowed(
  rc: RequestContext,
  workload: Workload,
  caller: AllowedCaller,
  options: ForwardAllowedOptions,
): Promise<Response> {
  const { config, keyRing, random, clock, logger, upstreamFetch } = rc.deps;
  const startedAt = clock.now();
  const endpoints = endpointsToTry(workload, (e) => failures.recently(e, startedAt));
  const several = endpoints.length > 1;
  const method = rc.request.method;
  // Only a request that cannot have sent a body byte, with an idempotent method, goes on to the next endpoint.
  const failOver = several && mayFailOver(method, rc.request.body);
  let jti: string | undefined;
  let upstream: Response | undefined;
  let target!: URL;
  try {
    for (let i = 0; upstream === undefined; i++) {
      const endpoint = endpoints[i]!;
      target = upstreamUrl(endpoint.url, rc.url);
      // One assertion per attempt, bound to its endpoint (`ept`): a guard with TOLLGATE_ENDPOINT_ID requires it.
      const { assertion, claims } = await mintAssertionWithClaims(
        {
          ...caller,
          issuer: config.origin,
          audience: workload.id,
          requestId: rc.requestId,
          // Exactly the method the forward sends (fetch upper-cases the standard ones, keeps others as sent).
          method,
          target: requestTarget(target),
          ttlSeconds: Math.min(options.ttl > 0 ? options.ttl : config.assertionTtlSeconds, 60),
          endpoint: endpoint.id,
        },
        keyRing.active,
        { now: clock.now(), random },
      );
      jti = claims.jti;
      const headers = upstreamRequestHeaders(rc.request.headers, {
        clientHost: rc.authority,
        proto: rc.url.protocol.replace(/:$/, ''),
        ...(options.clientIp ? { clientIp: options.clientIp } : {}),
        assertion,
        gatewayCookies: GATEWAY_COOKIE_NAMES,
        ...(options.stripAuthorization ? { stripAuthorization: true } : {}),
      });
      try {
        upstream = await forward(method, rc.request.body, target, headers, { fetch: upstreamFetch, timeoutMs: config.upstreamTimeoutMs });
        if (several) failures.succeeded(endpoint);
      } catch (err) {
        // Only a connection that failed: a timeout may have reached the endpoint.
        if (!several || !isTollgateError(err) || err.code !== 'upstream-unreachable') throw err;
        failures.failed(endpoint, clock.now());
        const next = endpoints[i + 1];
        if (!failOver || next === undefined) throw err;
        logger.warn('upstream-failover', { request_id: rc.requestId, workload: workload.id, endpoint: endpoint.id, next: next.id });
        rc.log.failover = [...((rc.log.failover as string[] | undefined) ?? []), endpoint.id];
      }
    }
  } finally {
    // One audit record per request, naming the assertion last sent.
    if (jti !== undefined) options.onMinted?.(jti);
  }
  const cookie = await options.setCookie?.();
  const out = clientResponseHeaders(upstream.headers, {
    requestId: rc.requestId,
    gatewayCookies: GATEWAY_COOKIE_NAMES,
    ...(cookie ? { setCookie: cookie } : {}),
    location: { forwardedTo: target, clientProtocol: rc.url.protocol, clientAuthority: rc.authority },
  });
  rc.log.upstream_status = upstream.status;
  // Null-body statuses must not get a body stream.
  const nullBody = upstream.status === 204 || upstream.status === 304 || rc.request.method === 'HEAD';
  if (nullBody) await upstream.body?.cancel();
  return new Response(nullBody ? null : upstream.body, { status: upstream.status, statusText: upstream.statusText, headers: out });
}
