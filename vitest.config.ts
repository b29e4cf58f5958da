import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // tests' MX hosts live on loopback: allowlisted for the address policy in this one place
    setupFiles: ['test/support/allow-loopback.ts'],
    reporters: ['default'],
  },
});
