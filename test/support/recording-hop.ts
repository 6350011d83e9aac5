/**
 * A recording hop: a plain Node HTTP proxy that the test stack puts between the
 * gateway and one guard (`startTestStack({ recordingHop: 'inventory' })`). It
 * forwards every request unchanged — raw target, headers, body — and keeps what
 * it saw, so a test can take an assertion off the wire and replay it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** The raw request target as the gateway sent it. */
  target: string;
  headers: http.IncomingHttpHeaders;
  /** The Tollgate-Assertion header, when there was exactly one. */
  assertion?: string;
  /** The guard's status code. */
  status?: number;
}

export interface RecordingHop {
  url: string;
  port: number;
  readonly records: RecordedRequest[];
  close(): Promise<void>;
}

export async function startRecordingHop(target: { host: string; port: number }): Promise<RecordingHop> {
  const records: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const raw = req.headers['tollgate-assertion'];
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      target: req.url ?? '/',
      headers: { ...req.headers },
      assertion: typeof raw === 'string' ? raw : undefined,
    };
    records.push(record);
    const upstream = http.request({
      host: target.host,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: req.rawHeaders,
      setHost: false,
    }, (up) => {
      record.status = up.statusCode;
      res.writeHead(up.statusCode ?? 502, up.rawHeaders);
      up.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('recording hop: upstream error');
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    records,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
