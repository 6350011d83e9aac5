/**
 * The issuance-time policy check for a token bound to one workload (no
 * method or path yet): the service must hold a currently valid binding to a
 * role with a grant on that workload, and no unconditional deny rule may
 * cover the whole workload for it. Each request made with the token is still
 * decided on its own (DESIGN §4); this only refuses tokens that could never
 * be used, so a token cannot be minted for a workload the service has no
 * business with.
 */
import type { Catalog } from '../catalog/index.js';
import { starMatch } from '../federation/index.js';
import type { PolicyDocument, ReasonCode } from '../policy/index.js';

export type Reach = { ok: true; roles: string[] } | { ok: false; reasons: ReasonCode[] };

function workloadMatches(pattern: string, workload: string): boolean {
  return pattern.includes('*') ? starMatch(pattern, workload) : pattern === workload;
}

/** May `service` (its id, not `service:<id>`) reach `workload` at `now` (epoch s)? */
export function reach(doc: PolicyDocument, catalog: Catalog, service: string, workload: string, now: number): Reach {
  if (!catalog.byId(workload)) return { ok: false, reasons: ['unknown-workload'] };
  const subject = `service:${service}`;
  for (const rule of doc.denyRules) {
    const s = rule.subjects;
    const selects = s.everyone === true || (s.services ?? []).some((v) => v === service || v === subject);
    const whole = (rule.methods === undefined || rule.methods.includes('*')) && (rule.paths === undefined || rule.paths.includes('/**'));
    if (selects && whole && rule.conditions === undefined && workloadMatches(rule.workload, workload)) return { ok: false, reasons: ['explicit-deny'] };
  }
  const roles = new Set<string>();
  let expired = false;
  let early = false;
  for (const b of doc.bindings) {
    if (b.subject.kind !== 'service' || b.subject.value !== service) continue;
    const role = doc.roles.find((r) => r.id === b.roleId);
    if (!role || !role.grants.some((g) => workloadMatches(g.workload, workload))) continue;
    if (b.notBefore !== undefined && now < b.notBefore) early = true;
    else if (b.expiresAt !== undefined && now >= b.expiresAt) expired = true;
    else roles.add(role.id);
  }
  if (roles.size > 0) return { ok: true, roles: [...roles].sort() };
  if (expired) return { ok: false, reasons: ['binding-expired'] };
  if (early) return { ok: false, reasons: ['binding-not-yet-valid'] };
  return { ok: false, reasons: ['no-matching-grant'] };
}
