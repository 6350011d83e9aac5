/**
 * Forwarding one verified request to the app with `node:http`: the path exactly
 * as received, both bodies streamed with backpressure, every stream's errors
 * handled so that nothing a client or the app does can crash the guard.
 */
import http from 'node:http';
import { upstreamErrorResponse, type GuardResponse, type IdentityHeaders } from '../index.js';
import type { Logger } from '../../platform/index.js';
import { bodyFraming, clientResponseHeaders, upstreamRequestHeaders, type UpstreamTarget } from './upstream.js';

/** What every forward shares: the keep-alive agent and where the app is. */
export interface ForwardContext {
  agent: http.Agent;
  upstream: UpstreamTarget;
  /** `Host` to send when the client sent none. */
  defaultHost: string;
  logger: Logger;
  /** Writes a guard-made response (problem documents). */
  send(res: http.ServerResponse, response: GuardResponse, extra?: Record<string, string>): void;
}

// RFC 9110 §9.2.2: a client may repeat these automatically.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'unknown';
}

/**
 * Forward `req` to the app and stream the answer into `res`. An idempotent
 * request without a body that fails because the app closed a reused keep-alive
 * connection under us is retried once on a fresh connection; anything else that fails before the
 * response headers is a 502 problem, after them a reset.
 */
export function forwardRequest(
  ctx: ForwardContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  rawTarget: string,
  method: string,
  identity: IdentityHeaders,
  requestId: string,
): void {
  const framing = bodyFraming(method, req.headers['content-length'], req.headers['transfer-encoding']);
  const headers = upstreamRequestHeaders(req.rawHeaders, identity, { framing, defaultHost: ctx.defaultHost });
  const cl = req.headers['content-length'];
  const bodyless = framing !== 'chunked' && (cl === undefined || cl === '0');
  const retryable = bodyless && IDEMPOTENT.has(method);
  const target = ctx.upstream;
  let current: http.ClientRequest | undefined;

  // The client went away (aborted request, or closed before the response finished).
  req.on('close', () => {
    if (!req.complete) current?.destroy();
  });
  res.on('close', () => {
    if (!res.writableFinished) current?.destroy();
  });

  const badGateway = (err: unknown): void => {
    if (res.writableEnded || res.destroyed) return;
    ctx.logger.warn('guard.upstream_error', { request_id: requestId, error: errorCode(err) });
    if (res.headersSent) res.destroy();
    else ctx.send(res, upstreamErrorResponse(requestId), { Connection: 'close' });
  };

  const attempt = (mayRetry: boolean): void => {
    let upstreamReq: http.ClientRequest;
    try {
      upstreamReq = http.request({
        agent: ctx.agent,
        method,
        path: rawTarget,
        headers,
        ...(target.kind === 'tcp' ? { host: target.host, port: target.port } : { socketPath: target.socketPath }),
      });
    } catch (err) {
      // e.g. a target Node's client will not write; nothing was sent.
      req.resume();
      badGateway(err);
      return;
    }
    current = upstreamReq;

    upstreamReq.on('error', (err: Error & { code?: string }) => {
      const stale = upstreamReq.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
      if (mayRetry && stale && retryable && !res.headersSent && !res.destroyed) {
        attempt(false);
        return;
      }
      badGateway(err);
    });

    upstreamReq.on('response', (upstreamRes) => {
      upstreamRes.on('error', () => res.destroy());
      if (res.destroyed) {
        upstreamRes.destroy();
        return;
      }
      try {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, clientResponseHeaders(upstreamRes.rawHeaders));
      } catch (err) {
        upstreamRes.destroy();
        badGateway(err);
        return;
      }
      upstreamRes.pipe(res);
    });

    if (bodyless) {
      req.resume();
      upstreamReq.end();
    } else {
      req.pipe(upstreamReq);
    }
  };

  attempt(true);
}
