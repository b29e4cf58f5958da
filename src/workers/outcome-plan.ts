/**
 * What one delivery attempt means for its job: which recipients become final (journal), which
 * events are appended, which recipients stay deferred, and whether the rest expires now.
 *
 * Decides: the per-recipient journal entries and events of an attempt (written as each recipient
 * is settled, and the rest when the attempt ends); the deferred subset and its
 * last soft error; the best_mx_transport hand-off route; expiry (Postfix qmgr: at the end of an attempt, deferred recipients of a message
 * older than maximal_queue_lifetime, or bounce_queue_lifetime for the null sender, are returned
 * with their last 4.x.x status); whether a single delay warning is due.
 * Never: talks to Redis or BullMQ, reads the clock (time is an argument), sends mail.
 * See also: processor.ts (applies the plan), bounce-plan.ts (turns final failures into a report).
 */

import type { ResolvedOptions } from '../core/options.ts';
import { delayWarningDue, isExpired } from '../core/retry-policy.ts';
import type { AttemptResult, Recipient, RecipientResult } from '../core/types.ts';
import type {
  DeferralNote,
  DeliveryEvent,
  DeliveryJobData,
  RecipientJournalEntry,
} from '../queue/job-schema.ts';

/** A journal entry plus the server reply text (for Diagnostic-Code "smtp; ..."); readers ignore it. */
export interface WorkerJournalEntry extends RecipientJournalEntry {
  /** The server reply the outcome came from, e.g. "550 5.1.1 <x@y>: unknown user". */
  reply?: string;
  /** Sent, and the sender asked for NOTIFY=SUCCESS that this server cannot give (core/success-dsn.ts). */
  successAction?: 'relayed' | 'delivered';
}

export interface AttemptPlan {
  /** Final outcomes to record now (sent, bounced, expired). */
  journal: WorkerJournalEntry[];
  /** One event per recipient outcome of this attempt (and per expiry / delay warning). */
  events: DeliveryEvent[];
  /** Recipients that go back to the queue (empty when expired or all final). */
  deferred: Recipient[];
  /** Last soft failure of every deferred recipient, carried in the job data. */
  lastDeferral: Record<string, DeferralNote>;
  /** True when deferred recipients were turned into `expired` by this plan. */
  expired: boolean;
  /** Deferred recipients for which a delay warning is due now (once per message). */
  delayWarning: Recipient[];
}

export interface PlanInput {
  data: DeliveryJobData;
  jobId: string;
  result: AttemptResult;
  now: number;
  opts: ResolvedOptions;
}

/** The recipients of `data` that are not final in the journal yet (a job re-run after a crash). */
export function pendingRecipients(recipients: Recipient[], finalAddresses: ReadonlySet<string>): Recipient[] {
  return recipients.filter((r) => !finalAddresses.has(r.address));
}

function journalEntry(r: RecipientResult, status: WorkerJournalEntry['status'], jobId: string, at: number) {
  const e: WorkerJournalEntry = {
    recipient: r.recipient.address,
    status,
    dsn: r.dsn,
    relay: r.relay,
    diagnostic: r.diagnostic,
    at,
    jobId,
  };
  if (r.remoteMta !== undefined) e.remoteMta = r.remoteMta;
  if (r.reply !== undefined) e.reply = r.reply.text;
  if (r.successAction !== undefined && status === 'sent') e.successAction = r.successAction;
  return e;
}

function eventOf(
  r: { recipient: Recipient; dsn: string; relay: string; diagnostic: string },
  event: DeliveryEvent['event'],
  queueId: string,
  jobId: string,
  at: number,
): DeliveryEvent {
  return {
    queueId,
    jobId,
    recipient: r.recipient.address,
    event,
    dsn: r.dsn,
    relay: r.relay,
    diagnostic: r.diagnostic,
    at,
  };
}

/**
 * What to record the moment a recipient is settled in an attempt: a journal entry and an event for
 * sent and bounced; nothing for a deferral (requeue or expiry is decided when the attempt ends).
 */
export function settledRecord(
  r: RecipientResult,
  queueId: string,
  jobId: string,
  at: number,
): { entry: WorkerJournalEntry; event: DeliveryEvent } | undefined {
  if (r.status === 'deferred') return undefined;
  return { entry: journalEntry(r, r.status, jobId, at), event: eventOf(r, r.status, queueId, jobId, at) };
}

/** The plan's records less those already written when their recipients were settled. */
export function withoutRecorded(
  plan: Pick<AttemptPlan, 'journal' | 'events'>,
  recorded: ReadonlySet<string>,
): Pick<AttemptPlan, 'journal' | 'events'> {
  const early = (recipient: string, event: DeliveryEvent['event'] | undefined) =>
    recorded.has(recipient) && (event === undefined || event === 'sent' || event === 'bounced');
  return {
    journal: plan.journal.filter((e) => !early(e.recipient, undefined)),
    events: plan.events.filter((e) => !early(e.recipient, e.event)),
  };
}

/** Turn one attempt's result into journal entries, events and the deferred subset. */
export function planAttemptOutcome(p: PlanInput): AttemptPlan {
  const { data, jobId, now } = p;
  const plan: AttemptPlan = {
    journal: [],
    events: [],
    deferred: [],
    lastDeferral: {},
    expired: false,
    delayWarning: [],
  };
  const deferredResults: RecipientResult[] = [];
  for (const r of p.result.recipients) {
    if (r.status === 'deferred') {
      deferredResults.push(r);
      plan.events.push(eventOf(r, 'deferred', data.queueId, jobId, now));
      continue;
    }
    const rec = settledRecord(r, data.queueId, jobId, now);
    if (rec !== undefined) {
      plan.journal.push(rec.entry);
      plan.events.push(rec.event);
    }
  }
  if (deferredResults.length === 0) return plan;
  const expired = isExpired({
    arrivalTime: data.arrivalTime,
    now,
    nullSender: data.sender === '' || data.isBounce === true,
    opts: p.opts,
  });
  if (expired) {
    plan.expired = true;
    for (const r of deferredResults) {
      plan.journal.push(journalEntry(r, 'expired', jobId, now));
      plan.events.push(eventOf(r, 'expired', data.queueId, jobId, now));
    }
    return plan;
  }
  for (const r of deferredResults) {
    plan.deferred.push(r.recipient);
    plan.lastDeferral[r.recipient.address] = { dsn: r.dsn, diagnostic: r.diagnostic, relay: r.relay };
  }
  // Notifications (bounces, and postmaster notices from the double-bounce address) never get a
  // delay warning: it would go to the null sender or loop back to double-bounce.
  const nullSender = data.sender === '' || data.isBounce === true;
  if (
    !nullSender &&
    delayWarningDue({
      arrivalTime: data.arrivalTime,
      now,
      alreadyWarned: data.delayWarned === true,
      nullSender,
      opts: p.opts,
    })
  ) {
    for (const r of deferredResults) {
      plan.delayWarning.push(r.recipient);
      plan.events.push(eventOf(r, 'delayed', data.queueId, jobId, now));
    }
  }
  return plan;
}

/** Job data for the next try of the deferred subset. */
export function nextJobData(data: DeliveryJobData, plan: AttemptPlan): DeliveryJobData {
  const next: DeliveryJobData = {
    ...data,
    recipients: plan.deferred,
    attempts: data.attempts + 1,
    lastDeferral: plan.lastDeferral,
  };
  if (plan.delayWarning.length > 0) next.delayWarned = true;
  return next;
}

/** Qmgr's expiry log line. */
export function expiredLogLine(queueId: string, sender: string): string {
  return `${queueId}: from=<${sender}>, status=expired, returned to sender`;
}

/**
 * Where the deferred recipients go next when the attempt handed them to `best_mx_transport`
 * (spec §4.3): the same job continues at once with that transport and next-hop. Only mxq's own
 * transports (smtp, lmtp) can take them; a hand-off that covers only part of the deferred
 * recipients, names another transport, or points back at the same route is not followed (the
 * recipients stay deferred with their 4.4.6 status, and `reason` says why).
 */
export function handoffRoute(
  data: { nexthop: string; transport: DeliveryJobData['transport'] },
  handoff: AttemptResult['handoff'],
  deferred: readonly Recipient[],
): { route?: { transport: 'smtp' | 'lmtp'; nexthop: string }; reason?: string } {
  if (handoff === undefined || deferred.length === 0) return {};
  const { transport } = handoff;
  if (transport !== 'smtp' && transport !== 'lmtp') {
    return { reason: `best_mx_transport ${transport} is not an mxq transport (smtp or lmtp)` };
  }
  const nexthop = handoff.nexthop ?? data.nexthop;
  if (transport === data.transport && nexthop === data.nexthop) {
    return { reason: `best_mx_transport ${transport}:${nexthop} would loop to the same next-hop` };
  }
  const handed = new Set(handoff.recipients.map((r) => r.address));
  if (!deferred.every((r) => handed.has(r.address))) {
    return { reason: 'best_mx_transport hand-off does not cover every deferred recipient' };
  }
  return { route: { transport, nexthop } };
}
