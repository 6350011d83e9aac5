/**
 * Audit events (DESIGN §7): what the gateway puts on the record, and the one
 * place that turns a decision and its input into a record.
 *
 * A decision record keeps the NORMALISED DECISION INPUT — the facts the
 * evaluator saw, field by field from an allow-list — so a recorded decision can
 * be replayed against a candidate policy (src/admin/replay.ts). Nothing here
 * is copied wholesale from a request: no cookies, no Authorization header, no
 * assertion, no sign-in code; query parameters whose names look secret keep
 * their name and lose their value. Event ids make queue redelivery harmless
 * (the consumer inserts each id once).
 */
import type { Decision, DecisionInput, ReasonCode, TrustLevel } from '../policy/index.js';
import type { TokenEvent } from './token-events.js';

export const AUDIT_EVENT_VERSION = 1;

/** Record kinds. `change` records are written by the admin API in the same D1 batch as the change itself. */
export type AuditKind = 'decision' | 'sign-in' | 'sign-out' | 'revocation' | 'change' | 'token';
export const AUDIT_KINDS: readonly AuditKind[] = ['decision', 'sign-in', 'sign-out', 'revocation', 'change', 'token'];

export interface NormalisedInput {
  subject: { kind: 'user' | 'service'; id: string; sub: string; email?: string; groups: string[] };
  /** Roles that granted the request (the assertion's `roles`); empty on a deny. */
  roles: string[];
  device: { id: string; trust: TrustLevel } | null;
  auth: { amr?: string[]; acr?: string; authTime?: number } | null;
  request: { method: string; host: string; workload: string; path: string; query?: string; ip?: string; country?: string };
  /** Epoch seconds: the `now` the evaluator used. */
  time: number;
}

interface EventBase {
  v: typeof AUDIT_EVENT_VERSION;
  /** Random, unique per event: the consumer's idempotency key. */
  id: string;
  kind: AuditKind;
  /** Epoch milliseconds. */
  at: number;
  requestId: string;
  /** Tollgate subject ("user:<h>:<sub>" / "service:<id>"), null when nobody is known. */
  subject: string | null;
}

export interface DecisionEvent extends EventBase {
  kind: 'decision';
  sessionId?: string;
  device: { id: string; trust: string } | null;
  workload: string;
  host: string;
  method: string;
  path: string;
  decision: 'allow' | 'deny';
  reasons: ReasonCode[];
  roles: string[];
  matched?: Decision['matched'];
  failed?: Decision['failed'];
  /** The configuration version (D1 `meta.policy_version`) and a hash of the document the evaluator used. */
  policyVersion: string;
  policyHash?: string;
  /** The assertion's jti, on an allow that was forwarded. */
  jti?: string;
  /** Absent when there was no usable session (reason `no-session`). */
  input?: NormalisedInput;
  /** For `no-session`: why there was none (absent, expired, revoked, …). */
  session?: string;
  /** True when a field was cut to fit the record (such a record is not replayed). */
  truncated?: boolean;
}

export interface SessionEvent extends EventBase {
  kind: 'sign-in' | 'sign-out' | 'revocation';
  sessionId: string;
  /** The authority the event happened on (gateway origin or a workload host). */
  host: string;
  email?: string;
  groups?: string[];
  amr?: string[];
  acr?: string;
  authTime?: number;
  /** Revocations: who revoked (a Tollgate subject) and why, where known. */
  by?: string;
  reason?: string;
}

/** `token`: issuance at the token endpoint (src/audit/token-events.ts). */
export type AuditEvent = DecisionEvent | SessionEvent | TokenEvent;

// ---------------------------------------------------------------------------
// Normalisation

const MAX_PATH = 8192;
const MAX_QUERY = 2048;
const MAX_GROUPS = 256;
const MAX_FIELD = 512;
/** Query parameter names whose values are never recorded (tokens, codes, keys, signatures, …). */
const SECRET_PARAM = /token|code|secret|pass|pwd|key|sig|auth|session|jwt|assertion|credential|ticket|otp|nonce|state|cookie/i;
export const REDACTED = 'REDACTED';

function clip(value: string, max: number): { value: string; cut: boolean } {
  return value.length > max ? { value: value.slice(0, max), cut: true } : { value, cut: false };
}

/**
 * The query string with the values of secret-looking parameters replaced by
 * `REDACTED` (names kept, order kept). Policy never matches on the query, so
 * replay does not need the values; the audit trail must not hold credentials.
 */
export function redactQuery(query: string): string {
  if (query === '') return '';
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq === -1 ? pair : pair.slice(0, eq);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        // keep the raw name for the test below
      }
      if (eq === -1 || !SECRET_PARAM.test(name)) return pair;
      return `${rawName}=${REDACTED}`;
    })
    .join('&');
}

export interface DecisionRecordOptions {
  id: string;
  /** Epoch milliseconds. */
  at: number;
  requestId: string;
  host: string;
  sessionId?: string;
  policyVersion: string;
  jti?: string;
}

/** The decision record for an evaluated request. Copies only allow-listed facts; never throws on odd input. */
export function decisionEvent(input: DecisionInput, decision: Decision, o: DecisionRecordOptions): DecisionEvent {
  let truncated = false;
  const path = clip(String(input.request.path), MAX_PATH);
  truncated ||= path.cut;
  const s = input.subject;
  const groups = Array.isArray(s.groups) ? s.groups.filter((g): g is string => typeof g === 'string') : [];
  if (groups.length > MAX_GROUPS) truncated = true;
  const subject: NormalisedInput['subject'] = { kind: s.kind, id: String(s.id), sub: String(s.sub), groups: groups.slice(0, MAX_GROUPS) };
  if (typeof s.email === 'string') subject.email = clip(s.email, MAX_FIELD).value;

  const request: NormalisedInput['request'] = {
    method: clip(String(input.request.method), 32).value,
    host: o.host,
    workload: String(input.request.workload),
    path: path.value,
  };
  if (typeof input.request.query === 'string' && input.request.query.length > 0) {
    request.query = clip(redactQuery(input.request.query), MAX_QUERY).value;
  }
  if (typeof input.request.ip === 'string') request.ip = clip(input.request.ip, 64).value;
  if (typeof input.request.country === 'string') request.country = clip(input.request.country, 8).value;

  let auth: NormalisedInput['auth'] = null;
  if (input.auth) {
    auth = {};
    if (Array.isArray(input.auth.amr)) auth.amr = input.auth.amr.filter((a): a is string => typeof a === 'string').slice(0, 32).map((a) => clip(a, 64).value);
    if (typeof input.auth.acr === 'string') auth.acr = clip(input.auth.acr, MAX_FIELD).value;
    if (typeof input.auth.authTime === 'number' && Number.isFinite(input.auth.authTime)) auth.authTime = input.auth.authTime;
  }
  const device = input.device ? { id: clip(String(input.device.id), MAX_FIELD).value, trust: input.device.trust } : null;

  const normalised: NormalisedInput = { subject, roles: [...decision.roles], device, auth, request, time: input.now };
  const event: DecisionEvent = {
    v: AUDIT_EVENT_VERSION,
    id: o.id,
    kind: 'decision',
    at: o.at,
    requestId: o.requestId,
    subject: subject.id,
    device: device ? { id: device.id, trust: device.trust } : null,
    workload: request.workload,
    host: o.host,
    method: request.method,
    path: request.path,
    decision: decision.effect,
    reasons: [...decision.reasons],
    roles: [...decision.roles],
    policyVersion: o.policyVersion,
    input: normalised,
  };
  if (o.sessionId) event.sessionId = o.sessionId;
  if (decision.matched) event.matched = { ...decision.matched };
  if (decision.failed.length > 0) event.failed = decision.failed.map((f) => ({ roleId: f.roleId, grantId: f.grantId, reasons: [...f.reasons] }));
  if (o.jti) event.jti = o.jti;
  if (truncated) event.truncated = true;
  return event;
}

export interface NoSessionOptions {
  id: string;
  at: number;
  requestId: string;
  host: string;
  workload: string;
  method: string;
  path: string;
  policyVersion: string;
  /** absent | invalid | expired | idle-expired | wrong-host | revoked */
  session: string;
  /** The subject named by a cookie that opened but was refused (e.g. revoked), if any. */
  subject?: string;
  sessionId?: string;
}

/** A request on a workload host that never reached the evaluator: no usable session. */
export function noSessionEvent(o: NoSessionOptions): DecisionEvent {
  const path = clip(o.path, MAX_PATH);
  const event: DecisionEvent = {
    v: AUDIT_EVENT_VERSION,
    id: o.id,
    kind: 'decision',
    at: o.at,
    requestId: o.requestId,
    subject: o.subject ?? null,
    device: null,
    workload: o.workload,
    host: o.host,
    method: clip(o.method, 32).value,
    path: path.value,
    decision: 'deny',
    reasons: ['no-session'],
    roles: [],
    policyVersion: o.policyVersion,
    session: o.session,
  };
  if (o.sessionId) event.sessionId = o.sessionId;
  if (path.cut) event.truncated = true;
  return event;
}

/** The fields of a session event its caller supplies (the event's own, minus version and kind; a subject is always known). */
export type SessionEventOptions = Omit<SessionEvent, 'v' | 'kind' | 'subject'> & { subject: string };

/** Sign-in, sign-out or revocation: who, which session, where. Never a token or cookie. */
export function sessionEvent(kind: SessionEvent['kind'], o: SessionEventOptions): SessionEvent {
  const event: SessionEvent = {
    v: AUDIT_EVENT_VERSION,
    id: o.id,
    kind,
    at: o.at,
    requestId: o.requestId,
    subject: o.subject,
    sessionId: o.sessionId,
    host: o.host,
  };
  if (o.email) event.email = clip(o.email, MAX_FIELD).value;
  if (o.groups) event.groups = o.groups.slice(0, MAX_GROUPS);
  if (o.amr) event.amr = o.amr.slice(0, 32);
  if (o.acr) event.acr = clip(o.acr, MAX_FIELD).value;
  if (o.authTime !== undefined) event.authTime = o.authTime;
  if (o.by) event.by = o.by;
  if (o.reason) event.reason = clip(o.reason, MAX_FIELD).value;
  return event;
}

/** The DecisionInput a recorded decision was made on (replay). Null when the record has none to give. */
export function inputOf(record: Pick<DecisionEvent, 'input' | 'truncated'>): DecisionInput | null {
  const n = record.input;
  if (!n || record.truncated) return null;
  const out: DecisionInput = {
    subject: { kind: n.subject.kind, id: n.subject.id, sub: n.subject.sub, groups: [...n.subject.groups] },
    request: { workload: n.request.workload, method: n.request.method, path: n.request.path },
    now: n.time,
  };
  if (n.subject.email !== undefined) out.subject.email = n.subject.email;
  if (n.device) out.device = { id: n.device.id, trust: n.device.trust };
  if (n.auth) {
    out.auth = {};
    if (n.auth.amr) out.auth.amr = [...n.auth.amr];
    if (n.auth.acr !== undefined) out.auth.acr = n.auth.acr;
    if (n.auth.authTime !== undefined) out.auth.authTime = n.auth.authTime;
  }
  if (n.request.query !== undefined) out.request.query = n.request.query;
  if (n.request.ip !== undefined) out.request.ip = n.request.ip;
  if (n.request.country !== undefined) out.request.country = n.request.country;
  return out;
}
