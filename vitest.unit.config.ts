import { defineConfig } from 'vitest/config';

// Unit tests: Node, pure modules and the guard. Frozen clocks, no network beyond loopback.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
  },
});
