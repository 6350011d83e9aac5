/**
 * Node-side HTTP for the e2e tests. Node cannot resolve `*.localhost`
 * (DESIGN §9), so every client here dials 127.0.0.1 and keeps the URL's host
 * in the Host header.
 */
import http from 'node:http';
import type { LookupFunction } from 'node:net';
import { Agent, fetch as undiciFetch, type RequestInit, type Response } from 'undici';

const toLoopback: LookupFunction = (hostname, options, callback) => {
  if (!/^(localhost|127\.0\.0\.1|[a-z0-9-]+(\.[a-z0-9-]+)*\.localhost)$/i.test(hostname)) {
    const err = Object.assign(new Error(`e2e: refusing to resolve non-loopback host ${hostname}`), { code: 'ENOTFOUND' });
    callback(err, '', 0);
    return;
  }
  if ((options as { all?: boolean }).all) {
    (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
  } else {
    callback(null, '127.0.0.1', 4);
  }
};

/** An undici Agent that connects every host to 127.0.0.1 (Host header unchanged). */
export const loopbackAgent = new Agent({ connect: { lookup: toLoopback } });

/** fetch through loopbackAgent; redirects are not followed unless asked. */
export function loopbackFetch(url: string, init: RequestInit = {}): Promise<Response> {
  return undiciFetch(url, { redirect: 'manual', ...init, dispatcher: loopbackAgent });
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One request with node:http to 127.0.0.1:port, the target sent byte for byte
 * (fetch would normalise it) and the headers exactly as given (Host included).
 */
export function rawRequest(port: number, method: string, target: string, headers: Record<string, string | string[]> = {}, body?: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers, setHost: !hasHost(headers), agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function hasHost(headers: Record<string, unknown>): boolean {
  return Object.keys(headers).some((k) => k.toLowerCase() === 'host');
}
