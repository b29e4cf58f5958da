import { describe, expect, it } from 'vitest';
import { createRecipientLedger, LedgerError } from '../../../src/core/recipients.ts';
import type { RecipientResult } from '../../../src/core/types.ts';

const rcpts = [{ address: 'a@x.test' }, { address: 'b@x.test' }, { address: 'c@x.test' }];
const result = (i: number, status: RecipientResult['status']): RecipientResult => ({
  recipient: rcpts[i] ?? { address: '?' },
  status,
  dsn: status === 'sent' ? '2.0.0' : '4.0.0',
  relay: 'none',
  diagnostic: 'x',
});

describe('recipient ledger', () => {
  it('keeps KEEP recipients in play and retires DROPs at the sweep', () => {
    const l = createRecipientLedger(rcpts);
    expect(l.unmarked()).toEqual([0, 1, 2]);
    l.drop(0, result(0, 'sent'));
    l.keep(1);
    l.keep(2);
    expect(l.unmarked()).toEqual([]);
    l.sweep();
    expect(l.remaining()).toBe(2);
    expect(l.unmarked()).toEqual([1, 2]);
    l.drop(1, result(1, 'deferred'));
    l.drop(2, result(2, 'sent'));
    l.sweep();
    expect(l.remaining()).toBe(0);
    expect(l.finish().map((r) => r.status)).toEqual(['sent', 'deferred', 'sent']);
  });

  it('refuses a second mark in one session', () => {
    const l = createRecipientLedger(rcpts);
    l.keep(0);
    expect(() => l.drop(0, result(0, 'sent'))).toThrow(LedgerError);
  });

  it('refuses to mark a dropped recipient again in a later session', () => {
    const l = createRecipientLedger(rcpts);
    l.drop(0, result(0, 'sent'));
    l.keep(1);
    l.keep(2);
    l.sweep();
    expect(() => l.keep(0)).toThrow(/not in play/);
  });

  it('panics on a left-over (unmarked) recipient at the sweep', () => {
    const l = createRecipientLedger(rcpts);
    l.keep(0);
    expect(() => l.sweep()).toThrow(/left-over recipient #1/);
  });

  it('panics at the end when a recipient has no result', () => {
    const l = createRecipientLedger(rcpts);
    l.drop(0, result(0, 'sent'));
    l.drop(1, result(1, 'sent'));
    l.keep(2);
    l.sweep();
    expect(() => l.finish()).toThrow(/left-over recipient #2/);
  });
});
