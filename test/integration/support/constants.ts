/** Names shared by the Node (globalSetup) and workerd sides of the integration suite. */
export const GATEWAY_ORIGIN = 'http://127.0.0.1:8787';
export const INVENTORY = 'inventory.localhost:8787';
export const BILLING = 'billing.localhost:8787';
export const DOWN = 'down.localhost:8787';
/** Its only endpoint is marked unhealthy. */
export const EMPTY = 'empty.localhost:8787';
/** Two endpoints: the first (marked healthy, so always tried first) refuses connections, the second is the upstream. */
export const REPLICAS = 'replicas.localhost:8787';
/** Upstream answers slower than UPSTREAM_TIMEOUT_MS in the suite. */
export const UPSTREAM_TIMEOUT_MS = 1500;

/** Values the Node globalSetup hands to the workerd side (vitest `provide` / `inject`). */
declare module 'vitest' {
  export interface ProvidedContext {
    idpIssuer: string;
    clientSecret: string;
    sessionSecret: string;
    signingKeys: string;
    signingKid: string;
    upstreamUrl: string;
    deadUrl: string;
    /** Fake external token issuers (test/integration/node/fake-issuer.ts). */
    issuersUrl: string;
  }
}
