/**
 * Who gets told about a message's failed recipients at the end of a pass, and what each report
 * line says.
 *
 * Decides: which bounced/expired recipients are reported (those of any job of the message not
 * covered by an earlier report of it; DSN NOTIFY: NEVER or a list without
 * FAILURE suppresses; no NOTIFY means the default, FAILURE), the RFC 3464 fields of each
 * (Action: failed, Status, Diagnostic-Code "smtp; <reply>" when a server said it else
 * "X-Postfix; <text>", Remote-MTA, ORCPT), and where the report goes:
 * - a normal sender gets the report, from the null sender;
 * - a null sender (a bounce that failed) or the double-bounce address is never bounced to; the
 *   failure is only logged, and when bounceNoticeRecipient is set and notifyClasses has `bounce`
 *   or `2bounce` a notice goes there, sent from doubleBounceSender@myhostname (Postfix's
 *   2bounce_notice_recipient copy). Failures of mail
 *   from the double-bounce address are only logged (no notice either), so a notice cannot loop.
 * Never: talks to Redis, builds MIME (bounce-message.ts), sends mail (bounce-dispatch.ts).
 */
import type { ResolvedOptions } from '../core/options.ts';
import type { Recipient } from '../core/types.ts';
import type { DsnRecipientReport } from './bounce-message.ts';
import { wantsNotification } from './bounce-message.ts';
import type { WorkerJournalEntry } from './outcome-plan.ts';

export type BounceTarget =
  | { kind: 'none'; reason: 'nothing-failed' | 'notify-suppressed' }
  | { kind: 'log-only'; reports: DsnRecipientReport[] }
  | { kind: 'send'; from: string; to: string; reports: DsnRecipientReport[]; notice: boolean };

/** The double-bounce address as Postfix writes it: double_bounce_sender@myhostname. */
export function doubleBounceAddress(opts: ResolvedOptions): string {
  const s = opts.doubleBounceSender;
  return s.includes('@') ? s : `${s}@${opts.myhostname}`;
}

/** notify_classes holds one of these classes (`bounce` implies `2bounce`, spec §10.2). */
export function notifyClass(opts: ResolvedOptions, ...classes: string[]): boolean {
  return opts.notifyClasses.some((c) => classes.includes(c.trim().toLowerCase()));
}

/**
 * The postmaster copy a notify class asks for: the address (qualified with @myhostname) and the
 * envelope sender (the double-bounce address, so a failing copy is never reported again).
 */
export function postmasterCopyTarget(
  opts: ResolvedOptions,
  kind: 'bounce' | 'delay',
): { from: string; to: string } | undefined {
  if (!notifyClass(opts, kind)) return undefined;
  const to = kind === 'bounce' ? opts.bounceNoticeRecipient : opts.delayNoticeRecipient;
  if (to === '') return undefined;
  return { from: doubleBounceAddress(opts), to: to.includes('@') ? to : `${to}@${opts.myhostname}` };
}

/** "smtp; 550 5.1.1 ..." when the outcome came from a server reply, else "X-Postfix; <text>". */
export function diagnosticCodeFor(e: Pick<WorkerJournalEntry, 'reply' | 'diagnostic'>): string {
  if (e.reply !== undefined && e.reply !== '') return `smtp; ${e.reply}`;
  return `X-Postfix; ${e.diagnostic}`;
}

/** One RFC 3464 per-recipient block for a failed (bounced or expired) recipient. */
export function failedReport(e: WorkerJournalEntry, recipient: Recipient | undefined): DsnRecipientReport {
  const r: DsnRecipientReport = {
    finalRecipient: e.recipient,
    action: 'failed',
    status: e.dsn,
    diagnosticCode: diagnosticCodeFor(e),
    lastAttemptDate: e.at,
  };
  // The text part says what Postfix's says: "host H[A] said: 550 ... (in reply to RCPT TO command)".
  if (e.diagnostic !== '') r.text = e.diagnostic;
  if (recipient?.orcpt !== undefined) r.originalRecipient = recipient.orcpt;
  if (e.remoteMta !== undefined) r.remoteMta = e.remoteMta;
  return r;
}

/**
 * The failed entries of the message not reported yet, in the message's recipient order, that
 * asked to be told about failure.
 */
export function reportableFailures(
  entries: WorkerJournalEntry[],
  reported: ReadonlySet<string>,
  recipients: Recipient[],
): { reports: DsnRecipientReport[]; failedCount: number } {
  const byAddress = new Map(recipients.map((r) => [r.address, r]));
  const order = new Map(recipients.map((r, i) => [r.address, i]));
  const rank = (e: WorkerJournalEntry) => order.get(e.recipient) ?? recipients.length;
  const failed = entries
    .filter((e) => !reported.has(e.recipient) && (e.status === 'bounced' || e.status === 'expired'))
    .sort((a, b) => rank(a) - rank(b));
  const reports: DsnRecipientReport[] = [];
  for (const e of failed) {
    const rcpt = byAddress.get(e.recipient);
    if (!wantsNotification(rcpt?.notify, 'failed')) continue;
    reports.push(failedReport(e, rcpt));
  }
  return { reports, failedCount: failed.length };
}

/** Where the report for a message's failures not reported yet goes (see the header). */
export function planBounce(p: {
  sender: string;
  /** Recipients an earlier report of this message already covered. */
  reported: ReadonlySet<string>;
  entries: WorkerJournalEntry[];
  recipients: Recipient[];
  opts: ResolvedOptions;
}): BounceTarget {
  const { reports, failedCount } = reportableFailures(p.entries, p.reported, p.recipients);
  if (failedCount === 0) return { kind: 'none', reason: 'nothing-failed' };
  if (reports.length === 0) return { kind: 'none', reason: 'notify-suppressed' };
  const doubleBounce = doubleBounceAddress(p.opts);
  if (p.sender.toLowerCase() === doubleBounce.toLowerCase()) return { kind: 'log-only', reports };
  if (p.sender !== '') return { kind: 'send', from: '', to: p.sender, reports, notice: false };
  const notice = p.opts.bounceNoticeRecipient;
  if (notice === '' || !notifyClass(p.opts, 'bounce', '2bounce')) return { kind: 'log-only', reports };
  return { kind: 'send', from: doubleBounce, to: notice, reports, notice: true };
}

// --- tls (issue 14): SUCCESS notices (RFC 3461 NOTIFY=SUCCESS, spec §10.1) ---

/**
 * The success notice a message owes for its sent recipients not reported yet whose delivery left
 * the DSN duty with us (journal `successAction`: `relayed` to a server without DSN, `delivered`
 * for LMTP with lmtpAssumeFinal). Goes to the sender from the null sender; never for the null
 * sender or the double-bounce address.
 */
export function planSuccessNotice(p: {
  sender: string;
  reported: ReadonlySet<string>;
  entries: WorkerJournalEntry[];
  recipients: Recipient[];
  opts: ResolvedOptions;
}): { to: string; reports: DsnRecipientReport[] } | undefined {
  if (p.sender === '' || p.sender.toLowerCase() === doubleBounceAddress(p.opts).toLowerCase())
    return undefined;
  const byAddress = new Map(p.recipients.map((r) => [r.address, r]));
  const order = new Map(p.recipients.map((r, i) => [r.address, i]));
  const rank = (e: WorkerJournalEntry) => order.get(e.recipient) ?? p.recipients.length;
  const due = p.entries
    .filter((e) => e.status === 'sent' && e.successAction !== undefined && !p.reported.has(e.recipient))
    .sort((a, b) => rank(a) - rank(b));
  const reports = due.map((e): DsnRecipientReport => {
    const r: DsnRecipientReport = {
      finalRecipient: e.recipient,
      action: e.successAction ?? 'relayed',
      status: e.dsn,
      diagnosticCode: diagnosticCodeFor(e),
      lastAttemptDate: e.at,
      text: `delivery via ${e.relay}: ${e.reply ?? e.diagnostic}`,
    };
    const orcpt = byAddress.get(e.recipient)?.orcpt;
    if (orcpt !== undefined) r.originalRecipient = orcpt;
    if (e.remoteMta !== undefined) r.remoteMta = e.remoteMta;
    return r;
  });
  return reports.length > 0 ? { to: p.sender, reports } : undefined;
}
