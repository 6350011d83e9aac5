// Regenerate test/vectors/assertion.json: node test/vectors/generate-assertion.mjs > test/vectors/assertion.json
// Independent computation of token vectors with node:crypto (not the code under test).
import { createHash, createPrivateKey, sign } from 'node:crypto';
const b64u = (b) => Buffer.from(b).toString('base64url');
const subjects = [
  ['http://localhost:9400', 'alice'],
  ['https://accounts.google.com', '110169484474386276334'],
  ['https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0', 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ'],
  ['https://accounts.google.com/', 'trailing-slash-differs'],
  ['', 'empty-issuer'],
  ['https://idp.example/ünïcode', 'bob:with:colons'],
].map(([issuer, sub]) => ({ issuer, sub, expected: `user:${b64u(createHash('sha256').update(issuer, 'utf8').digest()).slice(0, 12)}:${sub}` }));

// RFC 8037 appendix A.1 Ed25519 key.
const rfcKey = { kty: 'OKP', crv: 'Ed25519', d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' };
const thumb = b64u(createHash('sha256').update(JSON.stringify({ crv: rfcKey.crv, kty: rfcKey.kty, x: rfcKey.x })).digest());
const header = { alg: 'EdDSA', kid: 'rfc8037-a1', typ: 'tollgate-assertion+jwt' };
const jtiBytes = Array.from({ length: 16 }, (_, i) => i);
const now = 1767225600123; // 2026-01-01T00:00:00.123Z
const input = {
  issuer: 'http://127.0.0.1:8787', audience: 'inventory', subject: subjects[0].expected, requestId: 'req-0001',
  method: 'GET', target: '/items?id=1&x=%2F', sessionId: 'sess-1', roles: ['reader', 'viewer'], email: 'alice@example.com',
  device: { id: 'dev-1', trust: 'high' }, endpoint: 'inventory-eu-1', ttlSeconds: 30,
};
const claims = {
  iss: input.issuer, aud: input.audience, sub: input.subject, iat: 1767225600, exp: 1767225630, jti: b64u(Uint8Array.from(jtiBytes)),
  rid: input.requestId, htm: input.method, htu: input.target, sid: input.sessionId, roles: input.roles,
  dev: input.device, ept: input.endpoint, email: input.email,
};
const signingInput = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
const sig = sign(null, Buffer.from(signingInput), createPrivateKey({ key: rfcKey, format: 'jwk' }));
const out = {
  description: 'Tollgate assertion vectors, computed independently with node:crypto (see test/unit/token). Ed25519 is deterministic, so the golden assertion is byte-exact.',
  userSubjects: subjects,
  rfc8037Key: { jwk: rfcKey, rfc7638Thumbprint: thumb, rfc7638ThumbprintFromRfc: 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k' },
  golden: { kid: header.kid, now, jtiBytes, input, header, claims, assertion: `${signingInput}.${b64u(sig)}` },
};
console.log(JSON.stringify(out, null, 2));
