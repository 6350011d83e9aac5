/**
 * The answer to a policy deny on a workload host (DESIGN §2): a page for
 * browsers, problem+json for API clients, both built from the same facts —
 * the reason codes, each in words a person can act on (pages.ts REASON_TEXT),
 * the request id, who is signed in, and a way to sign out or sign in again.
 * Nothing about the policy itself (role, grant or rule ids) is shown; the one
 * parameter named is the auth-age limit, so "sign in again" makes sense.
 */
import type { PolicyDocument, Decision } from '../policy/index.js';
import type { SessionClaims } from '../session/index.js';
import type { RequestContext } from './context.js';
import { PAGE_HEADERS, REASON_TEXT, escapeHtml, postButton, reasonInWords, renderPage } from './pages.js';
import { PROBLEM_BASE } from './problem.js';

export interface DenialContext {
  claims: SessionClaims;
  document: PolicyDocument;
}

/** The largest auth-age limit among the grants / deny rules that failed on auth-too-old (the truest "older than"). */
export function failedAuthAge(decision: Decision, doc: PolicyDocument): number | undefined {
  let max: number | undefined;
  const take = (v: number | undefined) => {
    if (typeof v === 'number' && Number.isFinite(v)) max = max === undefined ? v : Math.max(max, v);
  };
  for (const f of decision.failed) {
    if (!f.reasons.includes('auth-too-old')) continue;
    take(doc.roles.find((r) => r.id === f.roleId)?.grants.find((g) => g.id === f.grantId)?.conditions?.maxAuthAgeSeconds);
  }
  if (decision.matched?.kind === 'deny-rule' && decision.reasons.includes('auth-too-old')) {
    const ruleId = decision.matched.ruleId;
    take(doc.denyRules.find((d) => d.id === ruleId)?.conditions?.maxAuthAgeSeconds);
  }
  return max;
}

export interface DenialDetail {
  reason: string;
  detail: string;
  action?: string;
}

export function denialDetails(decision: Decision, doc: PolicyDocument): DenialDetail[] {
  const age = failedAuthAge(decision, doc);
  return decision.reasons.map((reason) => {
    const t = REASON_TEXT[reason];
    const out: DenialDetail = { reason, detail: reasonInWords(reason, age === undefined ? {} : { maxAuthAgeSeconds: age }) };
    if (t?.action) out.action = t.action;
    return out;
  });
}

export function denialResponse(rc: RequestContext, decision: Decision, ctx: DenialContext): Response {
  const details = denialDetails(decision, ctx.document);
  const headers = new Headers({ 'cache-control': 'no-store', 'tollgate-request-id': rc.requestId });
  const who = ctx.claims.email ?? ctx.claims.sub;
  if (!rc.browser) {
    headers.set('content-type', 'application/problem+json');
    const body = {
      type: `${PROBLEM_BASE}forbidden`,
      title: 'Access denied',
      status: 403,
      detail: 'Your request was denied by policy.',
      request_id: rc.requestId,
      reasons: decision.reasons,
      details,
    };
    return new Response(JSON.stringify(body), { status: 403, headers });
  }
  for (const [k, v] of Object.entries(PAGE_HEADERS)) headers.set(k, v);
  const items = details
    .map((d) => {
      // "… — sign in again." already says what "Sign in again." would.
      const action = d.action && !d.detail.toLowerCase().includes(d.action.toLowerCase()) ? ` ${escapeHtml(d.action)}` : '';
      return `<li>${escapeHtml(d.detail)}${action} <code>${escapeHtml(d.reason)}</code></li>`;
    })
    .join('');
  const signInAgain = decision.reasons.some((r) => REASON_TEXT[r]?.signInAgain)
    ? `<p>Signing in again signs you out here and at your identity provider; open this page again and you will be asked to sign in afresh.</p>${postButton('/.tollgate/logout', 'Sign in again')}`
    : '';
  const body = renderPage({
    title: 'Access denied',
    paragraphs: ['Tollgate did not let this request through, for these reasons:'],
    trustedHtml:
      `<ul>${items}</ul>${signInAgain}` +
      `<p>Signed in as <strong>${escapeHtml(who)}</strong> · <a href="/.tollgate/logout">Sign out</a></p>`,
    requestId: rc.requestId,
  });
  return new Response(body, { status: 403, headers });
}
