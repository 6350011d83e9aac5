/** Who is calling the admin API, and what they may do. */
import type { DecisionInput, Permission } from '../policy/index.js';

export type AdminPermission = Permission;

export interface Principal {
  /** Tollgate subject: `user:<h>:<sub>` or `service:<id>`. */
  subject: string;
  via: 'session' | 'token';
  email?: string;
  groups: string[];
  /** From `permissionsOf(snapshot.policy, …)`: roles bound to the subject, its email or its groups. */
  permissions: AdminPermission[];
}

const USER = /^user:[A-Za-z0-9_-]{12}:(.+)$/s;
const SERVICE = /^service:(.+)$/s;

/**
 * The policy's view of a subject. For a user the raw IdP `sub` is the part
 * after the issuer hash, so bindings by raw `sub` apply to tokens as they do
 * to sessions; `service:<id>` is a service.
 */
export function decisionSubject(subject: string, email: string | undefined, groups: string[], idpSub?: string): DecisionInput['subject'] {
  const service = SERVICE.exec(subject);
  if (service) return { kind: 'service', id: subject, sub: service[1]!, groups: [...groups], ...(email ? { email } : {}) };
  const user = USER.exec(subject);
  return { kind: 'user', id: subject, sub: idpSub ?? user?.[1] ?? subject, groups: [...groups], ...(email ? { email } : {}) };
}

/** `admin` implies everything `auditor` may do. */
export function holds(principal: Principal, needed: AdminPermission): boolean {
  if (principal.permissions.includes('admin')) return true;
  return principal.permissions.includes(needed);
}
