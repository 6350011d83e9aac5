/**
 * explain(source, input): the decision plus why — which bindings select the
 * subject (and whether each is valid, expired or not yet valid), which grants of
 * the bound roles cover the workload (method, path, every condition passed or
 * failed), and which deny rules name the workload (subject, target, scope and
 * requirement conditions, applies or not).
 *
 * Pure, like `evaluate`, but not on the hot path: it walks the uncompiled
 * document (the compiled snapshot is opaque) with the same matchers
 * (glob.ts, time.ts, cidr.ts). The decision it returns is `evaluate()`'s own,
 * never a re-derivation; a property test checks that the explanation leads to
 * the same effect and reasons (test/unit/policy/explain.test.ts).
 */
import { cidrContains, parseAddress, parseCidr, type Address } from './cidr.js';
import { compileMethods, compilePathGlobs, compileWorkloadPattern, pathInfo } from './glob.js';
import {
  evaluate,
  sortReasons,
  type Binding,
  type BindingSubject,
  type Conditions,
  type Decision,
  type DecisionInput,
  type PolicyDocument,
  type ReasonCode,
  type Snapshot,
  type TrustLevel,
} from './index.js';
import { compileWindow, inWindow } from './time.js';

/** A compiled snapshot and the document it was compiled from (the gateway's snapshot has both). */
export interface ExplainSource {
  policy: Snapshot;
  document: PolicyDocument;
  /** Is the workload in the catalog? Give it when the snapshot was compiled with `CompileOptions.workloads`. */
  knownWorkload?: (id: string) => boolean;
}

export type ConditionName = 'minDeviceTrust' | 'mfa' | 'maxAuthAgeSeconds' | 'timeWindows' | 'sourceCidrs' | 'countries';

export interface ConditionCheck {
  condition: ConditionName;
  /** The condition as written in the policy (`mfa` carries `{mfa, acr}`). */
  required: unknown;
  /** The fact it was checked against (trust level, amr/acr, auth age in seconds, ip, country, time). */
  actual: unknown;
  /** Grant conditions and deny requirements: met. Deny scope conditions: the request is inside the scope. */
  passed: boolean;
  /** The reason code a failing grant condition (or unmet deny requirement) reports. */
  reason?: ReasonCode;
}

export type BindingStatus = 'valid' | 'expired' | 'not-yet-valid';

export interface BindingExplanation {
  id: string;
  roleId: string;
  subject: BindingSubject;
  status: BindingStatus;
  notBefore?: number;
  expiresAt?: number;
  reason?: string;
}

export interface GrantExplanation {
  roleId: string;
  grantId: string;
  workload: string;
  /** The role is bound by at least one valid binding. */
  bindingValid: boolean;
  target: { method: boolean; path: boolean };
  /** Every condition, checked even when the binding or target already rules the grant out. */
  conditions: ConditionCheck[];
  outcome: 'allows' | 'target-mismatch' | 'binding-invalid' | 'conditions-failed';
  /** What this grant contributes to a deny (as `Decision.failed`); empty when it allows or misses the target. */
  reasons: ReasonCode[];
}

export interface DenyRuleExplanation {
  id: string;
  reason?: string;
  /** The rule's subject selector picks this subject. */
  subject: boolean;
  target: { method: boolean; path: boolean };
  /** Scope conditions (countries, sourceCidrs, timeWindows): `passed` = the request is inside. */
  scope: ConditionCheck[];
  /** Requirement conditions ("deny unless"): `passed` = met. */
  requirements: ConditionCheck[];
  applies: boolean;
  /** explicit-deny plus the unmet requirements, when the rule applies. */
  reasons: ReasonCode[];
}

export interface Explanation {
  /** Exactly `evaluate(source.policy, input)`. */
  decision: Decision;
  policyVersion: string;
  workload: { id: string; known: boolean };
  /** Bindings that select the subject, in document order. */
  bindings: BindingExplanation[];
  /** Grants of every role bound to the subject (validly or not) whose workload pattern covers the request. */
  grants: GrantExplanation[];
  /** Deny rules whose workload pattern covers the request, in document order. */
  denyRules: DenyRuleExplanation[];
  /** Set when the input or document could not be explained (the decision is then an evaluation-error deny). */
  error?: string;
}

const TRUST_RANK: Record<TrustLevel, number> = { none: 0, low: 1, medium: 2, high: 3 };
/** Same list as the evaluator (RFC 8176 values that count as MFA); explain.test.ts checks each one agrees. */
const MFA_AMR = new Set(['mfa', 'mca', 'otp', 'hwk', 'swk', 'fpt', 'face', 'iris', 'retina', 'vbm', 'sc', 'pop']);

class Facts {
  readonly trust: TrustLevel;
  readonly country: string | undefined;
  readonly address: Address | null;
  constructor(readonly input: DecisionInput) {
    const t = input.device?.trust;
    this.trust = t !== undefined && Object.hasOwn(TRUST_RANK, t) ? t : 'none';
    const c = input.request.country;
    this.country = typeof c === 'string' && c.length > 0 ? c.toUpperCase() : undefined;
    this.address = parseAddress(input.request.ip);
  }
  get authAge(): number | null {
    const at = this.input.auth?.authTime;
    return typeof at === 'number' && Number.isFinite(at) ? this.input.now - at : null;
  }
  get amrHasMfa(): boolean {
    const amr = this.input.auth?.amr;
    return Array.isArray(amr) && amr.some((a) => typeof a === 'string' && MFA_AMR.has(a));
  }
}

function trustCheck(c: Conditions, f: Facts): ConditionCheck | null {
  if (c.minDeviceTrust === undefined) return null;
  const passed = TRUST_RANK[f.trust] >= TRUST_RANK[c.minDeviceTrust];
  return { condition: 'minDeviceTrust', required: c.minDeviceTrust, actual: f.input.device ? f.trust : null, passed, ...(passed ? {} : { reason: 'device-untrusted' as const }) };
}

function mfaCheck(c: Conditions, f: Facts): ConditionCheck | null {
  if (c.mfa !== true && c.acr === undefined) return null;
  const acr = f.input.auth?.acr;
  const acrOk = c.acr !== undefined && typeof acr === 'string' && c.acr.includes(acr);
  const passed = c.mfa === true ? f.amrHasMfa || acrOk : acrOk;
  return {
    condition: 'mfa',
    required: { ...(c.mfa === true ? { mfa: true } : {}), ...(c.acr !== undefined ? { acr: c.acr } : {}) },
    actual: { amr: f.input.auth?.amr ?? null, acr: acr ?? null },
    passed,
    ...(passed ? {} : { reason: 'mfa-required' as const }),
  };
}

function authAgeCheck(c: Conditions, f: Facts): ConditionCheck | null {
  if (c.maxAuthAgeSeconds === undefined) return null;
  const age = f.authAge;
  const passed = age !== null && age <= c.maxAuthAgeSeconds;
  return { condition: 'maxAuthAgeSeconds', required: c.maxAuthAgeSeconds, actual: age, passed, ...(passed ? {} : { reason: 'auth-too-old' as const }) };
}

function windowCheck(c: Conditions, f: Facts): ConditionCheck | null {
  if (c.timeWindows === undefined) return null;
  const inside = c.timeWindows.some((w) => inWindow(compileWindow(w), f.input.now));
  return { condition: 'timeWindows', required: c.timeWindows, actual: f.input.now, passed: inside, ...(inside ? {} : { reason: 'outside-time-window' as const }) };
}

function ipInside(c: Conditions, f: Facts): boolean | null {
  if (c.sourceCidrs === undefined) return null;
  if (f.address === null) return null;
  const address = f.address;
  return c.sourceCidrs.some((s) => {
    const cidr = parseCidr(s);
    return cidr !== null && cidrContains(cidr, address);
  });
}

/** Grant conditions: all must hold; an unknown IP or country fails. */
function grantChecks(c: Conditions | undefined, f: Facts): ConditionCheck[] {
  if (!c) return [];
  const out: ConditionCheck[] = [];
  for (const check of [trustCheck(c, f), mfaCheck(c, f), authAgeCheck(c, f), windowCheck(c, f)]) if (check) out.push(check);
  if (c.sourceCidrs !== undefined) {
    const passed = ipInside(c, f) === true;
    out.push({ condition: 'sourceCidrs', required: c.sourceCidrs, actual: f.input.request.ip ?? null, passed, ...(passed ? {} : { reason: 'source-ip-not-allowed' as const }) });
  }
  if (c.countries !== undefined) {
    const passed = f.country !== undefined && c.countries.some((x) => x.toUpperCase() === f.country);
    out.push({ condition: 'countries', required: c.countries, actual: f.country ?? null, passed, ...(passed ? {} : { reason: 'country-not-allowed' as const }) });
  }
  return out;
}

/** Deny-rule scope: inside every listed scope; an unknown IP or country counts as inside (fail closed). */
function denyScope(c: Conditions | undefined, f: Facts): ConditionCheck[] {
  if (!c) return [];
  const out: ConditionCheck[] = [];
  if (c.countries !== undefined) {
    const inside = f.country === undefined || c.countries.some((x) => x.toUpperCase() === f.country);
    out.push({ condition: 'countries', required: c.countries, actual: f.country ?? null, passed: inside });
  }
  if (c.sourceCidrs !== undefined) {
    const inside = ipInside(c, f) !== false;
    out.push({ condition: 'sourceCidrs', required: c.sourceCidrs, actual: f.input.request.ip ?? null, passed: inside });
  }
  if (c.timeWindows !== undefined) {
    const inside = c.timeWindows.some((w) => inWindow(compileWindow(w), f.input.now));
    out.push({ condition: 'timeWindows', required: c.timeWindows, actual: f.input.now, passed: inside });
  }
  return out;
}

function denyRequirements(c: Conditions | undefined, f: Facts): ConditionCheck[] {
  if (!c) return [];
  const out: ConditionCheck[] = [];
  for (const check of [trustCheck(c, f), mfaCheck(c, f), authAgeCheck(c, f)]) if (check) out.push(check);
  return out;
}

function bindingSelects(b: Binding, s: DecisionInput['subject']): boolean {
  switch (b.subject.kind) {
    case 'user':
      return s.kind === 'user' && (b.subject.value === s.sub || b.subject.value === s.id);
    case 'email':
      return s.kind === 'user' && typeof s.email === 'string' && s.email.length > 0 && b.subject.value.toLowerCase() === s.email.toLowerCase();
    case 'group':
      return s.kind === 'user' && s.groups.includes(b.subject.value);
    case 'service':
      return s.kind === 'service' && b.subject.value === s.sub;
    default:
      return false;
  }
}

function bindingStatus(b: Binding, now: number): BindingStatus {
  if (b.notBefore !== undefined && b.notBefore !== null && now < b.notBefore) return 'not-yet-valid';
  if (b.expiresAt !== undefined && b.expiresAt !== null && now >= b.expiresAt) return 'expired';
  return 'valid';
}

function workloadCovers(pattern: string, workload: string): boolean {
  const p = compileWorkloadPattern(pattern);
  return 'exact' in p ? p.exact === workload : p.glob.test(workload);
}

function denySelects(rule: PolicyDocument['denyRules'][number], s: DecisionInput['subject']): boolean {
  const sel = rule.subjects;
  if (sel.everyone === true) return true;
  if (s.kind === 'user' && (sel.users ?? []).some((u) => u === s.sub || u === s.id)) return true;
  if (s.kind === 'service' && (sel.services ?? []).some((v) => v === s.sub || v === s.id)) return true;
  if (typeof s.email === 'string' && (sel.emails ?? []).some((e) => e.toLowerCase() === s.email!.toLowerCase())) return true;
  if ((sel.groups ?? []).some((g) => s.groups.includes(g))) return true;
  return false;
}

function explainUnsafe(source: ExplainSource, input: DecisionInput, decision: Decision): Explanation {
  const doc = source.document;
  const f = new Facts(input);
  const { workload, method } = input.request;
  const path = pathInfo(input.request.path);
  const subject = input.subject;

  // Bindings that select the subject, and per role: any valid / expired / not yet valid.
  const bindings: BindingExplanation[] = [];
  const roleStatus = new Map<string, { valid: boolean; expired: boolean; notYet: boolean }>();
  for (const b of doc.bindings) {
    if (!bindingSelects(b, subject)) continue;
    const status = bindingStatus(b, input.now);
    const e: BindingExplanation = { id: b.id, roleId: b.roleId, subject: b.subject, status };
    if (b.notBefore !== undefined && b.notBefore !== null) e.notBefore = b.notBefore;
    if (b.expiresAt !== undefined && b.expiresAt !== null) e.expiresAt = b.expiresAt;
    if (b.reason) e.reason = b.reason;
    bindings.push(e);
    let st = roleStatus.get(b.roleId);
    if (!st) roleStatus.set(b.roleId, (st = { valid: false, expired: false, notYet: false }));
    if (status === 'valid') st.valid = true;
    else if (status === 'expired') st.expired = true;
    else st.notYet = true;
  }

  const grants: GrantExplanation[] = [];
  for (const role of [...doc.roles].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    const st = roleStatus.get(role.id);
    if (!st) continue;
    for (const g of role.grants) {
      if (!workloadCovers(g.workload, workload)) continue;
      const methods = compileMethods(g.methods);
      const target = { method: methods === null || methods.has(method), path: compilePathGlobs(g.paths).matches(path) };
      const conditions = grantChecks(g.conditions, f);
      let outcome: GrantExplanation['outcome'];
      let reasons: ReasonCode[] = [];
      if (!target.method || !target.path) outcome = 'target-mismatch';
      else if (!st.valid) {
        outcome = 'binding-invalid';
        if (st.expired) reasons.push('binding-expired');
        if (st.notYet) reasons.push('binding-not-yet-valid');
      } else {
        reasons = conditions.filter((c) => !c.passed).map((c) => c.reason!);
        outcome = reasons.length === 0 ? 'allows' : 'conditions-failed';
      }
      grants.push({ roleId: role.id, grantId: g.id, workload: g.workload, bindingValid: st.valid, target, conditions, outcome, reasons: sortReasons(reasons) });
    }
  }

  const denyRules: DenyRuleExplanation[] = [];
  for (const rule of doc.denyRules) {
    if (!workloadCovers(rule.workload, workload)) continue;
    const methods = rule.methods === undefined ? null : compileMethods(rule.methods);
    const target = {
      method: methods === null || methods.has(method),
      path: rule.paths === undefined || compilePathGlobs(rule.paths).matches(path),
    };
    const selected = denySelects(rule, subject);
    const scope = denyScope(rule.conditions, f);
    const requirements = denyRequirements(rule.conditions, f);
    const unmet = requirements.filter((r) => !r.passed);
    const conditionsApply = scope.every((s) => s.passed) && (requirements.length === 0 || unmet.length > 0);
    const applies = selected && target.method && target.path && conditionsApply;
    const e: DenyRuleExplanation = {
      id: rule.id,
      subject: selected,
      target,
      scope,
      requirements,
      applies,
      reasons: applies ? sortReasons(['explicit-deny', ...unmet.map((r) => r.reason!)]) : [],
    };
    if (rule.reason) e.reason = rule.reason;
    denyRules.push(e);
  }

  const known = source.knownWorkload
    ? source.knownWorkload(workload)
    : doc.roles.some((r) => r.grants.some((g) => workloadCovers(g.workload, workload)));

  return { decision, policyVersion: source.policy.version, workload: { id: workload, known }, bindings, grants, denyRules };
}

/**
 * The decision for `input` with its explanation. Total: a malformed input (or
 * document) yields `evaluate()`'s evaluation-error deny, empty lists and `error`.
 */
export function explain(source: ExplainSource, input: DecisionInput): Explanation {
  const decision = evaluate(source.policy, input);
  try {
    if (decision.reasons.includes('evaluation-error')) throw new Error('the input could not be evaluated');
    return explainUnsafe(source, input, decision);
  } catch (e) {
    return {
      decision,
      policyVersion: source.policy.version,
      workload: { id: typeof input?.request?.workload === 'string' ? input.request.workload : '', known: false },
      bindings: [],
      grants: [],
      denyRules: [],
      error: e instanceof Error ? e.message : 'unexplainable input',
    };
  }
}

/**
 * The effect and reasons the explanation itself leads to (deny rules first,
 * then the catalog, then grants) — equal to `decision` by construction of the
 * evaluator; used by tests and by callers that want to show the reasoning path.
 */
export function derivedOutcome(e: Explanation): Pick<Decision, 'effect' | 'reasons'> {
  const firstDeny = e.denyRules.find((d) => d.applies);
  if (firstDeny) return { effect: 'deny', reasons: firstDeny.reasons };
  if (!e.workload.known) return { effect: 'deny', reasons: ['unknown-workload'] };
  if (e.grants.some((g) => g.outcome === 'allows')) return { effect: 'allow', reasons: ['allowed'] };
  const failed = e.grants.filter((g) => g.outcome !== 'target-mismatch');
  if (failed.length === 0) return { effect: 'deny', reasons: ['no-matching-grant'] };
  return { effect: 'deny', reasons: sortReasons(failed.flatMap((g) => g.reasons)) };
}
