/**
 * The app behind the guard (and behind the bare proxy): node:http, 200 with a
 * small JSON echo of the identity headers, like ../shared/peers/upstream.mjs.
 * Prints "READY <port>" on stdout. Loopback only.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const server = http.createServer((req, res) => {
  const body = JSON.stringify({ ok: true, path: req.url, user: req.headers['tollgate-user'] ?? null, roles: req.headers['tollgate-roles'] ?? null });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.maxRequestsPerSocket = 0;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
