/**
 * The guard sidecar on `node:http` (DESIGN §6): verify with the raw target,
 * forward with `node:http` so the path reaches the app byte for byte, stream
 * both bodies, never crash on what a client sends.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { TollgateError } from '../../errors.js';
import { consoleLogger, cryptoRandom, systemClock, type Clock, type Logger, type Random } from '../../platform/index.js';
import {
  createRemoteKeySource,
  createReplayCache,
  internalErrorResponse,
  refusalResponse,
  requestIdOf,
  verifyAssertion,
  REQUEST_ID_HEADER,
  type FetchLike,
  type GuardResponse,
  type KeySource,
  type RemoteKeySource,
  type ReplayCache,
  type VerifyOptions,
} from '../index.js';
import { forwardRequest, type ForwardContext } from './forward.js';
import { signatureCheckFor, type SignatureDispatch } from './signature.js';
import { parseUpstream } from './upstream.js';

/** The one path served without an assertion. */
export const HEALTHZ_PATH = '/.tollgate/healthz';

/** Configuration of {@link startGuard}. */
export interface GuardConfig {
  /** `TOLLGATE_ISSUER`: `iss` must equal it exactly. */
  issuer: string;
  /** `TOLLGATE_AUDIENCE`: this workload's id. */
  audience: string;
  /** `TOLLGATE_ENDPOINT_ID`: when set, `ept` must equal it. */
  endpointId?: string;
  /** `TOLLGATE_JWKS_URL`. Ignored when `keySource` is given. */
  jwksUrl?: string;
  /** `TOLLGATE_UPSTREAM`: `http://host:port` or `unix:/path/to.sock`. */
  upstream: string;
  /** Port to listen on (default 0: any free port, reported by the result). */
  port?: number;
  /** Address to listen on (default `0.0.0.0`, as a sidecar). */
  host?: string;
  /** Most jtis held by the replay cache (default 1,000,000). */
  replayCacheMaxEntries?: number;
  /** JWKS refresh period in seconds (default and max 60). */
  jwksRefreshSeconds?: number;
  /** Least time between refreshes triggered by unknown kids (default 5000 ms). */
  minUnknownKidIntervalMs?: number;
  /** Retry delay after a failed JWKS fetch (default 2000 ms). */
  jwksRetryMs?: number;
  /** How long `startGuard` waits for the first JWKS load before listening anyway (default 2000 ms). */
  initialKeysWaitMs?: number;
  /** Time source (default: the system clock). Tests freeze it. */
  clock?: Clock;
  /** Fetch for the JWKS (default: the global fetch). */
  fetch?: FetchLike;
  /** Where JSON log lines go (default: the console). Never receives a token. */
  logger?: Logger;
  /** Source of request ids (default: crypto). */
  random?: Random;
  /** Use these keys instead of fetching `jwksUrl` (in-process tests, benchmarks). */
  keySource?: KeySource;
  /** Use this replay cache instead of a fresh in-memory one. */
  replayCache?: ReplayCache;
  /**
   * How signatures are checked (default `adaptive`: synchronously while no
   * other request is in flight, on the libuv threadpool under load). The other
   * modes exist for benchmarks and tests.
   */
  signatureDispatch?: SignatureDispatch;
}

/** A running guard. */
export interface RunningGuard {
  /** The port it listens on. */
  port: number;
  /** True when keys are loaded (what healthz reports). */
  ready(): boolean;
  /** Stop accepting, close idle connections, wait for in-flight requests (then force-close after `graceMs`, default 10 s). */
  close(graceMs?: number): Promise<void>;
}

function send(res: http.ServerResponse, r: GuardResponse, extra: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed || res.writableEnded) {
    if (!res.writableEnded) res.destroy();
    return;
  }
  res.writeHead(r.status, { ...r.headers, ...extra, 'Content-Length': String(Buffer.byteLength(r.body)) });
  res.end(r.body);
}

function hasBody(req: http.IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0');
}

function isHealthz(url: string): boolean {
  return url === HEALTHZ_PATH || url.startsWith(`${HEALTHZ_PATH}?`);
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'unknown';
}

/**
 * Start the sidecar: healthz, verification of every other request, streaming
 * forward to the upstream over a keep-alive agent. The JWKS is fetched at once;
 * the guard listens even when that fails (and then refuses every request until
 * the keys arrive).
 */
export async function startGuard(config: GuardConfig): Promise<RunningGuard> {
  const upstream = parseUpstream(config.upstream);
  if (typeof upstream === 'string') throw new TollgateError('config-invalid', `upstream ${upstream}`);
  const clock = config.clock ?? systemClock;
  const logger = config.logger ?? consoleLogger;
  const random = config.random ?? cryptoRandom;

  let remote: RemoteKeySource | undefined;
  let keys: KeySource;
  if (config.keySource !== undefined) keys = config.keySource;
  else {
    if (config.jwksUrl === undefined) throw new TollgateError('config-invalid', 'jwksUrl or keySource is required');
    remote = createRemoteKeySource({
      url: config.jwksUrl,
      fetch: config.fetch ?? (fetch as unknown as FetchLike),
      clock,
      logger,
      ...(config.jwksRefreshSeconds !== undefined ? { refreshSeconds: config.jwksRefreshSeconds } : {}),
      ...(config.minUnknownKidIntervalMs !== undefined ? { minUnknownKidIntervalMs: config.minUnknownKidIntervalMs } : {}),
      ...(config.jwksRetryMs !== undefined ? { retryMs: config.jwksRetryMs } : {}),
    });
    keys = remote;
  }

  // Requests past healthz whose response has not closed yet: the adaptive signature check's load signal.
  let active = 0;
  const verifyOptions: VerifyOptions = {
    signatureCheck: signatureCheckFor(config.signatureDispatch ?? 'adaptive', () => active <= 1),
    issuer: config.issuer,
    audience: config.audience,
    ...(config.endpointId !== undefined ? { endpointId: config.endpointId } : {}),
    keys,
    replayCache: config.replayCache ?? createReplayCache({ maxEntries: config.replayCacheMaxEntries }),
    clock,
  };

  const agent = new http.Agent({ keepAlive: true, scheduling: 'lifo' });
  const defaultHost = upstream.kind === 'tcp' ? `${upstream.host.includes(':') ? `[${upstream.host}]` : upstream.host}:${upstream.port}` : 'localhost';

  const forwardContext: ForwardContext = { agent, upstream, defaultHost, logger, send };

  const server = http.createServer({ headersTimeout: 30_000, requestTimeout: 300_000 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      const requestId = requestIdOf(undefined, random);
      logger.error('guard.internal_error', { request_id: requestId, error: errorCode(err) });
      send(res, internalErrorResponse(requestId), { Connection: 'close' });
    });
  });

  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    socket.on('error', () => {});
    // Node's own default: answer only when no response has started on this socket.
    const current = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (!socket.writable || err.code === 'ECONNRESET' || current?.headersSent === true) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    req.on('error', () => {});
    res.on('error', () => {});
    const rawTarget = req.url ?? '';
    const method = req.method ?? '';

    if ((method === 'GET' || method === 'HEAD') && isHealthz(rawTarget)) {
      req.resume();
      const ok = keys.ready();
      const body = JSON.stringify(ok ? { status: 'ok' } : { status: 'unavailable', reason: 'keys-unavailable' });
      res.writeHead(ok ? 200 : 503, {
        'Content-Type': 'application/json',
        'Cache-Control': 'no-store',
        'Content-Length': String(Buffer.byteLength(body)),
      });
      res.end(method === 'HEAD' ? undefined : body);
      return;
    }

    active++;
    res.once('close', () => active--);
    const requestId = requestIdOf(req.headers[REQUEST_ID_HEADER.toLowerCase()], random);
    const result = await verifyAssertion(rawTarget, method, req.headers, verifyOptions);
    if (!result.ok) {
      logger.warn('guard.refused', { reason: result.reason, request_id: requestId, method });
      // Do not read a body we refuse; close the connection instead of draining a large one.
      const extra: Record<string, string> = hasBody(req) ? { Connection: 'close' } : {};
      req.resume();
      send(res, refusalResponse(result.reason, requestId), extra);
      return;
    }
    // The client may have gone away while we verified: do not start an upstream request for nobody.
    if (req.socket.destroyed) return;
    forwardRequest(forwardContext, req, res, rawTarget, method, result.identityHeaders, requestId);
  }

  const port = config.port ?? 0;
  const host = config.host ?? '0.0.0.0';

  if (remote !== undefined) {
    const initial = remote.refresh();
    remote.start();
    const waitMs = config.initialKeysWaitMs ?? 2000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([initial, new Promise<void>((r) => (timer = setTimeout(r, waitMs)))]);
    clearTimeout(timer);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.error('guard.server_error', { error: errorCode(err) }));

  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    ready: () => keys.ready(),
    close(graceMs = 10_000) {
      closing ??= new Promise<void>((resolve) => {
        remote?.close();
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          agent.destroy();
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
