/**
 * Token records (docs/services.md, "Audit"): every issuance at
 * `POST /oauth/token` and every refusal after the client was known — who (the
 * service principal), for which client, which grant, which target, and for an
 * issued token its `jti` and expiry. Never the token, a secret or an assertion.
 * Requests made with a bearer token are `decision` records with a subject of
 * kind `service`.
 */
import { AUDIT_EVENT_VERSION } from './events.js';

export interface TokenEvent {
  v: typeof AUDIT_EVENT_VERSION;
  id: string;
  kind: 'token';
  /** Epoch milliseconds. */
  at: number;
  requestId: string;
  /** The principal the token is (or would have been) for: `service:<id>`; null when unknown. */
  subject: string | null;
  outcome: 'issued' | 'refused';
  /** `client_credentials` or `token-exchange`. */
  grantType: string;
  clientId?: string;
  /** The authentication method of the client, when one authenticated. */
  clientAuth?: string;
  /** The issued token's `aud` (workload id, issuer, admin API). */
  audience?: string;
  workload?: string;
  tokenType?: 'access_token' | 'assertion';
  jti?: string;
  /** Epoch seconds. */
  exp?: number;
  /** Actor chain (current actor first), for delegation. */
  act?: string[];
  /** A federated subject: the trusted issuer's id and the external `sub`. */
  issuer?: string;
  externalSubject?: string;
  /** Assertions: the method and path+query they are bound to. */
  method?: string;
  target?: string;
  /** Refusals: the OAuth error and, after a policy deny, its reasons. */
  error?: string;
  reasons?: string[];
}

export type TokenEventFields = Omit<TokenEvent, 'v' | 'kind'>;

const clip = (s: string | undefined, max = 512) => (s === undefined ? undefined : s.slice(0, max));

/** Build a token record; long fields are cut, undefined ones dropped. */
export function tokenEvent(f: TokenEventFields): TokenEvent {
  const e: TokenEvent = { v: AUDIT_EVENT_VERSION, kind: 'token', id: f.id, at: f.at, requestId: f.requestId, subject: f.subject, outcome: f.outcome, grantType: f.grantType };
  const put = <K extends keyof TokenEvent>(k: K, v: TokenEvent[K] | undefined) => {
    if (v !== undefined) e[k] = v;
  };
  put('clientId', clip(f.clientId, 128));
  put('clientAuth', f.clientAuth);
  put('audience', clip(f.audience));
  put('workload', clip(f.workload, 256));
  put('tokenType', f.tokenType);
  put('jti', f.jti);
  put('exp', f.exp);
  put('act', f.act?.slice(0, 8).map((a) => a.slice(0, 256)));
  put('issuer', clip(f.issuer, 128));
  put('externalSubject', clip(f.externalSubject, 256));
  put('method', clip(f.method, 32));
  put('target', clip(f.target, 2048));
  put('error', f.error);
  put('reasons', f.reasons?.slice(0, 16));
  return e;
}
