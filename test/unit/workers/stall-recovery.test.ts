import { expect, it } from 'vitest';
import { MALFORMED_JOB_PREFIX } from '../../../src/workers/processor.ts';
import { shouldPutBack } from '../../../src/workers/stall-recovery.ts';

it('puts back stall failures and unexpected errors, never malformed jobs', () => {
  expect(shouldPutBack('job stalled more than allowable limit')).toBe(true);
  expect(shouldPutBack('Connection is closed.')).toBe(true);
  expect(shouldPutBack(undefined)).toBe(true);
  expect(shouldPutBack(`${MALFORMED_JOB_PREFIX}: recipients is empty`)).toBe(false);
});
