import { describe, expect, it } from 'vitest';
import { classifyFailure, isLoopStatus, normalizeFailureStatus } from '../../../src/core/trouble.ts';

const run = (status: string, finalServer: boolean, softBounce = false, softNonFinal = false) =>
  classifyFailure({ status, softNonFinal }, { finalServer, softBounce });

describe('classifyFailure (§9.1 decision table)', () => {
  it.each([
    // status, final, softBounce, softNonFinal, disposition, reported status, softBounced
    ['4.4.1', false, false, false, 'keep', '4.4.1', false],
    ['4.4.1', true, false, false, 'defer', '4.4.1', false],
    ['5.1.1', false, false, false, 'bounce', '5.1.1', false],
    ['5.1.1', true, false, false, 'bounce', '5.1.1', false],
    ['5.6.7', false, false, true, 'keep', '5.6.7', false],
    ['5.6.7', true, false, true, 'bounce', '5.6.7', false],
    ['5.1.1', false, true, false, 'keep', '5.1.1', false],
    ['5.1.1', true, true, false, 'defer', '4.1.1', true],
    ['4.2.2', true, true, false, 'defer', '4.2.2', false],
    ['5.6.7', true, true, true, 'defer', '4.6.7', true],
  ] as const)(
    '%s final=%s soft_bounce=%s soft_non_final=%s → %s %s',
    (status, final, sb, snf, disp, st, sbd) => {
      expect(run(status, final, sb, snf)).toEqual({ disposition: disp, status: st, softBounced: sbd });
    },
  );

  it('turns a status that is not 4.x.x or 5.x.x into the 5.5.0 protocol error', () => {
    expect(normalizeFailureStatus('3.0.0')).toBe('5.5.0');
    expect(normalizeFailureStatus('2.0.0')).toBe('5.5.0');
    expect(normalizeFailureStatus('garbage')).toBe('5.5.0');
    expect(run('3.5.0', false).disposition).toBe('bounce');
  });

  it('recognises loop statuses', () => {
    expect(isLoopStatus('5.4.6')).toBe(true);
    expect(isLoopStatus('4.4.6')).toBe(true);
    expect(isLoopStatus('5.4.4')).toBe(false);
  });
});
