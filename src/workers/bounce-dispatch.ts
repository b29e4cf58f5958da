/**
 * Sends the notifications a job owes: one RFC 3464 failure report per job when it reaches a
 * terminal state, and the single delay warning of a message.
 *
 * Decides: idempotence: a marker key per job is claimed with SET NX ("sending", short TTL) before
 * the report is enqueued and set to "sent:<qid>" after; a re-run that finds "sent" does nothing, one
 * that finds another run's claim throws (the job is retried later, when the claim has expired).
 * The only duplicate window is a crash between enqueueing the report and marking it sent.
 * Never: decides who is told (bounce-plan.ts), builds MIME (bounce-message.ts), delivers mail (the
 * report is ordinary queued mail with the null sender).
 */
import type { Redis } from 'ioredis';
import type { ResolvedOptions } from '../core/options.ts';
import type { Logger } from '../core/ports.ts';
import type { Recipient } from '../core/types.ts';
import { hasNonAscii } from '../queue/address.ts';
import type { DeliveryJobData, MessageMeta } from '../queue/job-schema.ts';
import type { QueueKeys } from '../queue/keys.ts';
import { buildDeliveryReport, type DsnRecipientReport, wantsNotification } from './bounce-message.ts';
import { planBounce } from './bounce-plan.ts';
import { bounceMarkerKey, JOURNAL_TTL_SEC } from './message-store.ts';
import type { WorkerJournalEntry } from './outcome-plan.ts';

/** The part of E1's MailQueue that notifications need. */
export interface NotificationSender {
  send(input: {
    from: string;
    to: string[];
    message: Buffer;
    isBounce?: boolean;
    /** Set when the report goes to a non-ASCII (RFC 6531) address. */
    smtputf8?: boolean;
  }): Promise<{ queueId: string; jobIds: string[] }>;
}

export interface BounceDeps {
  redis: Redis;
  keys: QueueKeys;
  opts: ResolvedOptions;
  sender: NotificationSender;
  logger: Logger;
}

/** How long a "sending" claim protects a report being enqueued. */
export const BOUNCE_CLAIM_TTL_SEC = 60;

export class BounceInProgressError extends Error {
  constructor(jobId: string) {
    super(`bounce for job ${jobId} is being sent by another run`);
    this.name = 'BounceInProgressError';
  }
}

export interface FailureInput {
  jobId: string;
  token: string;
  data: DeliveryJobData;
  meta: MessageMeta;
  body: Buffer;
  journal: Iterable<WorkerJournalEntry>;
}

/** Send the one failure report this job owes (if any). Returns the report's queue id, if sent now. */
export async function dispatchFailureReport(deps: BounceDeps, p: FailureInput): Promise<string | undefined> {
  const { logger } = deps;
  const data = p.data;
  const qid = data.queueId;
  const target = planBounce({
    sender: data.sender,
    jobId: p.jobId,
    entries: [...p.journal],
    recipients: p.meta.recipients,
    opts: deps.opts,
  });
  if (target.kind === 'none') return undefined;
  if (target.kind === 'log-only') {
    logger.warn(
      { event: 'bounce-discarded', queueId: qid, recipients: target.reports.map((r) => r.finalRecipient) },
      `${qid}: undeliverable mail from <${data.sender}> not returned (null or double-bounce sender)`,
    );
    return undefined;
  }
  const marker = bounceMarkerKey(deps.keys, qid, p.jobId);
  const claimed = await deps.redis.set(marker, `sending:${p.token}`, 'EX', BOUNCE_CLAIM_TTL_SEC, 'NX');
  if (claimed === null) {
    const state = await deps.redis.get(marker);
    if (state?.startsWith('sent')) return undefined;
    throw new BounceInProgressError(p.jobId);
  }
  const report = await buildDeliveryReport({
    kind: 'failure',
    ...reportEnvelope(deps.opts, data, p.body),
    recipients: target.reports,
  });
  const sent = await deps.sender.send({
    from: target.from,
    to: [target.to],
    message: report,
    isBounce: true,
    smtputf8: hasNonAscii(target.to),
  });
  await deps.redis.set(marker, `sent:${sent.queueId}`, 'EX', JOURNAL_TTL_SEC);
  const what = target.notice ? 'postmaster notice' : 'sender non-delivery notification';
  logger.info(
    { event: 'bounce-sent', queueId: qid, bounceQueueId: sent.queueId, to: target.to },
    `${qid}: ${what}: ${sent.queueId}`,
  );
  return sent.queueId;
}

function reportEnvelope(opts: ResolvedOptions, data: DeliveryJobData, body: Buffer) {
  const env: {
    reportingMta: string;
    queueId: string;
    sender: string;
    arrivalTime: number;
    ret: 'FULL' | 'HDRS';
    original: Buffer;
    envid?: string;
  } = {
    reportingMta: opts.myhostname,
    queueId: data.queueId,
    sender: data.sender,
    arrivalTime: data.arrivalTime,
    ret: data.dsn?.ret ?? 'FULL',
    original: body,
  };
  if (data.dsn?.envid !== undefined) env.envid = data.dsn.envid;
  return env;
}

/** Send the once-per-message delay warning for these deferred recipients (non-null senders only). */
export async function dispatchDelayWarning(
  deps: BounceDeps,
  p: { data: DeliveryJobData; body: Buffer; recipients: Recipient[]; now: number },
): Promise<string | undefined> {
  const { data } = p;
  if (data.sender === '') return undefined;
  const reports: DsnRecipientReport[] = [];
  for (const r of p.recipients) {
    if (!wantsNotification(r.notify, 'delayed')) continue;
    const note = data.lastDeferral?.[r.address];
    const rep: DsnRecipientReport = {
      finalRecipient: r.address,
      action: 'delayed',
      status: note?.dsn ?? '4.0.0',
      diagnosticCode: `X-Postfix; ${note?.diagnostic ?? 'delivery temporarily deferred'}`,
      lastAttemptDate: p.now,
      willRetryUntil: data.arrivalTime + deps.opts.maximalQueueLifetime,
    };
    if (r.orcpt !== undefined) rep.originalRecipient = r.orcpt;
    reports.push(rep);
  }
  if (reports.length === 0) return undefined;
  const report = await buildDeliveryReport({
    kind: 'delay',
    ...reportEnvelope(deps.opts, data, p.body),
    recipients: reports,
  });
  const sent = await deps.sender.send({
    from: '',
    to: [data.sender],
    message: report,
    isBounce: true,
    smtputf8: hasNonAscii(data.sender),
  });
  deps.logger.info(
    { event: 'delay-warning-sent', queueId: data.queueId, bounceQueueId: sent.queueId },
    `${data.queueId}: sender delay notification: ${sent.queueId}`,
  );
  return sent.queueId;
}
