/**
 * Headless Chromium for the e2e tests: Debian's /usr/bin/chromium driven by
 * playwright-core, a fresh profile per launch, and every request that is not
 * for a loopback host aborted (the tests must never reach the internet; the
 * blocked URLs are kept so a test can assert there were none).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = process.env.TOLLGATE_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export type BrowserAvailability =
  | { run: true }
  | { run: false; reason: string };

/**
 * Whether browser tests run. Without Chromium they are skipped with a reason —
 * except under CI=true, where they run (and fail, saying why): CI must not go
 * green by skipping.
 */
export function browserAvailability(): BrowserAvailability {
  if (existsSync(CHROMIUM_PATH) || process.env.CI === 'true') return { run: true };
  return { run: false, reason: `${CHROMIUM_PATH} not found — install it with "apt-get install -y chromium" (CI=true makes this a failure)` };
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: browser e2e tests cannot run (apt-get install -y chromium)`);
  }
  // launch() gives every browser a fresh temporary user-data dir.
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ARGS, timeout: 30_000 });
}

const LOOPBACK_HOST = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost|[a-z0-9.-]+\.localhost)$/i;

export function isLoopbackUrl(url: string): boolean {
  try {
    const u = new URL(url);
    if (u.protocol === 'data:' || u.protocol === 'about:' || u.protocol === 'blob:') return true;
    return LOOPBACK_HOST.test(u.hostname);
  } catch {
    return false;
  }
}

export interface IsolatedContext {
  context: BrowserContext;
  /** Every non-loopback URL the page tried to load (all were aborted). */
  blocked: string[];
}

/** A fresh context (own cookies) in which only loopback hosts can be reached. */
export async function loopbackContext(browser: Browser): Promise<IsolatedContext> {
  const context = await browser.newContext({ serviceWorkers: 'block' });
  const blocked: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (isLoopbackUrl(url)) return route.continue();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(20_000);
  return { context, blocked };
}
