/**
 * Policy: compile(document) → Snapshot; evaluate(snapshot, input) → Decision.
 * Pure: no HTTP, no storage, time passed in. The model, glob syntax, conditions,
 * deny-rule semantics and reason codes are described in docs/policy.md.
 */
import { TollgateError } from '../errors.js';
import { cidrContains, parseAddress, parseCidr, type Address, type Cidr } from './cidr.js';
import { compileMethods, compilePathGlobs, compileWorkloadPattern, PatternError, pathInfo, type PathInfo, type PathMatcher, type StarPattern } from './glob.js';
import { compileWindow, inWindow, TimeWindowError, type CompiledWindow } from './time.js';

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
  /** When the rule applies (docs/policy.md, "Deny rules"): scope conditions (countries, sourceCidrs,
   *  timeWindows) must all HOLD — deny from these countries / networks, during these windows; requirement
   *  conditions (minDeviceTrust, mfa/acr, maxAuthAgeSeconds) read "deny unless": the rule applies when at
   *  least one of them is NOT met (e.g. minDeviceTrust 'high' denies devices below high). */
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
  /**
   * Workload ids in the catalog. When given, a request for any other workload is
   * denied with 'unknown-workload'; when absent, a workload no grant names is unknown.
   */
  workloads?: Iterable<string>;
}

// ---------------------------------------------------------------------------
// Compiled form

const TRUST_RANK: Record<TrustLevel, number> = { none: 0, low: 1, medium: 2, high: 3 };
const PERMISSIONS: readonly Permission[] = ['admin', 'auditor'];
/** Canonical order for reason lists, so decisions are deterministic. */
const REASON_ORDER: readonly ReasonCode[] = [
  'allowed',
  'no-session',
  'unknown-workload',
  'no-matching-grant',
  'explicit-deny',
  'binding-expired',
  'binding-not-yet-valid',
  'device-untrusted',
  'mfa-required',
  'auth-too-old',
  'outside-time-window',
  'source-ip-not-allowed',
  'country-not-allowed',
  'evaluation-error',
];
/** amr values (RFC 8176) that count as a second factor or phishing-resistant authenticator. */
const MFA_AMR = new Set(['mfa', 'mca', 'otp', 'hwk', 'swk', 'fpt', 'face', 'iris', 'retina', 'vbm', 'sc', 'pop']);
const DEFAULT_TTL = 30;
const MAX_TTL = 60;

interface CompiledConditions {
  minTrust: number | null;
  mfa: boolean;
  acr: Set<string> | null;
  maxAuthAge: number | null;
  windows: CompiledWindow[] | null;
  cidrs: Cidr[] | null;
  countries: Set<string> | null;
}

interface CompiledGrant {
  roleId: string;
  grantId: string;
  /** Position in the role, for a stable order. */
  order: number;
  methods: Set<string> | null;
  paths: PathMatcher;
  conditions: CompiledConditions | null;
}

interface CompiledRole {
  id: string;
  permissions: Permission[];
  byWorkload: Map<string, CompiledGrant[]>;
  globGrants: { workload: StarPattern; grant: CompiledGrant }[];
}

interface CompiledBinding {
  id: string;
  roleId: string;
  notBefore: number | null;
  expiresAt: number | null;
}

interface CompiledDeny {
  id: string;
  order: number;
  everyone: boolean;
  users: Set<string>;
  emails: Set<string>;
  groups: Set<string>;
  services: Set<string>;
  methods: Set<string> | null;
  paths: PathMatcher | null;
  conditions: CompiledConditions | null;
}

interface CompiledPolicy {
  ttl: number;
  roles: Map<string, CompiledRole>;
  /** Key: "user:<v>", "email:<lower-case v>", "group:<v>", "service:<v>". */
  bindings: Map<string, CompiledBinding[]>;
  denyByWorkload: Map<string, CompiledDeny[]>;
  denyGlobs: { workload: StarPattern; rule: CompiledDeny }[];
  /** Workloads some grant names (exact), and the glob grants' patterns. */
  grantWorkloads: Set<string>;
  grantWorkloadGlobs: StarPattern[];
  catalog: Set<string> | null;
}

// Internals live here, not on the snapshot object, so callers cannot reach or alter them.
const compiled = new WeakMap<Snapshot, CompiledPolicy>();

// ---------------------------------------------------------------------------
// Validation helpers

function invalid(path: string, message: string): TollgateError {
  return new TollgateError('config-invalid', `policy: ${path}: ${message}`, { details: { path } });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Unknown keys are refused: a misspelt "expiresAt" or "conditions" would otherwise widen access silently. */
function checkKeys(v: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) throw invalid(path, `unknown field "${k.slice(0, 64)}"`);
  }
}

function requireId(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 256) throw invalid(path, 'must be a non-empty string of at most 256 characters');
  return v;
}

function stringList(v: unknown, path: string): string[] {
  if (!Array.isArray(v)) throw invalid(path, 'must be an array of strings');
  for (const [i, s] of v.entries()) if (typeof s !== 'string' || s.length === 0) throw invalid(`${path}[${i}]`, 'must be a non-empty string');
  return v as string[];
}

function nonEmptyList(v: unknown, path: string): string[] {
  const list = stringList(v, path);
  if (list.length === 0) throw invalid(path, 'must not be empty');
  return list;
}

function optionalTime(v: unknown, path: string): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(path, 'must be epoch seconds');
  return v;
}

function wrapPattern<T>(path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof PatternError || e instanceof TimeWindowError) throw invalid(path, e.message);
    throw e;
  }
}

const CONDITION_KEYS = ['minDeviceTrust', 'mfa', 'acr', 'maxAuthAgeSeconds', 'timeWindows', 'sourceCidrs', 'countries'] as const;

function compileConditions(c: unknown, path: string): CompiledConditions | null {
  if (c === undefined || c === null) return null;
  if (!isRecord(c)) throw invalid(path, 'must be an object');
  checkKeys(c, CONDITION_KEYS, path);
  const out: CompiledConditions = { minTrust: null, mfa: false, acr: null, maxAuthAge: null, windows: null, cidrs: null, countries: null };
  if (c.minDeviceTrust !== undefined) {
    if (typeof c.minDeviceTrust !== 'string' || !Object.hasOwn(TRUST_RANK, c.minDeviceTrust)) throw invalid(`${path}.minDeviceTrust`, 'must be none, low, medium or high');
    out.minTrust = TRUST_RANK[c.minDeviceTrust as TrustLevel];
  }
  if (c.mfa !== undefined) {
    if (typeof c.mfa !== 'boolean') throw invalid(`${path}.mfa`, 'must be a boolean');
    out.mfa = c.mfa;
  }
  if (c.acr !== undefined) out.acr = new Set(nonEmptyList(c.acr, `${path}.acr`));
  if (c.maxAuthAgeSeconds !== undefined) {
    const v = c.maxAuthAgeSeconds;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw invalid(`${path}.maxAuthAgeSeconds`, 'must be a non-negative number of seconds');
    out.maxAuthAge = v;
  }
  if (c.timeWindows !== undefined) {
    if (!Array.isArray(c.timeWindows) || c.timeWindows.length === 0) throw invalid(`${path}.timeWindows`, 'must be a non-empty array');
    out.windows = c.timeWindows.map((w: unknown, i) => {
      const wp = `${path}.timeWindows[${i}]`;
      if (!isRecord(w)) throw invalid(wp, 'must be an object');
      checkKeys(w, ['days', 'start', 'end', 'timeZone'], wp);
      return wrapPattern(wp, () => compileWindow(w));
    });
  }
  if (c.sourceCidrs !== undefined) {
    out.cidrs = nonEmptyList(c.sourceCidrs, `${path}.sourceCidrs`).map((s, i) => {
      const cidr = parseCidr(s);
      if (!cidr) throw invalid(`${path}.sourceCidrs[${i}]`, 'must be an IPv4 or IPv6 CIDR without host bits set');
      return cidr;
    });
  }
  if (c.countries !== undefined) {
    out.countries = new Set(
      nonEmptyList(c.countries, `${path}.countries`).map((s, i) => {
        if (!/^[A-Za-z0-9]{2}$/.test(s)) throw invalid(`${path}.countries[${i}]`, 'must be a two-letter country code');
        return s.toUpperCase();
      }),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------
// compile

function hashVersion(text: string): string {
  // cyrb53: a fast, non-cryptographic 53-bit hash; the version only needs to change when the document does.
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 'h' + (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * Whether any grant or deny rule has a `countries` condition: only then does a
 * decision need the request's country (reading it costs the gateway a parse
 * of the runtime's whole `request.cf` object on every request).
 */
export function usesCountries(doc: PolicyDocument): boolean {
  const has = (c: Conditions | undefined) => c !== undefined && c !== null && c.countries !== undefined;
  try {
    return doc.roles.some((r) => r.grants.some((g) => has(g.conditions))) || doc.denyRules.some((d) => has(d.conditions));
  } catch {
    return true; // a document compile() would refuse: read the country rather than guess
  }
}

/** Compile a policy document into an indexed snapshot. Throws TollgateError('config-invalid') on a bad document. */
export function compile(doc: PolicyDocument, options: CompileOptions = {}): Snapshot {
  if (!isRecord(doc)) throw invalid('document', 'must be an object');
  checkKeys(doc, ['roles', 'bindings', 'denyRules'], 'document');
  if (!Array.isArray(doc.roles)) throw invalid('roles', 'must be an array');
  if (!Array.isArray(doc.bindings)) throw invalid('bindings', 'must be an array');
  if (!Array.isArray(doc.denyRules)) throw invalid('denyRules', 'must be an array');

  const ttl = options.assertionTtl ?? DEFAULT_TTL;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL) throw invalid('options.assertionTtl', `must be an integer in 1..${MAX_TTL}`);

  const policy: CompiledPolicy = {
    ttl,
    roles: new Map(),
    bindings: new Map(),
    denyByWorkload: new Map(),
    denyGlobs: [],
    grantWorkloads: new Set(),
    grantWorkloadGlobs: [],
    catalog: null,
  };
  const globSources = new Set<string>();

  doc.roles.forEach((role: unknown, ri) => {
    const rp = `roles[${ri}]`;
    if (!isRecord(role)) throw invalid(rp, 'must be an object');
    checkKeys(role, ['id', 'description', 'grants', 'permissions'], rp);
    const id = requireId(role.id, `${rp}.id`);
    if (policy.roles.has(id)) throw invalid(`${rp}.id`, `duplicate role id "${id}"`);
    if (role.description !== undefined && typeof role.description !== 'string') throw invalid(`${rp}.description`, 'must be a string');
    const permissions = stringList(role.permissions, `${rp}.permissions`);
    for (const [i, p] of permissions.entries()) {
      if (!PERMISSIONS.includes(p as Permission)) throw invalid(`${rp}.permissions[${i}]`, 'must be admin or auditor');
    }
    if (!Array.isArray(role.grants)) throw invalid(`${rp}.grants`, 'must be an array');
    const compiledRole: CompiledRole = { id, permissions: [...new Set(permissions as Permission[])].sort(), byWorkload: new Map(), globGrants: [] };
    const grantIds = new Set<string>();
    role.grants.forEach((grant: unknown, gi) => {
      const gp = `${rp}.grants[${gi}]`;
      if (!isRecord(grant)) throw invalid(gp, 'must be an object');
      checkKeys(grant, ['id', 'workload', 'methods', 'paths', 'conditions'], gp);
      const grantId = requireId(grant.id, `${gp}.id`);
      if (grantIds.has(grantId)) throw invalid(`${gp}.id`, `duplicate grant id "${grantId}" in role "${id}"`);
      grantIds.add(grantId);
      const workload = wrapPattern(`${gp}.workload`, () => compileWorkloadPattern(grant.workload));
      const compiledGrant: CompiledGrant = {
        roleId: id,
        grantId,
        order: gi,
        methods: wrapPattern(`${gp}.methods`, () => compileMethods(grant.methods)),
        paths: wrapPattern(`${gp}.paths`, () => compilePathGlobs(grant.paths)),
        conditions: compileConditions(grant.conditions, `${gp}.conditions`),
      };
      if ('exact' in workload) {
        pushTo(compiledRole.byWorkload, workload.exact, compiledGrant);
        policy.grantWorkloads.add(workload.exact);
      } else {
        compiledRole.globGrants.push({ workload: workload.glob, grant: compiledGrant });
        if (!globSources.has(workload.source)) {
          globSources.add(workload.source);
          policy.grantWorkloadGlobs.push(workload.glob);
        }
      }
    });
    policy.roles.set(id, compiledRole);
  });

  const bindingIds = new Set<string>();
  doc.bindings.forEach((binding: unknown, bi) => {
    const bp = `bindings[${bi}]`;
    if (!isRecord(binding)) throw invalid(bp, 'must be an object');
    checkKeys(binding, ['id', 'subject', 'roleId', 'notBefore', 'expiresAt', 'reason'], bp);
    const id = requireId(binding.id, `${bp}.id`);
    if (bindingIds.has(id)) throw invalid(`${bp}.id`, `duplicate binding id "${id}"`);
    bindingIds.add(id);
    const roleId = requireId(binding.roleId, `${bp}.roleId`);
    if (!policy.roles.has(roleId)) throw invalid(`${bp}.roleId`, `unknown role "${roleId}"`);
    const subject = binding.subject;
    if (!isRecord(subject)) throw invalid(`${bp}.subject`, 'must be an object');
    checkKeys(subject, ['kind', 'value'], `${bp}.subject`);
    const value = requireId(subject.value, `${bp}.subject.value`);
    let key: string;
    switch (subject.kind) {
      case 'user':
      case 'group':
      case 'service':
        key = `${subject.kind}:${value}`;
        break;
      case 'email':
        key = `email:${value.toLowerCase()}`;
        break;
      default:
        throw invalid(`${bp}.subject.kind`, 'must be user, email, group or service');
    }
    const notBefore = optionalTime(binding.notBefore, `${bp}.notBefore`);
    const expiresAt = optionalTime(binding.expiresAt, `${bp}.expiresAt`);
    if (notBefore !== null && expiresAt !== null && notBefore >= expiresAt) throw invalid(bp, 'notBefore must be before expiresAt');
    if (binding.reason !== undefined && typeof binding.reason !== 'string') throw invalid(`${bp}.reason`, 'must be a string');
    pushTo(policy.bindings, key, { id, roleId, notBefore, expiresAt });
  });

  const denyIds = new Set<string>();
  doc.denyRules.forEach((rule: unknown, di) => {
    const dp = `denyRules[${di}]`;
    if (!isRecord(rule)) throw invalid(dp, 'must be an object');
    checkKeys(rule, ['id', 'subjects', 'workload', 'methods', 'paths', 'conditions', 'reason'], dp);
    const id = requireId(rule.id, `${dp}.id`);
    if (denyIds.has(id)) throw invalid(`${dp}.id`, `duplicate deny rule id "${id}"`);
    denyIds.add(id);
    const subjects = rule.subjects;
    if (!isRecord(subjects)) throw invalid(`${dp}.subjects`, 'must be an object');
    checkKeys(subjects, ['everyone', 'users', 'emails', 'groups', 'services'], `${dp}.subjects`);
    if (subjects.everyone !== undefined && typeof subjects.everyone !== 'boolean') throw invalid(`${dp}.subjects.everyone`, 'must be a boolean');
    const list = (k: string): Set<string> => (subjects[k] === undefined ? new Set() : new Set(stringList(subjects[k], `${dp}.subjects.${k}`)));
    const compiledRule: CompiledDeny = {
      id,
      order: di,
      everyone: subjects.everyone === true,
      users: list('users'),
      emails: new Set([...list('emails')].map((e) => e.toLowerCase())),
      groups: list('groups'),
      services: list('services'),
      methods: rule.methods === undefined ? null : wrapPattern(`${dp}.methods`, () => compileMethods(rule.methods)),
      paths: rule.paths === undefined ? null : wrapPattern(`${dp}.paths`, () => compilePathGlobs(rule.paths)),
      conditions: compileConditions(rule.conditions, `${dp}.conditions`),
    };
    if (!compiledRule.everyone && compiledRule.users.size + compiledRule.emails.size + compiledRule.groups.size + compiledRule.services.size === 0) {
      throw invalid(`${dp}.subjects`, 'must select someone (everyone, users, emails, groups or services)');
    }
    if (rule.reason !== undefined && typeof rule.reason !== 'string') throw invalid(`${dp}.reason`, 'must be a string');
    const workload = wrapPattern(`${dp}.workload`, () => compileWorkloadPattern(rule.workload));
    if ('exact' in workload) pushTo(policy.denyByWorkload, workload.exact, compiledRule);
    else policy.denyGlobs.push({ workload: workload.glob, rule: compiledRule });
  });

  if (options.workloads !== undefined) {
    policy.catalog = new Set();
    for (const w of options.workloads) policy.catalog.add(requireId(w, 'options.workloads'));
  }

  let version = options.version;
  if (version === undefined) version = hashVersion(JSON.stringify(doc));
  else if (typeof version !== 'string' || version.length === 0) throw invalid('options.version', 'must be a non-empty string');

  const snapshot: Snapshot = Object.freeze({ version });
  compiled.set(snapshot, policy);
  return snapshot;
}

// ---------------------------------------------------------------------------
// evaluate

type Subject = DecisionInput['subject'];

interface RoleStatus {
  valid: boolean;
  expired: boolean;
  notYet: boolean;
}

/** Per-decision facts, computed at most once each. */
class Facts {
  private address: Address | null | undefined;
  private mfaFromAmr: boolean | undefined;
  readonly trust: number;
  readonly country: string | undefined;

  constructor(readonly input: DecisionInput) {
    const t = input.device?.trust;
    this.trust = t !== undefined && Object.hasOwn(TRUST_RANK, t) ? TRUST_RANK[t] : 0;
    const c = input.request.country;
    this.country = typeof c === 'string' && c.length > 0 ? c.toUpperCase() : undefined;
  }

  ip(): Address | null {
    if (this.address === undefined) this.address = parseAddress(this.input.request.ip);
    return this.address;
  }

  amrHasMfa(): boolean {
    if (this.mfaFromAmr === undefined) {
      const amr = this.input.auth?.amr;
      this.mfaFromAmr = Array.isArray(amr) && amr.some((a) => typeof a === 'string' && MFA_AMR.has(a));
    }
    return this.mfaFromAmr;
  }
}

// Requirement checks: true = met.
function trustMet(c: CompiledConditions, f: Facts): boolean {
  return c.minTrust === null || f.trust >= c.minTrust;
}
function mfaMet(c: CompiledConditions, f: Facts): boolean {
  if (!c.mfa && c.acr === null) return true;
  const acr = f.input.auth?.acr;
  const acrOk = c.acr !== null && typeof acr === 'string' && c.acr.has(acr);
  // With both set, either proof is enough: acr values name authentication levels that imply MFA.
  if (c.mfa) return f.amrHasMfa() || acrOk;
  return acrOk;
}
function authAgeMet(c: CompiledConditions, f: Facts): boolean {
  if (c.maxAuthAge === null) return true;
  const at = f.input.auth?.authTime;
  return typeof at === 'number' && Number.isFinite(at) && f.input.now - at <= c.maxAuthAge;
}

/** Reasons the grant's conditions fail (empty = all hold). */
function grantFailures(c: CompiledConditions | null, f: Facts): ReasonCode[] {
  if (c === null) return [];
  const out: ReasonCode[] = [];
  if (!trustMet(c, f)) out.push('device-untrusted');
  if (!mfaMet(c, f)) out.push('mfa-required');
  if (!authAgeMet(c, f)) out.push('auth-too-old');
  if (c.windows !== null && !c.windows.some((w) => inWindow(w, f.input.now))) out.push('outside-time-window');
  if (c.cidrs !== null) {
    const ip = f.ip();
    if (ip === null || !c.cidrs.some((cidr) => cidrContains(cidr, ip))) out.push('source-ip-not-allowed');
  }
  if (c.countries !== null && (f.country === undefined || !c.countries.has(f.country))) out.push('country-not-allowed');
  return out;
}

/**
 * Does a deny rule's condition block apply? Scope conditions (countries,
 * sourceCidrs, timeWindows) must all hold — the request comes from one of those
 * countries / networks, during one of those windows; an unknown country or IP
 * counts as inside (fail closed). Requirement conditions (minDeviceTrust,
 * mfa/acr, maxAuthAgeSeconds) read "deny unless": the rule applies when at
 * least one of them is not met. Returns the unmet requirements' reasons, or
 * null when the rule does not apply.
 */
function denyApplies(c: CompiledConditions | null, f: Facts): ReasonCode[] | null {
  if (c === null) return [];
  if (c.countries !== null && f.country !== undefined && !c.countries.has(f.country)) return null;
  if (c.cidrs !== null) {
    const ip = f.ip();
    if (ip !== null && !c.cidrs.some((cidr) => cidrContains(cidr, ip))) return null;
  }
  if (c.windows !== null && !c.windows.some((w) => inWindow(w, f.input.now))) return null;
  const hasRequirements = c.minTrust !== null || c.mfa || c.acr !== null || c.maxAuthAge !== null;
  if (!hasRequirements) return [];
  const unmet: ReasonCode[] = [];
  if (!trustMet(c, f)) unmet.push('device-untrusted');
  if (!mfaMet(c, f)) unmet.push('mfa-required');
  if (!authAgeMet(c, f)) unmet.push('auth-too-old');
  return unmet.length > 0 ? unmet : null;
}

function denySelects(rule: CompiledDeny, s: Subject): boolean {
  if (rule.everyone) return true;
  if (s.kind === 'user' && rule.users.size > 0 && (rule.users.has(s.sub) || rule.users.has(s.id))) return true;
  if (s.kind === 'service' && rule.services.size > 0 && (rule.services.has(s.sub) || rule.services.has(s.id))) return true;
  // Deny selectors err on the side of matching: emails and groups apply to any subject that carries them.
  if (rule.emails.size > 0 && typeof s.email === 'string' && rule.emails.has(s.email.toLowerCase())) return true;
  if (rule.groups.size > 0 && Array.isArray(s.groups)) {
    for (const g of s.groups) if (rule.groups.has(g)) return true;
  }
  return false;
}

function targetMatches(methods: Set<string> | null, paths: PathMatcher | null, method: string, path: PathInfo): boolean {
  return (methods === null || methods.has(method)) && (paths === null || paths.matches(path));
}

/** Binding index keys for a subject. email/group bindings apply to users; service bindings to services. */
function subjectKeys(s: Subject): string[] {
  if (s.kind === 'service') return [`service:${s.sub}`];
  if (s.kind !== 'user') return [];
  const keys = [`user:${s.sub}`];
  if (s.id !== s.sub) keys.push(`user:${s.id}`);
  if (typeof s.email === 'string' && s.email.length > 0) keys.push(`email:${s.email.toLowerCase()}`);
  if (Array.isArray(s.groups)) for (const g of s.groups) if (typeof g === 'string') keys.push(`group:${g}`);
  return keys;
}

function roleStatuses(p: CompiledPolicy, s: Subject, now: number): Map<string, RoleStatus> {
  const out = new Map<string, RoleStatus>();
  for (const key of subjectKeys(s)) {
    const list = p.bindings.get(key);
    if (!list) continue;
    for (const b of list) {
      let st = out.get(b.roleId);
      if (!st) out.set(b.roleId, (st = { valid: false, expired: false, notYet: false }));
      if (b.notBefore !== null && now < b.notBefore) st.notYet = true;
      else if (b.expiresAt !== null && now >= b.expiresAt) st.expired = true;
      else st.valid = true;
    }
  }
  return out;
}

/** Reasons, unique, in the canonical order (decisions and explanations list them the same way). */
export function sortReasons(reasons: Iterable<ReasonCode>): ReasonCode[] {
  const set = reasons instanceof Set ? (reasons as Set<ReasonCode>) : new Set(reasons);
  return REASON_ORDER.filter((r) => set.has(r));
}

function byRoleThenOrder(a: { roleId: string; order: number }, b: { roleId: string; order: number }): number {
  return a.roleId < b.roleId ? -1 : a.roleId > b.roleId ? 1 : a.order - b.order;
}

function deny(reasons: ReasonCode[], ttl: number, extra: Partial<Decision> = {}): Decision {
  return { effect: 'deny', reasons, roles: [], failed: [], ttl, ...extra };
}

function workloadKnown(p: CompiledPolicy, workload: string): boolean {
  if (p.catalog !== null) return p.catalog.has(workload);
  return p.grantWorkloads.has(workload) || p.grantWorkloadGlobs.some((g) => g.test(workload));
}

function decide(p: CompiledPolicy, input: DecisionInput): Decision {
  const { subject, request, now } = input;
  if (!isRecord(subject) || !isRecord(request) || typeof now !== 'number' || !Number.isFinite(now)) throw new Error('malformed decision input');
  const { workload, method } = request;
  if (typeof workload !== 'string' || typeof method !== 'string' || typeof request.path !== 'string') throw new Error('malformed request');
  const path = pathInfo(request.path);
  // Malformed facts are errors, not absences: ignoring bad `groups` could skip a group deny rule.
  if (subject.kind !== 'user' && subject.kind !== 'service') throw new Error('malformed subject');
  if (typeof subject.sub !== 'string' || typeof subject.id !== 'string') throw new Error('malformed subject');
  if (!Array.isArray(subject.groups) || !subject.groups.every((g) => typeof g === 'string')) throw new Error('malformed groups');
  if (subject.email !== undefined && typeof subject.email !== 'string') throw new Error('malformed email');
  for (const k of ['ip', 'country', 'query'] as const) {
    if (request[k] !== undefined && typeof request[k] !== 'string') throw new Error('malformed request');
  }
  const facts = new Facts(input);

  // 1. Deny rules first: a matching one wins over any allow.
  const denyCandidates = p.denyByWorkload.get(workload);
  let hit: { rule: CompiledDeny; unmet: ReasonCode[] } | null = null;
  const considerDeny = (rule: CompiledDeny): void => {
    if (hit !== null && hit.rule.order < rule.order) return;
    if (!denySelects(rule, subject) || !targetMatches(rule.methods, rule.paths, method, path)) return;
    const unmet = denyApplies(rule.conditions, facts);
    if (unmet !== null) hit = { rule, unmet };
  };
  if (denyCandidates) for (const rule of denyCandidates) considerDeny(rule);
  for (const { workload: w, rule } of p.denyGlobs) if (w.test(workload)) considerDeny(rule);
  if (hit !== null) {
    const { rule, unmet } = hit as { rule: CompiledDeny; unmet: ReasonCode[] };
    return deny(sortReasons(new Set<ReasonCode>(['explicit-deny', ...unmet])), p.ttl, { matched: { kind: 'deny-rule', ruleId: rule.id } });
  }

  // 2. Unknown workload.
  if (!workloadKnown(p, workload)) return deny(['unknown-workload'], p.ttl);

  // 3. Grants of the roles bound to this subject (valid or not: invalid ones explain a deny).
  const allowed: CompiledGrant[] = [];
  const failed: (Decision['failed'][number] & { order: number })[] = [];
  const consider = (roleId: string, status: RoleStatus, g: CompiledGrant): void => {
    if (!targetMatches(g.methods, g.paths, method, path)) return;
    if (!status.valid) {
      const reasons: ReasonCode[] = [];
      if (status.expired) reasons.push('binding-expired');
      if (status.notYet) reasons.push('binding-not-yet-valid');
      failed.push({ roleId, grantId: g.grantId, reasons, order: g.order });
      return;
    }
    const reasons = grantFailures(g.conditions, facts);
    if (reasons.length === 0) allowed.push(g);
    else failed.push({ roleId, grantId: g.grantId, reasons, order: g.order });
  };
  for (const [roleId, status] of roleStatuses(p, subject, now)) {
    const role = p.roles.get(roleId);
    if (!role) continue;
    const exact = role.byWorkload.get(workload);
    if (exact) for (const g of exact) consider(roleId, status, g);
    for (const { workload: w, grant } of role.globGrants) if (w.test(workload)) consider(roleId, status, grant);
  }

  if (allowed.length > 0) {
    allowed.sort(byRoleThenOrder);
    const first = allowed[0]!;
    return {
      effect: 'allow',
      reasons: ['allowed'],
      roles: [...new Set(allowed.map((g) => g.roleId))],
      matched: { kind: 'grant', roleId: first.roleId, grantId: first.grantId },
      failed: [],
      ttl: p.ttl,
    };
  }
  if (failed.length === 0) return deny(['no-matching-grant'], p.ttl);
  failed.sort(byRoleThenOrder);
  const union = new Set<ReasonCode>();
  for (const f of failed) for (const r of f.reasons) union.add(r);
  return deny(sortReasons(union), p.ttl, { failed: failed.map(({ roleId, grantId, reasons }) => ({ roleId, grantId, reasons })) });
}

/** Decide. Pure and total: never throws; any internal error is a deny with 'evaluation-error'. */
export function evaluate(snapshot: Snapshot, input: DecisionInput): Decision {
  let ttl = DEFAULT_TTL;
  try {
    const p = compiled.get(snapshot);
    if (!p) throw new Error('not a compiled snapshot');
    ttl = p.ttl;
    return decide(p, input);
  } catch {
    return deny(['evaluation-error'], ttl);
  }
}

/** Admin permissions the subject holds through its (currently valid) bindings. */
export function permissionsOf(snapshot: Snapshot, subject: DecisionInput['subject'], now: number): Permission[] {
  try {
    const p = compiled.get(snapshot);
    if (!p || !isRecord(subject) || typeof now !== 'number' || !Number.isFinite(now)) return [];
    const out = new Set<Permission>();
    for (const [roleId, status] of roleStatuses(p, subject, now)) {
      if (!status.valid) continue;
      for (const perm of p.roles.get(roleId)?.permissions ?? []) out.add(perm);
    }
    return PERMISSIONS.filter((perm) => out.has(perm));
  } catch {
    // Fail closed: no permissions.
    return [];
  }
}

export {
  derivedOutcome,
  explain,
  type BindingExplanation,
  type BindingStatus,
  type ConditionCheck,
  type ConditionName,
  type DenyRuleExplanation,
  type ExplainSource,
  type Explanation,
  type GrantExplanation,
} from './explain.js';
