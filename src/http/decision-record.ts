/**
 * Decision records for the audit trail, from both request paths (session and
 * bearer). The record leaves the hot path under `waitUntil`; the policy hash is
 * computed once per snapshot document and awaited there, not in the request.
 */
import { noSessionEvent, policyHash, type DecisionEvent } from '../audit/index.js';
import type { GatewaySnapshot, Workload } from '../catalog/index.js';
import type { RequestContext } from './context.js';

export function recordDecision(rc: RequestContext, snapshot: GatewaySnapshot, event: DecisionEvent): void {
  // `event` is built for this call alone: completed in place, not copied.
  rc.deps.audit.record(
    policyHash(snapshot.document).then((h) => Object.assign(event, { policyHash: h })),
    rc.waitUntil,
  );
}

/** A request refused before any decision (no usable session or token); `who` names the caller where known. */
export function recordNoSession(
  rc: RequestContext,
  snapshot: GatewaySnapshot,
  workload: Workload,
  session: string,
  who?: { subject?: string; sessionId?: string },
): void {
  recordDecision(
    rc,
    snapshot,
    noSessionEvent({
      id: rc.deps.random.id(16),
      at: rc.deps.clock.now(),
      requestId: rc.requestId,
      host: rc.authority,
      workload: workload.id,
      method: rc.request.method,
      path: rc.url.pathname,
      policyVersion: snapshot.version,
      session,
      ...(who?.subject ? { subject: who.subject } : {}),
      ...(who?.sessionId ? { sessionId: who.sessionId } : {}),
    }),
  );
}
