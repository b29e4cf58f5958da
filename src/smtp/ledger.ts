/**
 * Per-transaction recipient ledger: each recipient settled once, in request order.
 *
 * Decides: that a recipient's first outcome wins, and who counts as "unsettled" for bulk failures
 * (all of them, or the accepted ones only).
 * Never: does I/O or words failures.
 */
import type { RecipientReply } from '../core/ports.ts';
import type { DeliveryFailure, SmtpReply } from '../core/types.ts';

export interface Ledger {
  readonly results: Array<RecipientReply | undefined>;
  /** Indexes whose RCPT was accepted, in RCPT order. */
  readonly accepted: number[];
  settle(i: number, r: RecipientReply): void;
  fail(i: number, f: DeliveryFailure): void;
  ok(i: number, reply: SmtpReply): void;
  /** Fail every unsettled recipient (or only the accepted ones) with `f`. */
  failAll(f: DeliveryFailure, acceptedOnly?: boolean): void;
  unsettled(): number[];
  final(fallback: DeliveryFailure): RecipientReply[];
}

export function createLedger(n: number): Ledger {
  const results: Array<RecipientReply | undefined> = new Array(n).fill(undefined);
  const accepted: number[] = [];
  const settle = (i: number, r: RecipientReply): void => {
    if (results[i] === undefined) results[i] = r;
  };
  const unsettled = (): number[] => results.flatMap((r, i) => (r === undefined ? [i] : []));
  return {
    results,
    accepted,
    settle,
    fail: (i, failure) => settle(i, { ok: false, failure }),
    ok: (i, reply) => settle(i, { ok: true, reply }),
    failAll(f, acceptedOnly = false) {
      for (const i of acceptedOnly ? accepted : unsettled()) settle(i, { ok: false, failure: { ...f } });
    },
    unsettled,
    final: (fallback) => results.map((r) => r ?? { ok: false, failure: { ...fallback } }),
  };
}
