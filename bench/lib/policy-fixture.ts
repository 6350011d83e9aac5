/**
 * A generated policy at scale (1,000 roles, up to 10,000 bindings, 200
 * workloads) in two forms that decide alike: Tollgate's PolicyDocument and an
 * equivalent Cedar policy set plus the entities each request needs.
 *
 * Cedar has no roles and no time-bound edges, so the translation is the
 * idiomatic one: a role is an entity that groups and users are members of
 * (bindings without time bounds become entity parents), every grant is one
 * `permit` on `principal in Role::"…"`, every time-bound binding becomes its
 * own `permit` per grant of its role (with the validity interval in the
 * condition), every deny rule a `forbid`. Path globs become `like`/`==`
 * conditions with the same meaning for the globs used here ("*" one segment:
 * `like "/p/*" && !(like "/p/*\/*")`). Time windows are in UTC (Cedar has no
 * time zones; the caller passes the UTC weekday and minute). The entity slice
 * of each probe request is built once, outside the timed loop — Cedar at its
 * fastest.
 */
import type { Binding, Conditions, DecisionInput, DenyRule, Grant, PolicyDocument, Role } from '../../src/policy/index.js';
import { pick, rng } from './measure.js';

export const WORKLOADS = 200;
export const ROLES = 1000;
export const GROUPS = 400;
export const USERS = 5000;
/** Bindings the probe subjects rely on; present at every scale. */
export const PROBE_BINDINGS = 10;

const MFA = ['mfa', 'mca', 'otp', 'hwk', 'swk', 'fpt', 'face', 'iris', 'retina', 'vbm', 'sc', 'pop'];
const wid = (i: number) => `w${String(i).padStart(3, '0')}`;
const gid = (i: number) => `g${String(i).padStart(3, '0')}`;
const uid = (i: number) => `u${String(i).padStart(4, '0')}`;
const rid = (i: number) => `r${String(i).padStart(4, '0')}`;

/** Path globs used by grants, with the request paths that exercise them. */
const PATH_SETS: string[][] = [
  ['/api/v1/items/**'],
  ['/api/v1/items/*', '/api/v1/health'],
  ['/reports/**', '/api/v1/health'],
  ['/**'],
  ['/api/v1/orders/*', '/api/v1/orders'],
  ['/admin/**'],
];
const REQUEST_PATHS = ['/api/v1/items/42', '/api/v1/items/42/history', '/api/v1/health', '/reports/2026/q3', '/api/v1/orders/7', '/admin/users', '/'];
/** A request path that the glob matches. */
function examplePath(glob: string): string {
  if (glob === '/**') return '/';
  if (glob.endsWith('/**')) return `${glob.slice(0, -3)}/2026/q3`;
  if (glob.endsWith('/*')) return `${glob.slice(0, -2)}/42`;
  return glob;
}
const METHOD_SETS: string[][] = [['GET'], ['GET', 'HEAD'], ['*'], ['GET', 'POST', 'PUT', 'DELETE']];

function conditionsFor(r: () => number): Conditions | undefined {
  if (r() < 0.5) return undefined;
  const c: Conditions = {};
  if (r() < 0.35) c.mfa = true;
  if (r() < 0.3) c.maxAuthAgeSeconds = 8 * 3600;
  if (r() < 0.25) c.sourceCidrs = ['10.0.0.0/8', '192.168.0.0/16'];
  if (r() < 0.25) c.countries = ['DE', 'FR', 'US', 'GB'];
  if (r() < 0.15) c.timeWindows = [{ days: [1, 2, 3, 4, 5], start: '06:00', end: '20:00', timeZone: 'UTC' }];
  if (r() < 0.08) c.minDeviceTrust = 'medium';
  return Object.keys(c).length ? c : undefined;
}

export interface Fixture {
  roles: Role[];
  /** Probe bindings first, then noise bindings; `documentAt(n)` takes the first n. */
  bindings: Binding[];
  denyRules: DenyRule[];
  workloads: string[];
  probes: DecisionInput[];
}

/** The fixed part: roles, deny rules, 10,000 bindings (first PROBE_BINDINGS for the probes), probe requests. */
export function generate(seed = 20261128): Fixture {
  const r = rng(seed);
  const workloads = Array.from({ length: WORKLOADS }, (_, i) => wid(i));
  const roles: Role[] = [];
  for (let i = 0; i < ROLES; i++) {
    const grants: Grant[] = [];
    const n = 1 + Math.floor(r() * 3);
    for (let g = 0; g < n; g++) {
      // 2% of grants name a workload glob ("w01*": ten workloads).
      const workload = r() < 0.02 ? `${wid(Math.floor(r() * WORKLOADS)).slice(0, 3)}*` : pick(r, workloads);
      const grant: Grant = { id: `g${g}`, workload, methods: pick(r, METHOD_SETS), paths: pick(r, PATH_SETS) };
      const c = conditionsFor(r);
      if (c) grant.conditions = c;
      grants.push(grant);
    }
    roles.push({ id: rid(i), grants, permissions: [] });
  }

  // Probe subjects: users u0000..u0007 in groups g000..g007 (two each); their bindings come first.
  const probeUsers = Array.from({ length: 8 }, (_, i) => ({ sub: uid(i), email: `${uid(i)}@example.com`, groups: [gid(i), gid((i + 1) % 8)] }));
  const bindings: Binding[] = [];
  const now = 1_795_000_000; // a Tuesday, 2026-11-17 (UTC)
  for (let i = 0; i < PROBE_BINDINGS; i++) {
    const b: Binding = i < 8
      ? { id: `pb${i}`, subject: { kind: 'group', value: gid(i) }, roleId: rid(i * 7) }
      : { id: `pb${i}`, subject: { kind: 'user', value: uid(i - 8) }, roleId: rid(500 + i) };
    if (i === 3) b.expiresAt = now + 3600; // time-bound, valid
    if (i === 5) b.expiresAt = now - 60; // expired: explains a deny
    bindings.push(b);
  }
  // Noise: other subjects (groups g010.., users u0010..), same distributions.
  for (let i = bindings.length; i < 10_000; i++) {
    const k = r();
    const subject: Binding['subject'] = k < 0.7
      ? { kind: 'group', value: gid(10 + Math.floor(r() * (GROUPS - 10))) }
      : k < 0.95
        ? { kind: 'user', value: uid(10 + Math.floor(r() * (USERS - 10))) }
        : { kind: 'email', value: `${uid(10 + Math.floor(r() * (USERS - 10)))}@example.com` };
    const b: Binding = { id: `b${i}`, subject, roleId: rid(Math.floor(r() * ROLES)) };
    const t = r();
    if (t < 0.12) b.expiresAt = now + Math.floor(r() * 86400 * 30) - 86400 * 5;
    else if (t < 0.17) {
      b.notBefore = now + Math.floor(r() * 86400 * 10) - 86400 * 5;
      b.expiresAt = b.notBefore + 86400;
    }
    bindings.push(b);
  }

  const denyRules: DenyRule[] = [
    { id: 'embargo', subjects: { everyone: true }, workload: '*', conditions: { countries: ['KP', 'IR'] } },
    { id: 'writes-need-mfa', subjects: { everyone: true }, workload: 'w00*', methods: ['POST', 'PUT', 'DELETE'], conditions: { mfa: true } },
  ];
  for (let i = 0; i < 18; i++) {
    denyRules.push({
      id: `d${i}`,
      subjects: { groups: [gid(Math.floor(r() * GROUPS))] },
      workload: pick(r, workloads),
      paths: ['/admin/**'],
    });
  }
  // One that hits a probe: group g002 may not use /admin on the workload its binding targets.
  const probeRoleGrant = roles[14]!.grants[0]!;
  denyRules.push({ id: 'probe-admin', subjects: { groups: [gid(2)] }, workload: probeRoleGrant.workload.includes('*') ? 'w000' : probeRoleGrant.workload, paths: ['/admin/**'] });

  // Probe requests: each probe user × workloads of its roles' grants (and some other workloads) × paths/methods.
  const probes: DecisionInput[] = [];
  const pr = rng(seed + 1);
  const roleOf = new Map<string, string[]>();
  for (const b of bindings.slice(0, PROBE_BINDINGS)) {
    const key = b.subject.value;
    roleOf.set(key, [...(roleOf.get(key) ?? []), b.roleId]);
  }
  while (probes.length < 64) {
    const u = pick(pr, probeUsers);
    const myRoles = [...(roleOf.get(u.sub) ?? []), ...u.groups.flatMap((g) => roleOf.get(g) ?? [])];
    const roleId = pick(pr, myRoles);
    const role = roles.find((x) => x.id === roleId)!;
    const grant = pick(pr, role.grants);
    // 75% aimed at one of the subject's grants (its workload, a method and a path it covers), 25% anywhere.
    const aimed = pr() < 0.75;
    const workload = aimed ? (grant.workload.includes('*') ? `${grant.workload.slice(0, -1)}3` : grant.workload) : pick(pr, workloads);
    const methods = grant.methods.includes('*') ? ['GET', 'POST', 'DELETE'] : grant.methods;
    const method = aimed ? pick(pr, methods) : pick(pr, ['GET', 'GET', 'GET', 'POST', 'HEAD']);
    const path = aimed ? examplePath(pick(pr, grant.paths)) : pick(pr, REQUEST_PATHS);
    const country = pick(pr, ['DE', 'US', 'FR', 'GB', 'DE', 'US', 'BR', 'IR']);
    const input: DecisionInput = {
      subject: { kind: 'user', id: `user:abcdefghijkl:${u.sub}`, sub: u.sub, email: u.email, groups: u.groups },
      auth: { authTime: now - Math.floor(pr() * 12 * 3600), ...(pr() < 0.6 ? { amr: ['pwd', 'otp'] } : { amr: ['pwd'] }) },
      request: { workload, method, path, ip: pick(pr, ['10.1.2.3', '203.0.113.9', '192.168.1.20']), country },
      now: now + Math.floor(pr() * 3600),
    };
    if (pr() < 0.5) input.device = { id: 'dev1', trust: pick(pr, ['low', 'medium', 'high'] as const) };
    probes.push(input);
  }
  return { roles, bindings, denyRules, workloads, probes };
}

export function documentAt(f: Fixture, n: number): PolicyDocument {
  return { roles: f.roles, bindings: f.bindings.slice(0, n), denyRules: f.denyRules };
}

// ---------------------------------------------------------------------------- Cedar

const q = (s: string) => JSON.stringify(s);

function pathCond(glob: string): string {
  if (glob === '/**') return 'true';
  if (glob.endsWith('/**')) {
    const p = glob.slice(0, -3);
    return `(context.path == ${q(p)} || context.path like ${q(`${p}/*`)})`;
  }
  if (glob.endsWith('/*')) {
    const p = glob.slice(0, -2);
    return `(context.path like ${q(`${p}/*`)} && !(context.path like ${q(`${p}/*/*`)}))`;
  }
  return `context.path == ${q(glob)}`;
}

function conditionExprs(c: Conditions | undefined): string[] {
  if (!c) return [];
  const out: string[] = [];
  if (c.minDeviceTrust) out.push(`context.deviceTrust >= ${{ none: 0, low: 1, medium: 2, high: 3 }[c.minDeviceTrust]}`);
  if (c.mfa) out.push(`context.amr.containsAny(${JSON.stringify(MFA)})`);
  if (c.maxAuthAgeSeconds !== undefined) out.push(`context has authTime && context.now - context.authTime <= ${c.maxAuthAgeSeconds}`);
  if (c.timeWindows) {
    out.push(`(${c.timeWindows.map((w) => {
      const [sh, sm] = w.start.split(':').map(Number);
      const [eh, em] = w.end.split(':').map(Number);
      const days = w.days ?? [0, 1, 2, 3, 4, 5, 6];
      return `(${JSON.stringify(days)}.contains(context.utcDay) && context.utcMinute >= ${sh! * 60 + sm!} && context.utcMinute < ${eh! * 60 + em!})`;
    }).join(' || ')})`);
  }
  if (c.sourceCidrs) out.push(`context has ip && (${c.sourceCidrs.map((x) => `context.ip.isInRange(ip(${q(x)}))`).join(' || ')})`);
  if (c.countries) out.push(`context has country && ${JSON.stringify(c.countries)}.contains(context.country)`);
  return out;
}

function targetExprs(workload: string, methods: string[] | undefined, paths: string[] | undefined): { action: string; resource: string; when: string[] } {
  const action = !methods || methods.includes('*') ? 'action' : `action in [${methods.map((m) => `Action::${q(m)}`).join(', ')}]`;
  const when: string[] = [];
  let resource = 'resource';
  if (workload.includes('*')) when.push(`resource.name like ${q(workload)}`);
  else resource = `resource == Workload::${q(workload)}`;
  if (paths) when.push(`(${paths.map(pathCond).join(' || ')})`);
  return { action, resource, when };
}

function principalOf(b: Binding): string {
  switch (b.subject.kind) {
    case 'group':
      return `principal in Group::${q(b.subject.value)}`;
    case 'user':
      return `principal == User::${q(b.subject.value)}`;
    case 'email':
      return `principal.email == ${q(b.subject.value)}`;
    default:
      return 'false';
  }
}

export interface CedarPolicySet {
  text: string;
  policies: number;
}

/** Cedar policies equivalent to `documentAt(f, n)`. */
export function cedarPolicies(f: Fixture, n: number): CedarPolicySet {
  const parts: string[] = [];
  for (const role of f.roles) {
    for (const g of role.grants) {
      const t = targetExprs(g.workload, g.methods, g.paths);
      const when = [...t.when, ...conditionExprs(g.conditions)];
      parts.push(`permit (principal in Role::${q(role.id)}, ${t.action}, ${t.resource})${when.length ? ` when { ${when.join(' && ')} }` : ''};`);
    }
  }
  const roles = new Map(f.roles.map((x) => [x.id, x]));
  for (const b of f.bindings.slice(0, n)) {
    if (b.notBefore === undefined && b.expiresAt === undefined) continue; // an entity edge instead
    const p = principalOf(b);
    for (const g of roles.get(b.roleId)!.grants) {
      const t = targetExprs(g.workload, g.methods, g.paths);
      const when = [...t.when, ...conditionExprs(g.conditions)];
      if (b.notBefore !== undefined) when.push(`context.now >= ${b.notBefore}`);
      if (b.expiresAt !== undefined) when.push(`context.now < ${b.expiresAt}`);
      if (b.subject.kind === 'email') when.unshift(p);
      const principal = b.subject.kind === 'email' ? 'principal' : p;
      parts.push(`permit (${principal}, ${t.action}, ${t.resource}) when { ${when.join(' && ')} };`);
    }
  }
  for (const d of f.denyRules) {
    const t = targetExprs(d.workload, d.methods, d.paths);
    const subj = d.subjects.everyone ? [] : [`(${(d.subjects.groups ?? []).map((g) => `principal in Group::${q(g)}`).join(' || ') || 'false'})`];
    const c = d.conditions;
    const scope: string[] = [];
    if (c?.countries) scope.push(`(!(context has country) || ${JSON.stringify(c.countries)}.contains(context.country))`);
    const requirements = conditionExprs(c?.mfa ? { mfa: true } : undefined);
    const when = [...subj, ...t.when, ...scope];
    parts.push(`forbid (principal, ${t.action}, ${t.resource})${when.length ? ` when { ${when.join(' && ')} }` : ''}${requirements.length ? ` unless { ${requirements.join(' && ')} }` : ''};`);
  }
  return { text: parts.join('\n'), policies: parts.length };
}

export interface CedarRequest {
  principal: { type: string; id: string };
  action: { type: string; id: string };
  resource: { type: string; id: string };
  context: Record<string, unknown>;
  entities: { uid: { type: string; id: string }; attrs: Record<string, unknown>; parents: { type: string; id: string }[] }[];
}

/** The Cedar request for a probe at scale n: entity slice from the untimed bindings (what an app would look up). */
export function cedarRequest(f: Fixture, n: number, input: DecisionInput): CedarRequest {
  const s = input.subject;
  const untimed = f.bindings.slice(0, n).filter((b) => b.notBefore === undefined && b.expiresAt === undefined);
  const userRoles = untimed.filter((b) => (b.subject.kind === 'user' && b.subject.value === s.sub) || (b.subject.kind === 'email' && b.subject.value === s.email));
  const entities: CedarRequest['entities'] = [
    {
      uid: { type: 'User', id: s.sub },
      attrs: { email: s.email ?? '' },
      parents: [...s.groups.map((g) => ({ type: 'Group', id: g })), ...userRoles.map((b) => ({ type: 'Role', id: b.roleId }))],
    },
    ...s.groups.map((g) => ({
      uid: { type: 'Group', id: g },
      attrs: {},
      parents: untimed.filter((b) => b.subject.kind === 'group' && b.subject.value === g).map((b) => ({ type: 'Role', id: b.roleId })),
    })),
    { uid: { type: 'Workload', id: input.request.workload }, attrs: { name: input.request.workload }, parents: [] },
  ];
  const d = new Date(input.now * 1000);
  const context: Record<string, unknown> = {
    path: input.request.path,
    now: input.now,
    amr: input.auth?.amr ?? [],
    deviceTrust: input.device ? { none: 0, low: 1, medium: 2, high: 3 }[input.device.trust] : 0,
    utcDay: d.getUTCDay(),
    utcMinute: d.getUTCHours() * 60 + d.getUTCMinutes(),
  };
  if (input.auth?.authTime !== undefined) context.authTime = input.auth.authTime;
  if (input.request.ip) context.ip = { __extn: { fn: 'ip', arg: input.request.ip } };
  if (input.request.country) context.country = input.request.country;
  return {
    principal: { type: 'User', id: s.sub },
    action: { type: 'Action', id: input.request.method },
    resource: { type: 'Workload', id: input.request.workload },
    context,
    entities,
  };
}
