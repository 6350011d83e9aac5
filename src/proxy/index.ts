/** Forwarding to workloads: endpoint choice, header rewriting (pure) and the streaming fetch. */
export {
  HOP_BY_HOP,
  clientResponseHeaders,
  rewriteLocation,
  setCookieName,
  stripCookies,
  upstreamRequestHeaders,
  type ClientResponseHeaderOptions,
  type HeaderRecord,
  type UpstreamHeaderOptions,
} from './headers.js';
export { endpointsToTry, forward, mayFailOver, RecentFailures, requestTarget, upstreamUrl, type ForwardOptions } from './forward.js';
