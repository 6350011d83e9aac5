/**
 * External token issuers for the integration suite (Node, 127.0.0.1): each
 * name under the base URL is an issuer with OIDC discovery and a JWKS that
 * the workerd side sets and inspects. The workerd side signs its own tokens.
 *
 *   GET /<name>/.well-known/openid-configuration   {issuer: <base>/<name>, jwks_uri: <base>/<name>/jwks}
 *   GET /<name>/jwks                                the current JWKS (counts fetches)
 *   PUT /<name>/jwks                                replace the JWKS (JSON body)
 *   PUT /<name>/status                              {"status": 503} makes the JWKS answer that status
 *   GET /<name>/stats                               {"fetches": n}
 *   GET /<name>/redirect                            302 to <base>/<name>/jwks (must never be followed)
 *   GET /liar/.well-known/openid-configuration      names another issuer
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RunningIssuers {
  url: string;
  close(): Promise<void>;
}

export async function startFakeIssuers(): Promise<RunningIssuers> {
  const state = new Map<string, { jwks: unknown; fetches: number; status: number }>();
  const of = (name: string) => {
    let s = state.get(name);
    if (!s) state.set(name, (s = { jwks: { keys: [] }, fetches: 0, status: 200 }));
    return s;
  };
  let base = '';
  const server = http.createServer((req, res) => {
    const [, name = '', ...rest] = (req.url ?? '').split('?')[0]!.split('/');
    const path = `/${rest.join('/')}`;
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body === undefined ? undefined : JSON.stringify(body));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s = of(name);
      if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
        return send(200, { issuer: name === 'liar' ? 'https://accounts.example.com' : `${base}/${name}`, jwks_uri: `${base}/${name}/jwks` });
      }
      if (req.method === 'GET' && path === '/jwks') {
        s.fetches++;
        return s.status === 200 ? send(200, s.jwks) : send(s.status, { error: 'down' });
      }
      if (req.method === 'PUT' && path === '/jwks') {
        s.jwks = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        return send(204, undefined);
      }
      if (req.method === 'PUT' && path === '/status') {
        s.status = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { status: number }).status;
        return send(204, undefined);
      }
      if (req.method === 'GET' && path === '/stats') return send(200, { fetches: s.fetches });
      if (req.method === 'GET' && path === '/redirect') return send(302, undefined, { location: `${base}/${name}/jwks` });
      return send(404, { error: 'not found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
