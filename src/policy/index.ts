/**
 * CONTRACT STUB — the policy helper replaces the bodies; signatures are fixed
 * (other modules code against them). Pure: no HTTP, no storage, time passed in.
 */

export type TrustLevel = 'none' | 'low' | 'medium' | 'high';
export type Permission = 'admin' | 'auditor';

/** Closed set of kebab-case reason codes. */
export type ReasonCode =
  | 'allowed'
  | 'no-session'
  | 'unknown-workload'
  | 'no-matching-grant'
  | 'explicit-deny'
  | 'binding-expired'
  | 'binding-not-yet-valid'
  | 'device-untrusted'
  | 'mfa-required'
  | 'auth-too-old'
  | 'outside-time-window'
  | 'source-ip-not-allowed'
  | 'country-not-allowed'
  | 'evaluation-error';

export interface TimeWindow {
  /** 0 = Sunday … 6 = Saturday; absent = every day. */
  days?: number[];
  /** "HH:MM" inclusive start, "HH:MM" exclusive end, local to timeZone. */
  start: string;
  end: string;
  /** IANA time zone, e.g. "Europe/Berlin". */
  timeZone: string;
}

export interface Conditions {
  minDeviceTrust?: TrustLevel;
  /** Require MFA: amr contains one of "mfa","otp","hwk","swk","fpt" … or acr in `acr`. */
  mfa?: boolean;
  acr?: string[];
  maxAuthAgeSeconds?: number;
  timeWindows?: TimeWindow[];
  sourceCidrs?: string[];
  countries?: string[];
}

export interface Grant {
  id: string;
  /** Workload id, or a glob ("*", "inv-*"). */
  workload: string;
  /** HTTP methods, upper case; "*" = any. */
  methods: string[];
  /** Path globs matched on the exact path the workload receives: "*" one segment, "**" any. */
  paths: string[];
  conditions?: Conditions;
}

export interface Role {
  id: string;
  description?: string;
  grants: Grant[];
  permissions: Permission[];
}

export type BindingSubject =
  | { kind: 'user'; value: string }      // IdP `sub` or Tollgate subject "user:<h>:<sub>"
  | { kind: 'email'; value: string }
  | { kind: 'group'; value: string }
  | { kind: 'service'; value: string };

export interface Binding {
  id: string;
  subject: BindingSubject;
  roleId: string;
  /** Epoch seconds. */
  notBefore?: number;
  expiresAt?: number;
  reason?: string;
}

export interface DenyRule {
  id: string;
  subjects: { everyone?: boolean; users?: string[]; emails?: string[]; groups?: string[]; services?: string[] };
  workload: string;
  methods?: string[];
  paths?: string[];
  /** The rule applies only when all of these conditions HOLD (e.g. deny when trust < high is expressed
   *  by the evaluator as "applies when the condition fails"; see docs/policy.md). */
  conditions?: Conditions;
  reason?: string;
}

export interface PolicyDocument {
  roles: Role[];
  bindings: Binding[];
  denyRules: DenyRule[];
}

export interface DecisionInput {
  subject: {
    kind: 'user' | 'service';
    /** Tollgate subject: "user:<h>:<sub>" or "service:<id>". */
    id: string;
    /** The IdP's raw `sub` (users) or the service id. */
    sub: string;
    email?: string;
    groups: string[];
  };
  device?: { id: string; trust: TrustLevel };
  auth?: { amr?: string[]; acr?: string; authTime?: number };
  request: {
    workload: string;
    method: string;
    /** Exactly as the workload will receive it (no decoding). */
    path: string;
    query?: string;
    ip?: string;
    country?: string;
  };
  /** Epoch seconds. */
  now: number;
}

export interface Decision {
  effect: 'allow' | 'deny';
  reasons: ReasonCode[];
  /** Roles whose grants allowed this request (empty on deny). */
  roles: string[];
  /** What decided: the allowing grant, or the deny rule. */
  matched?: { kind: 'grant'; roleId: string; grantId: string } | { kind: 'deny-rule'; ruleId: string };
  /** For a deny: grants that matched the target but whose conditions failed, and why. */
  failed: { roleId: string; grantId: string; reasons: ReasonCode[] }[];
  /** Assertion TTL in seconds for an allow. */
  ttl: number;
}

/** Compiled, indexed, immutable view of a PolicyDocument. */
export interface Snapshot {
  readonly version: string;
}

export interface CompileOptions {
  version?: string;
  /** Default assertion TTL, seconds (default 30, max 60). */
  assertionTtl?: number;
}

/** Compile a policy document into an indexed snapshot. Throws TollgateError('config-invalid') on a bad document. */
export function compile(_doc: PolicyDocument, _options: CompileOptions = {}): Snapshot {
  throw new Error('not implemented');
}

/** Decide. Pure and total: never throws; any internal error is a deny with 'evaluation-error'. */
export function evaluate(_snapshot: Snapshot, _input: DecisionInput): Decision {
  throw new Error('not implemented');
}

/** Admin permissions the subject holds through its (currently valid) bindings. */
export function permissionsOf(_snapshot: Snapshot, _subject: DecisionInput['subject'], _now: number): Permission[] {
  throw new Error('not implemented');
}
