import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED, decisionEvent, inputOf, noSessionEvent, redactQuery, sessionEvent } from '../../../src/audit/index.js';
import { compile, evaluate, type DecisionInput } from '../../../src/policy/index.js';

const NOW = 1_767_780_000;
const opts = { id: 'evt-1', at: NOW * 1000 + 123, requestId: 'rid-1', host: 'inventory.localhost:8787', sessionId: 'sid-1', policyVersion: '7', jti: 'jti-1' };

function fullInput(): DecisionInput {
  return {
    subject: { kind: 'user', id: 'user:h4sh:alice', sub: 'alice', email: 'alice@example.com', groups: ['engineering', 'sre'] },
    device: { id: 'dev-1', trust: 'high' },
    auth: { amr: ['pwd', 'otp'], acr: 'urn:gold', authTime: NOW - 60 },
    request: { workload: 'inventory', method: 'GET', path: '/items/1', query: 'q=1&access_token=abc.def.ghi&page=2', ip: '10.0.0.1', country: 'DE' },
    now: NOW,
  };
}

const doc = {
  roles: [{ id: 'reader', permissions: [], grants: [{ id: 'read', workload: 'inventory', methods: ['GET'], paths: ['/items/**'] }] }],
  bindings: [{ id: 'b', subject: { kind: 'group' as const, value: 'engineering' }, roleId: 'reader' }],
  denyRules: [],
};

describe('decision record', () => {
  it('carries every field DESIGN §7 lists, and the normalised input', () => {
    const input = fullInput();
    const d = evaluate(compile(doc), input);
    const e = decisionEvent(input, d, opts);
    expect(e).toEqual({
      v: 1,
      id: 'evt-1',
      kind: 'decision',
      at: NOW * 1000 + 123,
      requestId: 'rid-1',
      subject: 'user:h4sh:alice',
      sessionId: 'sid-1',
      device: { id: 'dev-1', trust: 'high' },
      workload: 'inventory',
      host: 'inventory.localhost:8787',
      method: 'GET',
      path: '/items/1',
      decision: 'allow',
      reasons: ['allowed'],
      roles: ['reader'],
      matched: { kind: 'grant', roleId: 'reader', grantId: 'read' },
      policyVersion: '7',
      jti: 'jti-1',
      input: {
        subject: { kind: 'user', id: 'user:h4sh:alice', sub: 'alice', email: 'alice@example.com', groups: ['engineering', 'sre'] },
        roles: ['reader'],
        device: { id: 'dev-1', trust: 'high' },
        auth: { amr: ['pwd', 'otp'], acr: 'urn:gold', authTime: NOW - 60 },
        request: { method: 'GET', host: 'inventory.localhost:8787', workload: 'inventory', path: '/items/1', query: `q=1&access_token=${REDACTED}&page=2`, ip: '10.0.0.1', country: 'DE' },
        time: NOW,
      },
    });
  });

  it('a deny keeps the failed grants', () => {
    const input = { ...fullInput(), request: { ...fullInput().request, method: 'DELETE' } };
    const e = decisionEvent(input, evaluate(compile(doc), input), opts);
    expect(e).toMatchObject({ decision: 'deny', reasons: ['no-matching-grant'], roles: [] });
    expect(e.failed).toBeUndefined();
  });

  it('copies only allow-listed fields: extra properties on the input never reach the record', () => {
    const input = fullInput() as DecisionInput & Record<string, unknown>;
    (input as Record<string, unknown>).cookie = 'tg_session=SEALED';
    (input.subject as Record<string, unknown>).token = 'bearer-xyz';
    (input.request as Record<string, unknown>).headers = { authorization: 'Bearer secret-token' };
    (input.auth as Record<string, unknown>).idToken = 'eyJ.secret';
    const text = JSON.stringify(decisionEvent(input, evaluate(compile(doc), input), opts));
    for (const secret of ['SEALED', 'bearer-xyz', 'secret-token', 'eyJ.secret', 'abc.def.ghi']) expect(text).not.toContain(secret);
  });

  it('property: no value of a secret-named query parameter is ever recorded, and the input round-trips for replay', () => {
    const secretNames = ['access_token', 'id_token', 'code', 'client_secret', 'password', 'api_key', 'X-Amz-Signature', 'session', 'state', 'auth'];
    fc.assert(
      fc.property(
        // Distinct values of one length: a secret's value is never part of another parameter's (which may be kept).
        fc.uniqueArray(fc.tuple(fc.oneof(fc.constantFrom(...secretNames), fc.constantFrom('q', 'page', 'sort')), fc.stringMatching(/^[A-Za-z0-9]{16}$/)), {
          maxLength: 6,
          selector: ([, v]) => v,
        }),
        (pairs) => {
          const query = pairs.map(([k, v]) => `${k}=${v}`).join('&');
          const input = { ...fullInput(), request: { ...fullInput().request, query } };
          const e = decisionEvent(input, evaluate(compile(doc), input), opts);
          const text = JSON.stringify(e);
          for (const [k, v] of pairs) if (secretNames.includes(k)) expect(text).not.toContain(v);
          // Replay gets back exactly what the evaluator decides on.
          const back = inputOf(e)!;
          expect(evaluate(compile(doc), back)).toEqual(evaluate(compile(doc), input));
        },
      ),
    );
  });

  it('redacts by parameter name, percent-encoded names included; keeps order and flags', () => {
    expect(redactQuery('a=1&Token=x&b&%63ode=y&refresh_token=z')).toBe(`a=1&Token=${REDACTED}&b&%63ode=${REDACTED}&refresh_token=${REDACTED}`);
    expect(redactQuery('')).toBe('');
  });

  it('a cut path marks the record truncated, and replay skips it', () => {
    const input = { ...fullInput(), request: { ...fullInput().request, path: '/' + 'a'.repeat(9000) } };
    const e = decisionEvent(input, evaluate(compile(doc), input), opts);
    expect(e.truncated).toBe(true);
    expect(e.path.length).toBe(8192);
    expect(inputOf(e)).toBeNull();
  });

  it('a minimal input (no device, auth, ip) round-trips', () => {
    const input: DecisionInput = { subject: { kind: 'service', id: 'service:ci', sub: 'ci', groups: [] }, request: { workload: 'inventory', method: 'GET', path: '/' }, now: NOW };
    const e = decisionEvent(input, evaluate(compile(doc), input), opts);
    expect(e.device).toBeNull();
    expect(e.input!.auth).toBeNull();
    expect(inputOf(e)).toEqual(input);
  });
});

describe('other records', () => {
  it('no-session: no input, the refusal named', () => {
    const e = noSessionEvent({ id: 'e', at: 1, requestId: 'r', host: 'h', workload: 'w', method: 'GET', path: '/x', policyVersion: '3', session: 'revoked', subject: 'user:h:bob', sessionId: 's' });
    expect(e).toMatchObject({ kind: 'decision', decision: 'deny', reasons: ['no-session'], session: 'revoked', subject: 'user:h:bob' });
    expect(e.input).toBeUndefined();
    expect(inputOf(e)).toBeNull();
  });

  it('sign-in / sign-out / revocation carry who and which session, nothing else', () => {
    const e = sessionEvent('sign-in', { id: 'e', at: 1, requestId: 'r', host: '127.0.0.1:8787', subject: 'user:h:alice', sessionId: 's1', email: 'a@x', groups: ['g'], amr: ['pwd'], authTime: 5 });
    expect(e).toEqual({ v: 1, id: 'e', kind: 'sign-in', at: 1, requestId: 'r', subject: 'user:h:alice', sessionId: 's1', host: '127.0.0.1:8787', email: 'a@x', groups: ['g'], amr: ['pwd'], authTime: 5 });
    expect(sessionEvent('revocation', { id: 'e', at: 1, requestId: 'r', host: 'h', subject: 's', sessionId: 'x', by: 'user:h:admin', reason: 'sign-out' })).toMatchObject({ kind: 'revocation', by: 'user:h:admin' });
  });
});
