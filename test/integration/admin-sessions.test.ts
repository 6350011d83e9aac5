/**
 * Sessions through the admin API: list by user, get (ETag), revoke one
 * (DELETE with If-Match) or all of a user's (POST /sessions:revoke). A
 * revocation holds at once (RevocationLedger), marks the D1 row and writes one
 * audit record per session actually revoked.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { ledgerClient, type RevocationLedger } from '../../src/revocation/index.js';
import { userSubject } from '../../src/token/index.js';
import { IDP_ISSUER, auditorToken, call, changeRecords, expectProblem, seedAdminRoles } from './support/admin.js';
import { API, gw, signIn, testCodec } from './support/client.js';
import { GATEWAY_ORIGIN } from './support/constants.js';

beforeAll(seedAdminRoles);

const sidOf = async (cookie: string) => (await (await testCodec()).open<{ sid: string }>('session', cookie, Math.floor(Date.now() / 1000)))!.sid;
const whoami = (cookie: string) => gw(`${GATEWAY_ORIGIN}/auth/whoami`, { headers: { ...API, cookie: `tg_session=${cookie}` } });

interface WireSession {
  id: string;
  subject: string;
  email: string | null;
  active: boolean;
  revoked_at: number | null;
  version: number;
}

describe('sessions', () => {
  let alice1 = '';
  let alice2 = '';
  let bob = '';
  let aliceSubject = '';

  beforeAll(async () => {
    alice1 = await signIn('alice');
    alice2 = await signIn('alice');
    bob = await signIn('bob');
    aliceSubject = await userSubject(IDP_ISSUER, 'alice');
  });

  it('lists a user’s sessions (auditor may) and gets one with its ETag', async () => {
    const res = await call('GET', `/sessions?subject=${encodeURIComponent(aliceSubject)}`, { token: await auditorToken() });
    expect(res.status).toBe(200);
    const page = (await res.json()) as { items: WireSession[]; next_cursor: string | null };
    const ids = [await sidOf(alice1), await sidOf(alice2)].sort();
    expect(page.items.map((s) => s.id).sort()).toEqual(ids);
    for (const s of page.items) expect(s).toMatchObject({ subject: aliceSubject, email: 'alice@example.com', active: true, revoked_at: null, version: 1 });
    const one = await call('GET', `/sessions/${ids[0]}`);
    expect(one.headers.get('etag')).toBe('"1"');
    await expectProblem(await call('GET', '/sessions/unknown-session'), 404, 'not-found');
    await expectProblem(await call('GET', '/sessions/bad%20id'), 400, 'bad-request');
  });

  it('revokes one session: 428 without If-Match, 412 stale; then it is refused everywhere and recorded once', async () => {
    const sid = await sidOf(alice1);
    await expectProblem(await call('DELETE', `/sessions/${sid}`), 428, 'precondition-required');
    await expectProblem(await call('DELETE', `/sessions/${sid}`, { ifMatch: '"2"' }), 412, 'precondition-failed');
    expect((await whoami(alice1)).status).toBe(200);
    const recs = (await changeRecords()).length;

    const res = await call('DELETE', `/sessions/${sid}`, { ifMatch: '"1"' });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"2"');
    expect(await res.json()).toMatchObject({ id: sid, active: false, version: 2 });
    expect((await whoami(alice1)).status).toBe(401);
    expect((await whoami(alice2)).status).toBe(200);
    expect(await ledgerClient(env.REVOCATIONS as DurableObjectNamespace<RevocationLedger>).isRevoked(sid)).toBe(true);
    expect(await env.DB.prepare('SELECT revoked_at FROM sessions WHERE id = ?').bind(sid).first('revoked_at')).toBeGreaterThan(0);

    const after = (await changeRecords()).slice(recs);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ kind: 'revocation', data: { action: 'revoke', resource: 'session', id: sid } });

    // Again with the current ETag: a no-op, no second record.
    expect((await call('DELETE', `/sessions/${sid}`, { ifMatch: '"2"' })).status).toBe(200);
    expect((await changeRecords()).length).toBe(recs + 1);
    const active = (await (await call('GET', `/sessions?active=true&subject=${encodeURIComponent(aliceSubject)}`)).json()) as { items: WireSession[] };
    expect(active.items.map((s) => s.id)).toEqual([await sidOf(alice2)]);
  });

  it('revokes all of a user’s sessions, and only theirs', async () => {
    const recs = (await changeRecords()).length;
    const res = await call('POST', '/sessions:revoke', { body: { subject: aliceSubject } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ subject: aliceSubject, revoked: [await sidOf(alice2)] });
    expect((await whoami(alice2)).status).toBe(401);
    expect((await whoami(bob)).status).toBe(200);
    expect((await changeRecords()).length).toBe(recs + 1);
    const again = await call('POST', '/sessions:revoke', { body: { subject: aliceSubject } });
    expect(await again.json()).toEqual({ subject: aliceSubject, revoked: [] });
    await expectProblem(await call('POST', '/sessions:revoke', { body: { user: aliceSubject } }), 400, 'bad-request');
  });

  it('the auditor cannot revoke', async () => {
    const sid = await sidOf(bob);
    await expectProblem(await call('DELETE', `/sessions/${sid}`, { token: await auditorToken(), ifMatch: '"1"' }), 403, 'forbidden');
    expect((await whoami(bob)).status).toBe(200);
  });
});
