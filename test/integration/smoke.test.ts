import { describe, expect, it } from 'vitest';
import { GATEWAY_ORIGIN, INVENTORY } from './support/constants.js';
import { API, NAVIGATE, gw, hostSession, signIn } from './support/client.js';

describe('smoke', () => {
  it('jwks', async () => {
    const res = await gw(`${GATEWAY_ORIGIN}/.well-known/jwks.json`);
    console.log(res.status, await res.text());
  });
  it('signs in and proxies', async () => {
    const s = await signIn('alice');
    const h = await hostSession(s, INVENTORY, '/x?y=1');
    const res = await gw(`http://${INVENTORY}/x?y=1`, { headers: { ...API, cookie: `tg_session=${h}` } });
    console.log(res.status, await res.text());
    expect(res.status).toBe(200);
  });
});
