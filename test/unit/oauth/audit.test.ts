import { describe, expect, it } from 'vitest';
import { isAuditEvent, tokenEvent } from '../../../src/audit/index.js';
import { rowOf } from '../../../src/audit/store.js';

describe('token audit records', () => {
  const e = tokenEvent({
    id: 'e1', at: 1_700_000_000_123, requestId: 'r1', subject: 'service:svc', outcome: 'issued', grantType: 'client_credentials',
    clientId: 'svc', clientAuth: 'client_secret_basic', audience: 'inventory', workload: 'inventory', tokenType: 'access_token', jti: 'j', exp: 1_700_000_600,
  });

  it('travel through the queue consumer and land with kind "token"', () => {
    expect(isAuditEvent(JSON.parse(JSON.stringify(e)))).toBe(true);
    expect(isAuditEvent({ ...e, outcome: 'maybe' })).toBe(false);
    const row = rowOf(e);
    expect(row.slice(0, 5)).toEqual(['e1', 1_700_000_000, 'r1', 'token', 'service:svc']);
    expect(JSON.parse(row[7])).toMatchObject({ kind: 'token', outcome: 'issued', jti: 'j' });
  });

  it('drop undefined fields and cut long ones', () => {
    const long = tokenEvent({ id: 'e2', at: 0, requestId: 'r', subject: null, outcome: 'refused', grantType: 'token-exchange', target: `/${'x'.repeat(5000)}`, act: Array.from({ length: 20 }, (_, i) => `service:a${i}`) });
    expect(Object.keys(long)).not.toContain('clientId');
    expect(long.target!.length).toBe(2048);
    expect(long.act).toHaveLength(8);
  });
});
