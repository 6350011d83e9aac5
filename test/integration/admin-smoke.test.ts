import { beforeAll, describe, expect, it } from 'vitest';
import { call, seedAdminRoles } from './support/admin.js';

beforeAll(seedAdminRoles);

describe('admin smoke', () => {
  it('lists roles, creates and updates a binding', async () => {
    const list = await call('GET', '/roles');
    const text = await list.text();
    expect(list.status, text).toBe(200);
    const created = await call('POST', '/bindings', { body: { subject: { kind: 'group', value: 'x' }, role_id: 'billing-user' } });
    const ct = await created.text();
    expect(created.status, ct).toBe(201);
    const b = JSON.parse(ct);
    const up = await call('PUT', `/bindings/${b.id}`, { body: { ...b, version: undefined, reason: 'r' }, ifMatch: created.headers.get('etag')! });
    expect(up.status, await up.text()).toBe(200);
    const doc = await call('GET', '/openapi.json', { token: null });
    expect(doc.status).toBe(200);
    const docs = await call('GET', '/docs', { token: null });
    expect(docs.status).toBe(200);
  });
});
