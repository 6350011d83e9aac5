import { fileURLToPath } from 'node:url';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { GATEWAY_ORIGIN, UPSTREAM_TIMEOUT_MS } from './test/integration/support/constants.js';

// Integration tests: the gateway inside workerd (the runtime it ships in), D1 /
// KV / the RevocationLedger Durable Object from wrangler.toml, a real IdP and
// real upstream servers on 127.0.0.1 started by the globalSetup in Node.
export default defineConfig({
  plugins: [
    cloudflareTest(async ({ inject }) => ({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        bindings: {
          TOLLGATE_ORIGIN: GATEWAY_ORIGIN,
          OIDC_ISSUER: inject('idpIssuer'),
          OIDC_CLIENT_ID: 'tollgate',
          OIDC_CLIENT_SECRET: inject('clientSecret'),
          SESSION_SECRET: inject('sessionSecret'),
          SIGNING_KEYS: inject('signingKeys'),
          SIGNING_KID: inject('signingKid'),
          UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
          // Tests change configuration between requests: check the version on every request.
          POLICY_REFRESH_SECONDS: '0',
          TEST_UPSTREAM_URL: inject('upstreamUrl'),
          TEST_DEAD_URL: inject('deadUrl'),
          TEST_ISSUERS_URL: inject('issuersUrl'),
          // Trusted issuers in the suite are on 127.0.0.1 (test/integration/node/fake-issuer.ts).
          ALLOW_INSECURE_ISSUERS: 'loopback',
          TEST_MIGRATIONS: await readD1Migrations(fileURLToPath(new URL('./infra/migrations', import.meta.url))),
        },
      },
    })),
  ],
  test: {
    include: ['test/integration/**/*.test.ts'],
    globalSetup: ['./test/integration/node/global-setup.ts'],
    setupFiles: ['./test/integration/support/apply-migrations.ts'],
    testTimeout: 30_000,
    // The gateway logs one JSON line per request; show them only for failing tests.
    silent: 'passed-only',
    hookTimeout: 60_000,
  },
});
