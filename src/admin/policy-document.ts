/**
 * Policy as code (docs/audit.md, "Policy as code"): the whole configuration —
 * roles, deny rules, bindings, workloads — as one JSON document in the admin
 * API's wire form, the diff between two of them, and the ops that turn one
 * into the other. Pure: no storage, no HTTP.
 *
 * Canonical form: what the store gives back after a write. Lists are ordered
 * by id; a role's permissions sorted and its grants by grant id (the order the store returns them in);
 * a workload's hosts lower-cased, unique and sorted, its endpoints by id;
 * defaults filled in (deny rule methods `["*"]`, paths `["/**"]`, empty
 * description / reason, null binding bounds). Export is canonical, and the
 * diff compares canonical forms, so export → import is always an empty diff.
 */
import type { Workload } from '../catalog/index.js';
import { compileCatalog } from '../catalog/index.js';
import { TollgateError } from '../errors.js';
import type { Binding, DenyRule, Role } from '../policy/index.js';
import {
  bindingFromWire,
  bindingToWire,
  denyRuleFromWire,
  denyRuleToWire,
  roleFromWire,
  roleToWire,
  workloadFromWire,
  workloadToWire,
  type WireBinding,
  type WireDenyRule,
  type WireRole,
  type WireWorkload,
} from './wire.js';

/** The export / import document. `version` is the configuration version it was read at (informational on import). */
export interface PolicyExport {
  version: string;
  roles: WireRole[];
  deny_rules: WireDenyRule[];
  bindings: WireBinding[];
  workloads: WireWorkload[];
}

/** The document as the import body may carry it (`version` optional, ignored: If-Match decides). */
export type PolicyImport = Omit<PolicyExport, 'version'> & { version?: string };

/** The same content in domain form. */
export interface PolicyContent {
  roles: Role[];
  bindings: Binding[];
  denyRules: DenyRule[];
  workloads: Workload[];
}

/** The store's resource kinds (src/store ConfigKind), restated so this module stays runtime-neutral (Node tests). */
type Kind = 'role' | 'binding' | 'deny-rule' | 'workload';

/** A write the store's `commit` understands (assignable to src/store `ConfigOp`). */
export type ImportOp =
  | { type: 'put'; kind: 'role'; value: Role }
  | { type: 'put'; kind: 'binding'; value: Binding }
  | { type: 'put'; kind: 'deny-rule'; value: DenyRule }
  | { type: 'put'; kind: 'workload'; value: Workload }
  | { type: 'delete'; kind: Kind; id: string };

/** The part of the store's ConfigState this module reads. */
export interface StateLike {
  roles: { value: Role }[];
  bindings: { value: Binding }[];
  denyRules: { value: DenyRule }[];
  workloads: { value: Workload }[];
}

type Section = 'roles' | 'deny_rules' | 'bindings' | 'workloads';
export const SECTIONS: readonly Section[] = ['roles', 'deny_rules', 'bindings', 'workloads'];
const KIND: Record<Section, Kind> = { roles: 'role', deny_rules: 'deny-rule', bindings: 'binding', workloads: 'workload' };

export interface SectionDiff<W> {
  added: W[];
  removed: W[];
  changed: { id: string; before: W; after: W }[];
}

export interface PolicyDiff {
  roles: SectionDiff<WireRole>;
  deny_rules: SectionDiff<WireDenyRule>;
  bindings: SectionDiff<WireBinding>;
  workloads: SectionDiff<WireWorkload>;
  /** Totals over all sections. */
  summary: { added: number; removed: number; changed: number };
  empty: boolean;
}

const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The content as the store would return it (see the module comment). */
export function canonicalContent(c: PolicyContent): PolicyContent {
  return {
    roles: c.roles.map((r) => ({ ...r, permissions: [...new Set(r.permissions)].sort(), grants: [...r.grants].sort(byId) })).sort(byId),
    bindings: [...c.bindings].sort(byId),
    denyRules: [...c.denyRules].sort(byId),
    workloads: c.workloads
      .map((w) => ({ ...w, hosts: [...new Set(w.hosts.map((h) => h.toLowerCase()))].sort(), endpoints: [...w.endpoints].sort(byId) }))
      .sort(byId),
  };
}

export function contentOfState(state: StateLike): PolicyContent {
  return {
    roles: state.roles.map((v) => v.value),
    bindings: state.bindings.map((v) => v.value),
    denyRules: state.denyRules.map((v) => v.value),
    workloads: state.workloads.map((v) => v.value),
  };
}

/** The canonical export document. */
export function exportPolicy(content: PolicyContent, version: string): PolicyExport {
  const c = canonicalContent(content);
  return {
    version,
    roles: c.roles.map(roleToWire),
    deny_rules: c.denyRules.map(denyRuleToWire),
    bindings: c.bindings.map(bindingToWire),
    workloads: c.workloads.map(workloadToWire),
  };
}

/** Domain form of an (already schema-validated) import document. */
export function contentOfDocument(doc: PolicyImport): PolicyContent {
  return {
    roles: doc.roles.map(roleFromWire),
    bindings: doc.bindings.map(bindingFromWire),
    denyRules: doc.deny_rules.map(denyRuleFromWire),
    workloads: doc.workloads.map(workloadFromWire),
  };
}

/** JSON with object keys sorted: equal values, equal strings. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

function diffSection<W extends { id: string }>(before: W[], after: W[]): SectionDiff<W> {
  const old = new Map(before.map((w) => [w.id, w]));
  const now = new Map(after.map((w) => [w.id, w]));
  const out: SectionDiff<W> = { added: [], removed: [], changed: [] };
  for (const w of after) {
    const prev = old.get(w.id);
    if (!prev) out.added.push(w);
    else if (stableJson(prev) !== stableJson(w)) out.changed.push({ id: w.id, before: prev, after: w });
  }
  for (const w of before) if (!now.has(w.id)) out.removed.push(w);
  return out;
}

/** What changes when `current` is replaced by `candidate`, per resource kind, in wire form. */
export function diffPolicy(current: PolicyContent, candidate: PolicyContent): PolicyDiff {
  const a = exportPolicy(current, '');
  const b = exportPolicy(candidate, '');
  const diff = {
    roles: diffSection(a.roles, b.roles),
    deny_rules: diffSection(a.deny_rules, b.deny_rules),
    bindings: diffSection(a.bindings, b.bindings),
    workloads: diffSection(a.workloads, b.workloads),
  } as Omit<PolicyDiff, 'summary' | 'empty'>;
  const summary = { added: 0, removed: 0, changed: 0 };
  for (const s of SECTIONS) {
    summary.added += diff[s].added.length;
    summary.removed += diff[s].removed.length;
    summary.changed += diff[s].changed.length;
  }
  return { ...diff, summary, empty: summary.added + summary.removed + summary.changed === 0 };
}

/**
 * The ops that turn `current` into `candidate`, ordered so every statement of
 * the batch is valid when it runs (foreign keys, unique host names and
 * endpoint ids):
 *   1. delete removed bindings and deny rules, delete removed workloads;
 *      shrink changed workloads to the hosts / endpoints they keep (so a host
 *      or endpoint moving to another workload is free before it is claimed);
 *   2. put roles, then bindings (they reference roles), deny rules, workloads;
 *   3. delete removed roles (nothing references them any more).
 */
export function importOps(current: PolicyContent, candidate: PolicyContent): ImportOp[] {
  const cur = canonicalContent(current);
  const cand = canonicalContent(candidate);
  const diff = diffPolicy(cur, cand);
  const ops: ImportOp[] = [];
  const candRole = new Map(cand.roles.map((r) => [r.id, r]));
  const candBinding = new Map(cand.bindings.map((b) => [b.id, b]));
  const candDeny = new Map(cand.denyRules.map((d) => [d.id, d]));
  const candWorkload = new Map(cand.workloads.map((w) => [w.id, w]));
  const curWorkload = new Map(cur.workloads.map((w) => [w.id, w]));

  for (const b of diff.bindings.removed) ops.push({ type: 'delete', kind: 'binding', id: b.id });
  for (const d of diff.deny_rules.removed) ops.push({ type: 'delete', kind: 'deny-rule', id: d.id });
  for (const w of diff.workloads.removed) ops.push({ type: 'delete', kind: 'workload', id: w.id });
  for (const { id } of diff.workloads.changed) {
    const before = curWorkload.get(id)!;
    const after = candWorkload.get(id)!;
    const keepHosts = new Set(after.hosts);
    const keepEndpoints = new Set(after.endpoints.map((e) => e.id));
    if (before.hosts.some((h) => !keepHosts.has(h)) || before.endpoints.some((e) => !keepEndpoints.has(e.id))) {
      ops.push({
        type: 'put',
        kind: 'workload',
        value: { ...before, hosts: before.hosts.filter((h) => keepHosts.has(h)), endpoints: before.endpoints.filter((e) => keepEndpoints.has(e.id)) },
      });
    }
  }
  for (const r of [...diff.roles.added, ...diff.roles.changed.map((c) => c.after)]) ops.push({ type: 'put', kind: 'role', value: candRole.get(r.id)! });
  for (const b of [...diff.bindings.added, ...diff.bindings.changed.map((c) => c.after)]) ops.push({ type: 'put', kind: 'binding', value: candBinding.get(b.id)! });
  for (const d of [...diff.deny_rules.added, ...diff.deny_rules.changed.map((c) => c.after)]) ops.push({ type: 'put', kind: 'deny-rule', value: candDeny.get(d.id)! });
  for (const w of [...diff.workloads.added, ...diff.workloads.changed.map((c) => c.after)]) ops.push({ type: 'put', kind: 'workload', value: candWorkload.get(w.id)! });
  for (const r of diff.roles.removed) ops.push({ type: 'delete', kind: 'role', id: r.id });
  return ops;
}

/**
 * Checks an import document needs beyond the per-resource schema and
 * `compile()`: ids unique per kind, host names and endpoint ids unique across
 * workloads, every host a valid authority that is not the gateway's own.
 * Throws `policy-invalid` (422) naming the place, as RFC 9457 `errors`.
 */
export function checkDocument(doc: PolicyImport, options: { originAuthority: string }): void {
  const fail = (pointer: string, detail: string): never => {
    throw new TollgateError('policy-invalid', `${pointer}: ${detail}`, { details: { errors: [{ in: 'body', pointer, detail }] } });
  };
  for (const section of SECTIONS) {
    const seen = new Set<string>();
    doc[section].forEach((item: { id: string }, i: number) => {
      if (seen.has(item.id)) fail(`/${section}/${i}/id`, `duplicate ${KIND[section]} id "${item.id}"`);
      seen.add(item.id);
    });
  }
  const hosts = new Map<string, string>();
  const endpoints = new Map<string, string>();
  doc.workloads.forEach((w, i) => {
    const mine = new Set<string>();
    w.hosts.forEach((h, j) => {
      const host = h.toLowerCase();
      const owner = hosts.get(host);
      if (owner !== undefined && owner !== w.id) fail(`/workloads/${i}/hosts/${j}`, `host ${host} already belongs to workload "${owner}"`);
      hosts.set(host, w.id);
      mine.add(host);
    });
    w.endpoints.forEach((e, j) => {
      const owner = endpoints.get(e.id);
      if (owner !== undefined) fail(`/workloads/${i}/endpoints/${j}/id`, owner === w.id ? `endpoint id "${e.id}" is used twice` : `endpoint id "${e.id}" already belongs to workload "${owner}"`);
      endpoints.set(e.id, w.id);
    });
  });
  const catalog = compileCatalog(doc.workloads.map(workloadFromWire), { originAuthority: options.originAuthority });
  const problem = catalog.problems[0];
  if (problem) {
    const i = doc.workloads.findIndex((w) => w.id === problem.workload);
    fail(`/workloads/${i}`, problem.problem);
  }
}
