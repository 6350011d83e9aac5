/** Response builders for gateway-generated answers (always mutable headers, `no-store`). */
import { PAGE_HEADERS, renderPage, type PageOptions } from './pages.js';

export function redirect(location: string, status: 302 | 303 = 302, setCookies: string[] = []): Response {
  const headers = new Headers({ location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
  for (const c of setCookies) headers.append('set-cookie', c);
  return new Response(null, { status, headers });
}

export function page(options: PageOptions, status = 200, setCookies: string[] = []): Response {
  const headers = new Headers(PAGE_HEADERS);
  headers.set('cache-control', 'no-store');
  for (const c of setCookies) headers.append('set-cookie', c);
  return new Response(renderPage(options), { status, headers });
}

export function json(body: unknown, status = 200, extra: Record<string, string> = {}): Response {
  const headers = new Headers({ 'content-type': 'application/json', 'cache-control': 'no-store', ...extra });
  return new Response(JSON.stringify(body), { status, headers });
}
