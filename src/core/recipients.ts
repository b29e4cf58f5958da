/**
 * The per-recipient ledger of one attempt (Postfix smtp_rcpt.c).
 *
 * Decides: which recipients are still in play, that each one is marked at most once per session
 * (KEEP: try the next server; DROP: final result written), the sweep between sessions (§4.6 step 5)
 * and the end-of-attempt invariant: every request recipient has exactly one result.
 * Never: classifies failures (trouble.ts does) or talks to servers.
 * Errors: LedgerError (Postfix's "left-over recipients" panic) on any double mark, unmarked
 * recipient at a sweep, or missing result at the end. It signals a bug, never a delivery outcome.
 */
import type { Recipient, RecipientResult } from './types.ts';

export class LedgerError extends Error {
  override name = 'LedgerError';
}

export interface RecipientLedger {
  /** Indexes (into the request) of recipients in play and not yet marked in this session. */
  unmarked(): number[];
  recipient(index: number): Recipient;
  /** Mark KEEP: not final, try it on the next server. */
  keep(index: number): void;
  /** Mark DROP with its final result (sent, deferred or bounced). */
  drop(index: number, result: RecipientResult): void;
  /** End of a session: every recipient in play must be marked; DROPs leave, KEEPs stay. */
  sweep(): void;
  /** Recipients still in play (not dropped). */
  remaining(): number;
  /** End of the attempt: one result per request recipient, in request order. */
  finish(): RecipientResult[];
}

export function createRecipientLedger(recipients: readonly Recipient[]): RecipientLedger {
  const results: Array<RecipientResult | undefined> = recipients.map(() => undefined);
  const inPlay = new Set<number>(recipients.map((_, i) => i));
  const marks = new Map<number, 'keep' | 'drop'>();

  const mark = (index: number, how: 'keep' | 'drop'): void => {
    if (!inPlay.has(index)) throw new LedgerError(`recipient #${index} is not in play`);
    const previous = marks.get(index);
    if (previous !== undefined) {
      throw new LedgerError(`recipient #${index} marked twice (${previous}, then ${how})`);
    }
    marks.set(index, how);
  };

  return {
    unmarked: () => [...inPlay].filter((i) => !marks.has(i)),
    recipient(index) {
      const r = recipients[index];
      if (r === undefined) throw new LedgerError(`no recipient #${index}`);
      return r;
    },
    keep: (index) => mark(index, 'keep'),
    drop(index, result) {
      mark(index, 'drop');
      results[index] = result;
    },
    sweep() {
      for (const i of inPlay) {
        const m = marks.get(i);
        if (m === undefined) throw new LedgerError(`left-over recipient #${i} after a session`);
        if (m === 'drop') inPlay.delete(i);
      }
      marks.clear();
    },
    remaining: () => inPlay.size,
    finish() {
      if (marks.size > 0) throw new LedgerError('attempt finished in the middle of a session');
      const out: RecipientResult[] = [];
      for (const [i, r] of results.entries()) {
        if (r === undefined) throw new LedgerError(`left-over recipient #${i}: no result`);
        out.push(r);
      }
      return out;
    },
  };
}
