/**
 * `npm run test:chaos`: the fault suite (test/chaos, RELIABILITY.md) plus the security tests it
 * builds on. The fast cases (*.test.ts) also run in `./run test`; the slower ones (*.chaos.ts:
 * G2/G3, G5, G6/G7, Sentinel, about 4 minutes) only here; the
 * 30-minute soak (G31) runs only with MXQ_CHAOS_SOAK=1. MXQ_CHAOS_REPORT=file appends one figures
 * line per case; MXQ_CHAOS_SCALE multiplies G1's load; MXQ_CHAOS_SEED picks G1's kill schedule.
 */
import { defineConfig } from 'vitest/config';

const soak = process.env.MXQ_CHAOS_SOAK === '1';

export default defineConfig({
  test: {
    include: [
      'test/chaos/**/*.test.ts',
      // the slower cases: only in this suite, not in ./run test
      'test/chaos/**/*.chaos.ts',
      ...(soak ? ['test/chaos/**/*.soak.ts'] : []),
      'test/integration/smtp/security-starttls.test.ts',
      'test/integration/smtp/tls-matrix.test.ts',
      'test/integration/smtp/engine-replies.test.ts',
      'test/unit/smtp/reply-parser.test.ts',
      'test/unit/smtp/body-writer.test.ts',
      'test/unit/core/address-policy.test.ts',
      'test/integration/workers/redis-safety.test.ts',
      'test/e2e/*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    setupFiles: ['test/support/allow-loopback.ts'],
    reporters: ['default'],
  },
});
