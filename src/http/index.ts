/** The gateway's HTTP layer: Host routing, routes, the error mapper. */
export { createApp, type GatewayApp, type WaitUntilContext } from './app.js';
export { isBrowserNavigation, type GatewayDeps, type RequestContext } from './context.js';
export { errorResponse, PROBLEM_BASE, statusOf, type ProblemContext } from './problem.js';
export { clearCookie, cookieValues, serializeCookie } from './cookies.js';
export { escapeHtml, reasonInWords, renderPage } from './pages.js';
export { HANDOFF_TTL_SECONDS, HOME_PATH } from './origin.js';
