/** Small, self-contained HTML pages (no external assets). Every interpolated value is escaped. */

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * Reason codes in words a person can act on: THE one table (deny page,
 * problem+json `details`, any other page listing reasons). `signInAgain`: a
 * fresh sign-in can fix it, so the deny page offers one. `{age}` is replaced
 * by the auth-age limit that failed, where the gateway knows it.
 */
export const REASON_TEXT: Record<string, { words: string; action?: string; signInAgain?: boolean }> = {
  'no-session': { words: 'You are not signed in.', action: 'Sign in and try again.', signInAgain: true },
  'unknown-workload': { words: 'This service is not known to the gateway.' },
  'no-matching-grant': { words: 'None of your roles allows this request.', action: 'Ask an administrator for access and quote the request id.' },
  'explicit-deny': { words: 'A rule explicitly blocks this request.', action: 'If you need it, ask an administrator and quote the request id.' },
  'binding-expired': { words: 'Your temporary access has expired.', action: 'Ask for your access to be extended.' },
  'binding-not-yet-valid': { words: 'Your temporary access has not started yet.', action: 'Try again when it starts.' },
  'device-untrusted': { words: 'This needs a managed device.', action: 'Use a company-managed, up-to-date device.' },
  'mfa-required': { words: 'This needs multi-factor sign-in.', action: 'Sign in again using a second factor.', signInAgain: true },
  'auth-too-old': { words: 'Your sign-in is older than {age} — sign in again.', action: 'Sign in again.', signInAgain: true },
  'outside-time-window': { words: 'Access outside allowed hours.', action: 'Try again during the allowed hours.' },
  'source-ip-not-allowed': { words: 'Your network is not allowed for this.', action: 'Connect from an allowed network (for example the office network or VPN).' },
  'country-not-allowed': { words: 'Access from your current country is not allowed.' },
  'evaluation-error': { words: 'The access decision could not be made.', action: 'Try again later; if it persists, contact support and quote the request id.' },
};

/** "12 hours", "30 minutes", "1 day", "45 seconds". */
export function humanDuration(seconds: number): string {
  const units: [number, string][] = [
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, name] of units) {
    if (seconds >= size && seconds % size === 0) {
      const n = seconds / size;
      return `${n} ${name}${n === 1 ? '' : 's'}`;
    }
  }
  if (seconds >= 3600) return `${Math.round(seconds / 360) / 10} hours`;
  if (seconds >= 60) return `${Math.round(seconds / 6) / 10} minutes`;
  return `${seconds} second${seconds === 1 ? '' : 's'}`;
}

export interface ReasonWordsOptions {
  /** The auth-age limit (seconds) that failed, for auth-too-old. */
  maxAuthAgeSeconds?: number;
}

export function reasonInWords(code: string, options: ReasonWordsOptions = {}): string {
  const t = REASON_TEXT[code];
  if (!t) return 'Access was refused by policy.';
  if (!t.words.includes('{age}')) return t.words;
  return options.maxAuthAgeSeconds !== undefined
    ? t.words.replace('{age}', humanDuration(options.maxAuthAgeSeconds))
    : 'Your sign-in is too old for this — sign in again.';
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
