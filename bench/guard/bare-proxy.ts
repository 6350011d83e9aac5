/**
 * The baseline for the guard: a bare node:http reverse proxy to the same app —
 * no verification, no header rewriting beyond what any proxy does (hop-by-hop
 * `connection` dropped), the same keep-alive agent settings as the guard.
 * UPSTREAM_PORT, PORT. Prints "READY <port>".
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const upstreamPort = Number(process.env.UPSTREAM_PORT);
const agent = new http.Agent({ keepAlive: true, scheduling: 'lifo' });
const server = http.createServer((req, res) => {
  const headers = { ...req.headers };
  delete headers.connection;
  const up = http.request({ agent, host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers }, (ures) => {
    res.writeHead(ures.statusCode ?? 502, ures.statusMessage, ures.headers);
    ures.pipe(res);
  });
  up.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(up);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
