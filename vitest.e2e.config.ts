import { defineConfig } from 'vitest/config';

// End-to-end tests: the real stack (IdP, wrangler dev, guards, demo apps) and
// headless Chromium. One stack per file; files run one after another because
// each stack starts wrangler and this machine has two vCPUs.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    teardownTimeout: 30_000,
  },
});
