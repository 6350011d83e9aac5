/** Bindings the integration suite adds to the Worker's Env (vitest.integration.config.ts). */
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import('cloudflare:test').D1Migration[];
    TEST_UPSTREAM_URL: string;
    TEST_DEAD_URL: string;
    TEST_ISSUERS_URL: string;
  }
}
