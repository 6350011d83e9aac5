/** Decoding D1 rows (JSON columns included) into domain objects, validated. */
import { z } from 'zod';
import { TollgateError } from '../errors.js';
import type { Binding, Conditions, DenyRule, Grant, Role } from '../policy/index.js';
import type { Endpoint, Workload } from '../catalog/types.js';
import { grantIdFromRow } from './keys.js';
import type { SessionRecord } from './ports.js';

const stringArray = z.array(z.string());
const permissions = z.array(z.enum(['admin', 'auditor']));
// Conditions are validated in depth by policy compile(); here only the shape.
const conditions = z.record(z.string(), z.unknown());
const denySubjects = z.object({
  everyone: z.boolean().optional(),
  users: stringArray.optional(),
  emails: stringArray.optional(),
  groups: stringArray.optional(),
  services: stringArray.optional(),
});

function json<T>(schema: z.ZodType<T>, text: unknown, where: string): T {
  let value: unknown;
  try {
    value = JSON.parse(String(text));
  } catch (cause) {
    throw new TollgateError('config-invalid', `${where}: not JSON`, { cause });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new TollgateError('config-invalid', `${where}: unexpected shape`, { cause: parsed.error });
  return parsed.data;
}

function optInt(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

export interface Rows {
  roles: Record<string, unknown>[];
  grants: Record<string, unknown>[];
  bindings: Record<string, unknown>[];
  denyRules: Record<string, unknown>[];
  workloads: Record<string, unknown>[];
  hosts: Record<string, unknown>[];
  endpoints: Record<string, unknown>[];
}

export function decodeRows(rows: Rows): { roles: Role[]; bindings: Binding[]; denyRules: DenyRule[]; workloads: Workload[] } {
  const grantsByRole = new Map<string, Grant[]>();
  for (const g of rows.grants) {
    const id = grantIdFromRow(String(g.role_id), String(g.id));
    const grant: Grant = {
      id,
      workload: String(g.workload),
      methods: json(stringArray, g.methods, `grant ${id} methods`),
      paths: json(stringArray, g.paths, `grant ${id} paths`),
    };
    const cond = json(conditions, g.conditions, `grant ${id} conditions`);
    if (Object.keys(cond).length > 0) grant.conditions = cond as Conditions;
    const list = grantsByRole.get(String(g.role_id)) ?? [];
    list.push(grant);
    grantsByRole.set(String(g.role_id), list);
  }
  const roles: Role[] = rows.roles.map((r) => {
    const id = String(r.id);
    const role: Role = {
      id,
      grants: grantsByRole.get(id) ?? [],
      permissions: json(permissions, r.permissions, `role ${id} permissions`),
    };
    if (r.description) role.description = String(r.description);
    return role;
  });
  const bindings: Binding[] = rows.bindings.map((b) => {
    const kind = String(b.subject_kind);
    if (kind !== 'user' && kind !== 'email' && kind !== 'group' && kind !== 'service') {
      throw new TollgateError('config-invalid', `binding ${String(b.id)}: unknown subject kind`);
    }
    const binding: Binding = { id: String(b.id), subject: { kind, value: String(b.subject) }, roleId: String(b.role_id) };
    const nb = optInt(b.not_before);
    const exp = optInt(b.expires_at);
    if (nb !== undefined) binding.notBefore = nb;
    if (exp !== undefined) binding.expiresAt = exp;
    if (b.reason) binding.reason = String(b.reason);
    return binding;
  });
  const denyRules: DenyRule[] = rows.denyRules.map((d) => {
    const id = String(d.id);
    const rule: DenyRule = {
      id,
      subjects: json(denySubjects, d.subjects, `deny rule ${id} subjects`),
      workload: String(d.workload),
      methods: json(stringArray, d.methods, `deny rule ${id} methods`),
      paths: json(stringArray, d.paths, `deny rule ${id} paths`),
    };
    const cond = json(conditions, d.conditions, `deny rule ${id} conditions`);
    if (Object.keys(cond).length > 0) rule.conditions = cond as Conditions;
    if (d.reason) rule.reason = String(d.reason);
    return rule;
  });
  const hostsBy = new Map<string, string[]>();
  for (const h of rows.hosts) {
    const list = hostsBy.get(String(h.workload_id)) ?? [];
    list.push(String(h.host));
    hostsBy.set(String(h.workload_id), list);
  }
  const endpointsBy = new Map<string, Endpoint[]>();
  for (const e of rows.endpoints) {
    const list = endpointsBy.get(String(e.workload_id)) ?? [];
    list.push({
      id: String(e.id),
      url: String(e.url),
      location: String(e.location),
      source: String(e.source) as Endpoint['source'],
      health: String(e.health) as Endpoint['health'],
    });
    endpointsBy.set(String(e.workload_id), list);
  }
  const workloads: Workload[] = rows.workloads.map((w) => ({
    id: String(w.id),
    name: String(w.name),
    hosts: hostsBy.get(String(w.id)) ?? [],
    endpoints: endpointsBy.get(String(w.id)) ?? [],
    ...(Number(w.forward_authorization ?? 0) === 1 ? { forwardAuthorization: true } : {}),
  }));
  return { roles, bindings, denyRules, workloads };
}

/** A `sessions` row (id, subject, email, created_at, expires_at, revoked_at) as a SessionRecord. */
export function sessionFromRow(row: Record<string, unknown>): SessionRecord {
  const rec: SessionRecord = {
    id: String(row.id),
    subject: String(row.subject),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
  };
  if (row.email !== null && row.email !== undefined) rec.email = String(row.email);
  if (row.revoked_at !== null && row.revoked_at !== undefined) rec.revokedAt = Number(row.revoked_at);
  return rec;
}
