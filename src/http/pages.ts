/** Small, self-contained HTML pages (no external assets). Every interpolated value is escaped. */

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Reason codes in words, for people. Unknown codes fall back to a generic sentence. */
const REASON_WORDS: Record<string, string> = {
  'no-session': 'You are not signed in.',
  'unknown-workload': 'This service is not known to the gateway.',
  'no-matching-grant': 'None of your roles allows this request.',
  'explicit-deny': 'A rule explicitly blocks this request.',
  'binding-expired': 'Your access to this service has expired.',
  'binding-not-yet-valid': 'Your access to this service has not started yet.',
  'device-untrusted': 'This device is not trusted enough for this service.',
  'mfa-required': 'This service requires multi-factor authentication.',
  'auth-too-old': 'You signed in too long ago for this service; sign in again.',
  'outside-time-window': 'This service is not available to you at this time.',
  'source-ip-not-allowed': 'Your network location is not allowed for this service.',
  'country-not-allowed': 'Access from your country is not allowed for this service.',
  'evaluation-error': 'The access decision could not be made.',
};

export function reasonInWords(code: string): string {
  return REASON_WORDS[code] ?? 'Access was refused by policy.';
}

export interface PageOptions {
  title: string;
  /** Paragraphs of plain text (escaped). */
  paragraphs?: string[];
  /** Reason codes to explain (words + code). */
  reasons?: string[];
  requestId?: string;
  /** Raw, trusted HTML appended after the paragraphs (forms built in this module only). */
  trustedHtml?: string;
  links?: { href: string; text: string }[];
}

const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1a1a1a}' +
  'h1{font-size:1.4rem}code{background:#f2f2f2;padding:0 .25rem;border-radius:3px}' +
  'footer{margin-top:2rem;color:#666;font-size:.85rem}button{font:inherit;padding:.4rem 1rem}';

export function renderPage(options: PageOptions): string {
  const parts: string[] = [];
  parts.push('<!doctype html><html lang="en"><head><meta charset="utf-8">');
  parts.push('<meta name="viewport" content="width=device-width, initial-scale=1">');
  parts.push(`<title>${escapeHtml(options.title)} · Tollgate</title><style>${STYLE}</style></head><body><main>`);
  parts.push(`<h1>${escapeHtml(options.title)}</h1>`);
  for (const p of options.paragraphs ?? []) parts.push(`<p>${escapeHtml(p)}</p>`);
  if (options.reasons && options.reasons.length > 0) {
    parts.push('<ul>');
    for (const r of options.reasons) parts.push(`<li>${escapeHtml(reasonInWords(r))} <code>${escapeHtml(r)}</code></li>`);
    parts.push('</ul>');
  }
  if (options.trustedHtml) parts.push(options.trustedHtml);
  for (const l of options.links ?? []) parts.push(`<p><a href="${escapeHtml(l.href)}">${escapeHtml(l.text)}</a></p>`);
  parts.push('</main>');
  if (options.requestId) parts.push(`<footer>Request id: <code>${escapeHtml(options.requestId)}</code></footer>`);
  parts.push('</body></html>');
  return parts.join('');
}

/** A POST form with one button (sign-out pages). `action` is a path on the serving origin. */
export function postButton(action: string, label: string): string {
  return `<form method="post" action="${escapeHtml(action)}"><button type="submit">${escapeHtml(label)}</button></form>`;
}

/** Headers every gateway page carries. */
export const PAGE_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};
