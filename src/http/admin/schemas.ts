/**
 * Zod schemas of the admin API's wire form (snake_case). The same schemas
 * validate requests and generate /admin/v1/openapi.json. Objects are strict:
 * an unknown field is a 400, never silently dropped (a misspelt
 * `expires_at` would otherwise mean "never expires"). Deep semantic checks
 * (globs, CIDRs, time zones, references) are `compile()`'s, run by the
 * use-cases on the whole resulting policy.
 */
import { z } from '@hono/zod-openapi';
import type { WireBinding, WireDenyRule, WireRole, WireWorkload } from '../../admin/index.js';

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/;

export const Id = z
  .string()
  .regex(ID_PATTERN, { error: 'must be 1-128 characters: letters, digits, ".", "_", "~", "-", starting with a letter or digit' })
  .openapi({ example: 'billing-user' });

export const IdParam = z.object({
  id: Id.openapi({ param: { name: 'id', in: 'path' } }),
});

const text = (max: number) => z.string().max(max, { error: `must be at most ${max} characters` });
const nonEmpty = (max: number) => z.string().min(1, { error: 'must not be empty' }).max(max, { error: `must be at most ${max} characters` });
/** Epoch seconds, 0 .. year 9999. */
const epochSeconds = z.int().min(0).max(253402300799).openapi({ description: 'Unix time, seconds', example: 1767225600 });

export const Permission = z.enum(['admin', 'auditor']).openapi('Permission');
export const TrustLevel = z.enum(['none', 'low', 'medium', 'high']).openapi('TrustLevel');

export const TimeWindow = z
  .strictObject({
    days: z.array(z.int().min(0).max(6)).min(1).max(7).optional().openapi({ description: '0 = Sunday … 6 = Saturday, in the window’s time zone; absent = every day' }),
    start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'must be HH:MM' }).openapi({ example: '09:00' }),
    end: z.string().regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, { error: 'must be HH:MM (24:00 allowed)' }).openapi({ example: '17:00' }),
    time_zone: nonEmpty(64).openapi({ example: 'Europe/Berlin', description: 'IANA time zone' }),
  })
  .openapi('TimeWindow');

export const Conditions = z
  .strictObject({
    min_device_trust: TrustLevel.optional(),
    mfa: z.boolean().optional(),
    acr: z.array(nonEmpty(256)).min(1).max(32).optional(),
    max_auth_age_seconds: z.int().min(0).max(31536000).optional(),
    time_windows: z.array(TimeWindow).min(1).max(32).optional(),
    source_cidrs: z.array(nonEmpty(64)).min(1).max(256).optional(),
    countries: z.array(z.string().regex(/^[A-Za-z]{2}$/, { error: 'must be a two-letter country code' })).min(1).max(256).optional(),
  })
  .openapi('Conditions', { description: 'All listed conditions must hold (docs/policy.md, "Conditions").' });

const Methods = z.array(nonEmpty(32)).min(1).max(16).openapi({ example: ['GET', 'HEAD'], description: 'Upper-case method names, or "*"' });
const Paths = z.array(nonEmpty(1024)).min(1).max(64).openapi({ example: ['/**'], description: 'Path globs (docs/policy.md, "Path globs")' });
const WorkloadPattern = nonEmpty(256).openapi({ example: 'billing', description: 'Workload id, or a glob with *' });

export const Grant = z
  .strictObject({
    id: Id,
    workload: WorkloadPattern,
    methods: Methods,
    paths: Paths,
    conditions: Conditions.optional(),
  })
  .openapi('Grant');

const roleFields = {
  description: text(1024).optional(),
  permissions: z.array(Permission).max(2).default([]).openapi({ description: 'Admin API permissions the role gives' }),
  grants: z.array(Grant).max(256).default([]),
};

export const RoleCreate = z.strictObject({ id: Id, ...roleFields }).openapi('RoleCreate');
// A PUT replaces the role: `permissions` and `grants` are required, so `{"description": …}` cannot wipe them by accident.
export const RoleUpdate = z
  .strictObject({
    id: Id.optional().openapi({ description: 'If present, must equal the id in the path' }),
    description: roleFields.description,
    permissions: z.array(Permission).max(2),
    grants: z.array(Grant).max(256),
  })
  .openapi('RoleUpdate');
export const Role = z
  .object({ id: Id, description: z.string(), permissions: z.array(Permission), grants: z.array(Grant), version: z.int() })
  .openapi('Role');

export const BindingSubject = z
  .strictObject({
    kind: z.enum(['user', 'email', 'group', 'service']),
    value: nonEmpty(256).openapi({ example: 'contractors' }),
  })
  .openapi('BindingSubject', { description: 'user: IdP sub or Tollgate subject; email; IdP group; service id' });

const bindingFields = {
  subject: BindingSubject,
  role_id: Id,
  not_before: epochSeconds.nullable().optional(),
  expires_at: epochSeconds.nullable().optional(),
  reason: text(1024).optional(),
};

export const BindingCreate = z
  .strictObject({ id: Id.optional().openapi({ description: 'Generated when absent' }), ...bindingFields })
  .openapi('BindingCreate');
export const BindingUpdate = z
  .strictObject({ id: Id.optional().openapi({ description: 'If present, must equal the id in the path' }), ...bindingFields })
  .openapi('BindingUpdate');
export const Binding = z
  .object({
    id: Id,
    subject: BindingSubject,
    role_id: Id,
    not_before: z.int().nullable(),
    expires_at: z.int().nullable(),
    reason: z.string(),
    version: z.int(),
  })
  .openapi('Binding');

export const DenySubjects = z
  .strictObject({
    everyone: z.boolean().optional(),
    users: z.array(nonEmpty(256)).max(256).optional(),
    emails: z.array(nonEmpty(256)).max(256).optional(),
    groups: z.array(nonEmpty(256)).max(256).optional(),
    services: z.array(nonEmpty(256)).max(256).optional(),
  })
  .openapi('DenySubjects');

const denyFields = {
  subjects: DenySubjects,
  workload: WorkloadPattern,
  methods: Methods.optional().openapi({ description: 'Absent = any method' }),
  paths: Paths.optional().openapi({ description: 'Absent = any path' }),
  conditions: Conditions.optional(),
  reason: text(1024).optional(),
};

export const DenyRuleCreate = z
  .strictObject({ id: Id.optional().openapi({ description: 'Generated when absent' }), ...denyFields })
  .openapi('DenyRuleCreate');
export const DenyRuleUpdate = z
  .strictObject({ id: Id.optional().openapi({ description: 'If present, must equal the id in the path' }), ...denyFields })
  .openapi('DenyRuleUpdate');
export const DenyRule = z
  .object({
    id: Id,
    subjects: DenySubjects,
    workload: z.string(),
    methods: z.array(z.string()),
    paths: z.array(z.string()),
    conditions: Conditions.optional(),
    reason: z.string(),
    version: z.int(),
  })
  .openapi('DenyRule');

export const Endpoint = z
  .strictObject({
    id: Id,
    url: nonEmpty(2048).openapi({ example: 'http://10.0.0.12:8443', description: 'http(s) origin of the workload’s guard' }),
    location: z
      .string()
      .regex(/^(onprem|aws:[a-z0-9-]{1,32}|azure:[a-z0-9-]{1,32})$/, { error: 'must be onprem, aws:<region> or azure:<region>' })
      .default('onprem'),
    source: z.enum(['static', 'ecs', 'azure']).default('static'),
    health: z.enum(['healthy', 'unhealthy', 'unknown']).default('unknown'),
  })
  .openapi('Endpoint');

const workloadFields = {
  name: nonEmpty(256),
  hosts: z.array(nonEmpty(261)).max(32).openapi({ example: ['billing.example.com'], description: 'Authorities (host[:port]) the workload is served on' }),
  endpoints: z.array(Endpoint).max(32),
  forward_authorization: z
    .boolean()
    .optional()
    .openapi({ description: 'Bearer path only: pass the caller’s Authorization header to the workload (default false: it is removed, the workload gets the assertion)' }),
};

export const WorkloadCreate = z.strictObject({ id: Id, ...workloadFields }).openapi('WorkloadCreate');
export const WorkloadUpdate = z
  .strictObject({ id: Id.optional().openapi({ description: 'If present, must equal the id in the path' }), ...workloadFields })
  .openapi('WorkloadUpdate');
export const Workload = z
  .object({
    id: Id,
    name: z.string(),
    hosts: z.array(z.string()),
    endpoints: z.array(Endpoint),
    forward_authorization: z.boolean(),
    version: z.int(),
  })
  .openapi('Workload');

export const Problem = z
  .object({
    type: z.string().openapi({ example: 'https://tollgate.dev/problems/precondition-failed' }),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    request_id: z.string(),
    reasons: z.array(z.string()).optional(),
    errors: z
      .array(z.object({ in: z.enum(['body', 'query', 'path', 'header']), pointer: z.string(), detail: z.string() }))
      .optional()
      .openapi({ description: 'The failing fields (validation errors)' }),
  })
  .openapi('Problem', { description: 'RFC 9457 problem details' });

// Compile-time check: the schemas' output matches the use-cases' wire types.
type Assert<T extends true> = T;
type Extends<A, B> = A extends B ? true : false;
export type SchemaChecks = [
  Assert<Extends<Omit<z.output<typeof RoleCreate>, never>, WireRole>>,
  Assert<Extends<z.output<typeof BindingCreate> & { id: string }, WireBinding>>,
  Assert<Extends<z.output<typeof DenyRuleCreate> & { id: string }, WireDenyRule>>,
  Assert<Extends<z.output<typeof WorkloadCreate>, WireWorkload>>,
];
