/**
 * A real upstream for the integration suite (Node, 127.0.0.1): it answers with
 * a JSON description of exactly what it received, so tests inside workerd can
 * see what the gateway forwarded.
 *
 *   /slow?ms=N          wait N ms before sending response headers (504 tests)
 *   /set-cookies        answer with gateway-named Set-Cookie and hop-by-hop headers
 *   /redirect?to=X      302 to X; `{self}` in X becomes http://<the Host it received>
 *   /upload/<id>        count and hash the body; progress at /_control/progress/<id>
 *   /_control/progress/<id>   bytes received so far for an upload
 *   anything else       echo
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Echo } from '../support/echo.js';


export interface RunningUpstream {
  url: string;
  close(): Promise<void>;
}

export async function startUpstream(): Promise<RunningUpstream> {
  const progress = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const target = req.url ?? '';
    const path = target.split('?')[0] ?? '';

    if (path.startsWith('/_control/progress/')) {
      const id = path.slice('/_control/progress/'.length);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes: progress.get(id) ?? 0 }));
      return;
    }

    if (path === '/redirect') {
      // What an app does that builds absolute URLs from Host (the gateway sends the endpoint's).
      const to = (new URL(target, 'http://x').searchParams.get('to') ?? '/').replaceAll('{self}', `http://${req.headers.host ?? ''}`);
      res.writeHead(302, { location: to, 'content-length': '0' }).end();
      req.resume();
      return;
    }

    if (path === '/slow') {
      const ms = Number(new URL(target, 'http://x').searchParams.get('ms') ?? '5000');
      const timer = setTimeout(() => {
        if (!res.destroyed) res.writeHead(200, { 'content-type': 'text/plain' }).end('late');
      }, ms);
      res.on('close', () => clearTimeout(timer));
      req.resume();
      return;
    }

    const hash = createHash('sha256');
    let length = 0;
    const uploadId = path.startsWith('/upload/') ? path.slice('/upload/'.length) : undefined;
    if (uploadId) {
      progress.set(uploadId, 0);
      // Headers first, the summary when the body has ended: the proxy's header timeout never waits for an upload.
      res.writeHead(200, { 'content-type': 'application/json', 'x-app': 'upload' });
      res.flushHeaders();
    }
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
      if (uploadId) progress.set(uploadId, length);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      // No prototype: a client may send a field named `constructor` or `__proto__`.
      const headers = Object.create(null) as Record<string, string[]>;
      const rawHeaders: [string, string][] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i]!;
        const value = req.rawHeaders[i + 1]!;
        rawHeaders.push([name, value]);
        (headers[name.toLowerCase()] ??= []).push(value);
      }
      const echo: Echo = {
        method: req.method ?? '',
        target,
        rawHeaders,
        headers,
        bodyLength: length,
        bodySha256: hash.digest('hex'),
      };
      const body = JSON.stringify(echo);
      if (path === '/set-cookies') {
        // Flat raw-header list: repeated Set-Cookie lines, names exactly as given.
        res.writeHead(200, [
          'content-type', 'application/json',
          'set-cookie', 'tg_session=from-upstream; Path=/',
          'set-cookie', '__Host-tg_session=from-upstream; Path=/; Secure',
          'set-cookie', 'TG_NONCE=from-upstream; Path=/',
          'set-cookie', 'tg_auth=from-upstream',
          'set-cookie', 'app_cookie=kept; Path=/; HttpOnly',
          'connection', 'x-upstream-hop',
          'x-upstream-hop', 'must-not-reach-client',
          'keep-alive', 'timeout=5',
          'proxy-authenticate', 'Basic realm="x"',
          'upgrade', 'h2c',
          'tollgate-request-id', 'forged-by-upstream',
          'x-app', 'kept',
        ]);
        res.end(body);
        return;
      }
      if (uploadId) res.end(body);
      else res.writeHead(200, { 'content-type': 'application/json', 'x-app': 'echo' }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
