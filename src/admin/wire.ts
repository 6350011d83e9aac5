/**
 * The admin API's wire form (snake_case JSON) of each configuration resource,
 * and the conversions to and from the policy / catalog types (camelCase).
 * The zod schemas in src/http/admin/schemas.ts validate exactly these shapes;
 * audit records keep `before` / `after` in this form too.
 */
import type { Endpoint, Workload } from '../catalog/index.js';
import type { Binding, BindingSubject, Conditions, DenyRule, Grant, Permission, Role, TimeWindow, TrustLevel } from '../policy/index.js';

export interface WireTimeWindow {
  days?: number[];
  start: string;
  end: string;
  time_zone: string;
}

export interface WireConditions {
  min_device_trust?: TrustLevel;
  mfa?: boolean;
  acr?: string[];
  max_auth_age_seconds?: number;
  time_windows?: WireTimeWindow[];
  source_cidrs?: string[];
  countries?: string[];
}

export interface WireGrant {
  id: string;
  workload: string;
  methods: string[];
  paths: string[];
  conditions?: WireConditions;
}

export interface WireRole {
  id: string;
  description?: string;
  permissions: Permission[];
  grants: WireGrant[];
}

export interface WireBinding {
  id: string;
  subject: BindingSubject;
  role_id: string;
  not_before?: number | null;
  expires_at?: number | null;
  reason?: string;
}

export interface WireDenyRule {
  id: string;
  subjects: DenyRule['subjects'];
  workload: string;
  methods?: string[];
  paths?: string[];
  conditions?: WireConditions;
  reason?: string;
}

export interface WireEndpoint {
  id: string;
  url: string;
  location: string;
  source: Endpoint['source'];
  health: Endpoint['health'];
}

export interface WireWorkload {
  id: string;
  name: string;
  hosts: string[];
  endpoints: WireEndpoint[];
  /** Bearer path: pass the caller's Authorization header to the workload (default false; docs/services.md). */
  forward_authorization?: boolean;
}

export interface WireKinds {
  role: WireRole;
  binding: WireBinding;
  'deny-rule': WireDenyRule;
  workload: WireWorkload;
}

// ---------------------------------------------------------------- conditions

function windowToWire(w: TimeWindow): WireTimeWindow {
  const out: WireTimeWindow = { start: w.start, end: w.end, time_zone: w.timeZone };
  if (w.days !== undefined) out.days = [...w.days];
  return out;
}

function windowFromWire(w: WireTimeWindow): TimeWindow {
  const out: TimeWindow = { start: w.start, end: w.end, timeZone: w.time_zone };
  if (w.days !== undefined) out.days = [...w.days];
  return out;
}

export function conditionsToWire(c: Conditions | undefined): WireConditions | undefined {
  if (c === undefined) return undefined;
  const out: WireConditions = {};
  if (c.minDeviceTrust !== undefined) out.min_device_trust = c.minDeviceTrust;
  if (c.mfa !== undefined) out.mfa = c.mfa;
  if (c.acr !== undefined) out.acr = [...c.acr];
  if (c.maxAuthAgeSeconds !== undefined) out.max_auth_age_seconds = c.maxAuthAgeSeconds;
  if (c.timeWindows !== undefined) out.time_windows = c.timeWindows.map(windowToWire);
  if (c.sourceCidrs !== undefined) out.source_cidrs = [...c.sourceCidrs];
  if (c.countries !== undefined) out.countries = [...c.countries];
  return out;
}

export function conditionsFromWire(c: WireConditions | undefined): Conditions | undefined {
  if (c === undefined) return undefined;
  const out: Conditions = {};
  if (c.min_device_trust !== undefined) out.minDeviceTrust = c.min_device_trust;
  if (c.mfa !== undefined) out.mfa = c.mfa;
  if (c.acr !== undefined) out.acr = [...c.acr];
  if (c.max_auth_age_seconds !== undefined) out.maxAuthAgeSeconds = c.max_auth_age_seconds;
  if (c.time_windows !== undefined) out.timeWindows = c.time_windows.map(windowFromWire);
  if (c.source_cidrs !== undefined) out.sourceCidrs = [...c.source_cidrs];
  if (c.countries !== undefined) out.countries = [...c.countries];
  // An empty object means "no conditions" (the store keeps `{}` for none).
  return Object.keys(out).length === 0 ? undefined : out;
}

// ---------------------------------------------------------------- resources

function grantToWire(g: Grant): WireGrant {
  const out: WireGrant = { id: g.id, workload: g.workload, methods: [...g.methods], paths: [...g.paths] };
  const c = conditionsToWire(g.conditions);
  if (c !== undefined) out.conditions = c;
  return out;
}

function grantFromWire(g: WireGrant): Grant {
  const out: Grant = { id: g.id, workload: g.workload, methods: [...g.methods], paths: [...g.paths] };
  const c = conditionsFromWire(g.conditions);
  if (c !== undefined) out.conditions = c;
  return out;
}

export function roleToWire(r: Role): WireRole {
  return { id: r.id, description: r.description ?? '', permissions: [...r.permissions], grants: r.grants.map(grantToWire) };
}

export function roleFromWire(r: WireRole): Role {
  const out: Role = { id: r.id, permissions: [...new Set(r.permissions)].sort(), grants: r.grants.map(grantFromWire) };
  if (r.description) out.description = r.description;
  return out;
}

export function bindingToWire(b: Binding): WireBinding {
  return {
    id: b.id,
    subject: { ...b.subject },
    role_id: b.roleId,
    not_before: b.notBefore ?? null,
    expires_at: b.expiresAt ?? null,
    reason: b.reason ?? '',
  };
}

export function bindingFromWire(b: WireBinding): Binding {
  const out: Binding = { id: b.id, subject: { ...b.subject } as BindingSubject, roleId: b.role_id };
  if (b.not_before !== undefined && b.not_before !== null) out.notBefore = b.not_before;
  if (b.expires_at !== undefined && b.expires_at !== null) out.expiresAt = b.expires_at;
  if (b.reason) out.reason = b.reason;
  return out;
}

export function denyRuleToWire(d: DenyRule): WireDenyRule {
  const out: WireDenyRule = {
    id: d.id,
    subjects: structuredClone(d.subjects),
    workload: d.workload,
    methods: [...(d.methods ?? ['*'])],
    paths: [...(d.paths ?? ['/**'])],
    reason: d.reason ?? '',
  };
  const c = conditionsToWire(d.conditions);
  if (c !== undefined) out.conditions = c;
  return out;
}

export function denyRuleFromWire(d: WireDenyRule): DenyRule {
  const out: DenyRule = {
    id: d.id,
    subjects: structuredClone(d.subjects),
    workload: d.workload,
    methods: [...(d.methods ?? ['*'])],
    paths: [...(d.paths ?? ['/**'])],
  };
  const c = conditionsFromWire(d.conditions);
  if (c !== undefined) out.conditions = c;
  if (d.reason) out.reason = d.reason;
  return out;
}

export function workloadToWire(w: Workload): WireWorkload {
  return { id: w.id, name: w.name, hosts: [...w.hosts].sort(), endpoints: w.endpoints.map((e) => ({ ...e })), forward_authorization: w.forwardAuthorization === true };
}

export function workloadFromWire(w: WireWorkload): Workload {
  return {
    id: w.id,
    name: w.name,
    hosts: [...new Set(w.hosts.map((h) => h.toLowerCase()))].sort(),
    endpoints: w.endpoints.map((e) => ({ ...e })),
    ...(w.forward_authorization === true ? { forwardAuthorization: true } : {}),
  };
}

export const toWire = {
  role: roleToWire,
  binding: bindingToWire,
  'deny-rule': denyRuleToWire,
  workload: workloadToWire,
} as const;

export const fromWire = {
  role: roleFromWire,
  binding: bindingFromWire,
  'deny-rule': denyRuleFromWire,
  workload: workloadFromWire,
} as const;

/** camelCase policy-document field names → the wire's snake_case (for error pointers). */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
