/**
 * /admin/v1/service-accounts: the secret is shown once and stored only as a
 * hash; ETag / If-Match; rotation with an overlap; disable / enable; delete;
 * validation; permissions; audit records without secrets.
 */
import { env } from 'cloudflare:workers';
import { exportJWK, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditorToken, call, changeRecords, expectProblem, seedAdminRoles } from './support/admin.js';
import { GATEWAY_ORIGIN } from './support/constants.js';
import { basic, bind, clientToken, createAccount, tokenRequest } from './support/services.js';

beforeAll(seedAdminRoles);

describe('service accounts (admin API)', () => {
  it('create: 201 with Location, ETag and the secret once; read never shows it; D1 holds only its SHA-256', async () => {
    const res = await call('POST', '/service-accounts', { body: { id: 'svc-crud', name: 'CRUD', description: 'test', rate_limit_per_minute: 30 } });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe('/admin/v1/service-accounts/svc-crud');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const created = (await res.json()) as Record<string, unknown>;
    expect(created).toMatchObject({
      id: 'svc-crud', client_id: 'svc-crud', name: 'CRUD', disabled: false, expires_at: null, rate_limit_per_minute: 30,
      token_endpoint_auth_methods: ['client_secret_basic', 'client_secret_post'], jwks: null,
    });
    const secret = String(created.client_secret);
    expect(secret).toMatch(/^tgs_[A-Za-z0-9_-]{43}$/);
    expect(res.headers.get('etag')).toBe(`"${created.version}"`);

    const got = await call('GET', '/service-accounts/svc-crud');
    const text = await got.text();
    expect(got.status).toBe(200);
    expect(text).not.toContain(secret);
    expect(JSON.parse(text)).not.toHaveProperty('client_secret');
    expect(JSON.parse(text).secret).toMatchObject({ previous_expires_at: null });

    const row = await env.DB.prepare('SELECT * FROM service_accounts WHERE id = ?').bind('svc-crud').first<Record<string, unknown>>();
    expect(JSON.stringify(row)).not.toContain(secret);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(secret)));
    expect(row!.secret_hash).toBe(btoa(String.fromCharCode(...digest)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));

    const records = (await changeRecords()).filter((r) => r.data.resource === 'service-account' && r.data.id === 'svc-crud');
    expect(records).toHaveLength(1);
    expect(JSON.stringify(records)).not.toContain(secret);
    expect(JSON.stringify(records)).not.toContain(String(row!.secret_hash));

    const list = (await (await call('GET', '/service-accounts?limit=200')).json()) as { items: { id: string }[] };
    expect(list.items.map((i) => i.id)).toContain('svc-crud');
    await expectProblem(await call('POST', '/service-accounts', { body: { id: 'svc-crud' } }), 409, 'conflict');
  });

  it('update needs If-Match (428 / 412); fields left out keep their value', async () => {
    const a = await createAccount('svc-up', { name: 'before' });
    await expectProblem(await call('PUT', '/service-accounts/svc-up', { body: { description: 'x' } }), 428, 'precondition-required');
    await expectProblem(await call('PUT', '/service-accounts/svc-up', { body: { description: 'x' }, ifMatch: '"1"' }), 412, 'precondition-failed');
    const up = await call('PUT', '/service-accounts/svc-up', { body: { description: 'after' }, ifMatch: a.etag });
    expect(up.status).toBe(200);
    expect(await up.json()).toMatchObject({ name: 'before', description: 'after' });
    expect(up.headers.get('etag')).not.toBe(a.etag);
    await expectProblem(await call('PUT', '/service-accounts/nobody', { body: {}, ifMatch: a.etag }), 404, 'not-found');
    await expectProblem(await call('PUT', '/service-accounts/svc-up', { body: { id: 'other' }, ifMatch: up.headers.get('etag')! }), 400, 'bad-request');
  });

  it('rotation: a new secret once; the old one works until the given time; no overlap by default', async () => {
    const a = await createAccount('svc-rot');
    const until = Math.floor(Date.now() / 1000) + 3600;
    const r = await call('POST', '/service-accounts/svc-rot/rotate-secret', { body: { previous_secret_expires_at: until }, ifMatch: a.etag });
    const body = (await r.json()) as { client_secret: string; secret: { previous_expires_at: number } };
    expect(r.status).toBe(200);
    expect(body.client_secret).not.toBe(a.secret);
    expect(body.secret.previous_expires_at).toBe(until);
    await clientToken({ id: 'svc-rot', secret: a.secret });
    await clientToken({ id: 'svc-rot', secret: body.client_secret });
    const again = await call('POST', '/service-accounts/svc-rot/rotate-secret', { ifMatch: r.headers.get('etag')!, body: {} });
    const third = (await again.json()) as { client_secret: string };
    expect(again.status).toBe(200);
    expect((await tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc-rot', body.client_secret) })).status).toBe(401);
    expect((await tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc-rot', a.secret) })).status).toBe(401);
    await clientToken({ id: 'svc-rot', secret: third.client_secret });
    await expectProblem(await call('POST', '/service-accounts/svc-rot/rotate-secret', { body: { previous_secret_expires_at: until + 90 * 86400 }, ifMatch: again.headers.get('etag')! }), 422, 'policy-invalid');
  });

  it('disable, enable: no tokens while disabled; old tokens stay dead after enabling', async () => {
    const a = await createAccount('svc-toggle');
    const old = await clientToken(a);
    const off = await call('PUT', '/service-accounts/svc-toggle', { body: { disabled: true }, ifMatch: a.etag });
    expect(off.status).toBe(200);
    expect((await tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic(a.id, a.secret) })).status).toBe(401);
    await new Promise((r) => setTimeout(r, 1100));
    const on = await call('PUT', '/service-accounts/svc-toggle', { body: { disabled: false }, ifMatch: off.headers.get('etag')! });
    expect(on.status).toBe(200);
    await clientToken(a);
    const ex = await tokenRequest({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: old, subject_token_type: 'urn:ietf:params:oauth:token-type:access_token' });
    expect(ex.status).toBe(400);
    const actions = (await changeRecords()).filter((r) => r.data.id === 'svc-toggle').map((r) => r.data.action);
    expect(actions).toEqual(['create', 'disable', 'enable']);
  });

  it('private_key_jwt keys: public only; private_key_jwt needs keys; expiry in the future', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const pub = { ...(await exportJWK(publicKey)), kid: 'k' };
    const priv = { ...(await exportJWK(privateKey)), kid: 'k' };
    const ok = await call('POST', '/service-accounts', { body: { id: 'svc-keys', jwks: { keys: [pub] } } });
    expect(ok.status).toBe(201);
    expect(await ok.json()).toMatchObject({ token_endpoint_auth_methods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] });
    const bad = await expectProblem(await call('POST', '/service-accounts', { body: { id: 'svc-priv', jwks: { keys: [priv] } } }), 422, 'policy-invalid');
    expect(bad.errors?.[0]?.pointer).toBe('/jwks/keys/0');
    await expectProblem(await call('POST', '/service-accounts', { body: { id: 'svc-nokeys', token_endpoint_auth_methods: ['private_key_jwt'] } }), 422, 'policy-invalid');
    await expectProblem(await call('POST', '/service-accounts', { body: { id: 'svc-past', expires_at: 1000 } }), 422, 'policy-invalid');
    await expectProblem(await call('POST', '/service-accounts', { body: { id: 'svc-x', secret: 'mine' } }), 400, 'bad-request');
    await expectProblem(await call('POST', '/service-accounts', { body: { id: 'bad id' } }), 400, 'bad-request');
    await expectProblem(await call('POST', '/service-accounts', { body: { id: 'svc-hmac', jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'h' }] } } }), 422, 'policy-invalid');
  });

  it('auditors read, only admins write; delete needs If-Match', async () => {
    const a = await createAccount('svc-perm');
    const auditor = await auditorToken();
    expect((await call('GET', '/service-accounts/svc-perm', { token: auditor })).status).toBe(200);
    await expectProblem(await call('POST', '/service-accounts', { token: auditor, body: { id: 'svc-no' } }), 403, 'forbidden');
    await expectProblem(await call('GET', '/service-accounts', { token: null }), 401, 'unauthenticated');
    await expectProblem(await call('DELETE', '/service-accounts/svc-perm'), 428, 'precondition-required');
    expect((await call('DELETE', '/service-accounts/svc-perm', { ifMatch: a.etag })).status).toBe(204);
    await expectProblem(await call('GET', '/service-accounts/svc-perm'), 404, 'not-found');
    const m = await call('PATCH', '/service-accounts/svc-perm', { body: {} });
    expect(m.status).toBe(405);
  });

  it('a service holding an admin permission gets an admin API token; disabling the account stops it at once', async () => {
    const ops = await createAccount('svc-ops');
    await bind('svc-ops', 'tg-auditor');
    const t = await clientToken(ops, { resource: `${GATEWAY_ORIGIN}/admin/v1` });
    expect((await call('GET', '/roles', { token: t })).status).toBe(200);
    await expectProblem(await call('POST', '/service-accounts', { token: t, body: { id: 'svc-nope' } }), 403, 'forbidden');
    const nobody = await createAccount('svc-nobody');
    expect((await tokenRequest({ grant_type: 'client_credentials', resource: `${GATEWAY_ORIGIN}/admin/v1` }, { authorization: basic(nobody.id, nobody.secret) })).status).toBe(400);
    expect((await call('PUT', '/service-accounts/svc-ops', { body: { disabled: true }, ifMatch: ops.etag })).status).toBe(200);
    await expectProblem(await call('GET', '/roles', { token: t }), 401, 'unauthenticated');
  });

  it('the OpenAPI document describes the new resources', async () => {
    const doc = (await (await call('GET', '/openapi.json', { token: null })).json()) as { paths: Record<string, unknown> };
    for (const p of ['/admin/v1/service-accounts', '/admin/v1/service-accounts/{id}', '/admin/v1/service-accounts/{id}/rotate-secret', '/admin/v1/trusted-issuers', '/admin/v1/trusted-issuers/{id}']) {
      expect(doc.paths).toHaveProperty([p]);
    }
  });
});
