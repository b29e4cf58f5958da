/**
 * Sends the notifications a message owes: its RFC 3464 failure report at the end of each pass
 * through the queue (every failed recipient of any of its jobs not reported yet, in one report;
 * Postfix spec §10.1), and its single delay warning.
 *
 * Decides: idempotence of the failure report: a claim key per message is set with SET NX
 * ("sending:<token>", short TTL) before the journal is read and the report enqueued; after that,
 * one script adds the reported recipients to the message's reported set and drops the claim. A
 * later pass skips reported recipients; a run that finds another run's live claim throws (its job
 * is retried later and closes the pass again). The only duplicate window is a crash between
 * enqueueing the report and recording its recipients.
 * Never: decides who is told (bounce-plan.ts), builds MIME (bounce-message.ts), delivers mail (the
 * report is ordinary queued mail with the null sender).
 */
import type { Redis } from 'ioredis';
import type { ResolvedOptions } from '../core/options.ts';
import type { Logger } from '../core/ports.ts';
import type { Recipient } from '../core/types.ts';
import { hasNonAscii } from '../queue/address.ts';
import type { DeliveryJobData, DsnEnvelope, MessageMeta } from '../queue/job-schema.ts';
import type { QueueKeys } from '../queue/keys.ts';
import { buildDeliveryReport, type DsnRecipientReport, wantsNotification } from './bounce-message.ts';
import { planBounce, planSuccessNotice, postmasterCopyTarget } from './bounce-plan.ts';
import { readJournal } from './journal.ts';
import { reportClaimKey } from './message-store.ts';

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
  constructor(queueId: string) {
    super(`failure report of message ${queueId} is being sent by another run`);
    this.name = 'BounceInProgressError';
  }
}

export interface FailureInput {
  /** The run's lock token (tells its claim from another run's). */
  token: string;
  meta: MessageMeta;
  body: Buffer;
}

const MARK_REPORTED_SCRIPT = `
for i = 2, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`;

/**
 * Send the message's failure report for its failed recipients not reported yet (if any); called by
 * the run that closed a pass. Returns the report's queue id, if one was sent now.
 */
export async function dispatchFailureReport(deps: BounceDeps, p: FailureInput): Promise<string | undefined> {
  const { logger, redis, keys } = deps;
  const meta = p.meta;
  const qid = meta.queueId;
  const claim = reportClaimKey(keys, qid);
  const mine = `sending:${p.token}`;
  if ((await redis.set(claim, mine, 'EX', BOUNCE_CLAIM_TTL_SEC, 'NX')) === null) {
    throw new BounceInProgressError(qid);
  }
  const done = (recipients: string[]) =>
    redis.eval(MARK_REPORTED_SCRIPT, 2, claim, keys.messageReported(qid), mine, ...recipients);
  const reported = new Set(await redis.smembers(keys.messageReported(qid)));
  const journal = await readJournal(redis, keys, qid);
  const target = planBounce({
    sender: meta.sender,
    reported,
    entries: [...journal.values()],
    recipients: meta.recipients,
    opts: deps.opts,
  });
  // --- tls (issue 14): the pass's SUCCESS notice, under the same claim ---
  const success = planSuccessNotice({
    sender: meta.sender,
    reported,
    entries: [...journal.values()],
    recipients: meta.recipients,
    opts: deps.opts,
  });
  const notified = success === undefined ? [] : await sendSuccessNotice(deps, meta, p.body, success);
  if (target.kind === 'none') {
    await done(notified);
    return undefined;
  }
  const covered = target.reports.map((r) => r.finalRecipient);
  if (target.kind === 'log-only') {
    logger.warn(
      { event: 'bounce-discarded', queueId: qid, recipients: covered },
      `${qid}: undeliverable mail from <${meta.sender}> not returned (null or double-bounce sender)`,
    );
    await done([...covered, ...notified]);
    return undefined;
  }
  const report = await buildDeliveryReport({
    kind: 'failure',
    ...reportEnvelope(deps.opts, meta, p.body),
    recipients: target.reports,
  });
  const sent = await deps.sender.send({
    from: target.from,
    to: [target.to],
    message: report,
    isBounce: true,
    smtputf8: hasNonAscii(target.to),
  });
  if (!target.notice) {
    await sendPostmasterCopy(deps, 'bounce', {
      kind: 'failure',
      ...reportEnvelope(deps.opts, meta, p.body),
      recipients: target.reports,
    });
  }
  await done([...covered, ...notified]);
  const what = target.notice ? 'postmaster notice' : 'sender non-delivery notification';
  logger.info(
    // queueId comes from the processor's child logger (one key, never twice in a line).
    { event: 'bounce-sent', bounceQueueId: sent.queueId, to: target.to, recipients: covered },
    `${qid}: ${what}: ${sent.queueId}`,
  );
  return sent.queueId;
}

/**
 * notify_classes `bounce` / `delay` (spec §10.1, §10.2): a copy of the report for the postmaster
 * (headers only, Postfix's postmaster subject), sent from the double-bounce address.
 */
async function sendPostmasterCopy(
  deps: BounceDeps,
  cls: 'bounce' | 'delay',
  params: Parameters<typeof buildDeliveryReport>[0],
): Promise<void> {
  const target = postmasterCopyTarget(deps.opts, cls);
  if (target === undefined) return;
  const report = await buildDeliveryReport({
    ...params,
    ret: 'HDRS',
    postmasterCopy: true,
    postmaster: target.to,
  });
  const sent = await deps.sender.send({
    from: target.from,
    to: [target.to],
    message: report,
    isBounce: true,
    smtputf8: hasNonAscii(target.to),
  });
  deps.logger.info(
    { event: 'postmaster-copy-sent', queueId: params.queueId, class: cls, bounceQueueId: sent.queueId },
    `${params.queueId}: postmaster ${cls === 'bounce' ? 'non-delivery' : 'delay'} notification: ${sent.queueId}`,
  );
}

/** Send the success notice; returns the recipients it covers. */
async function sendSuccessNotice(
  deps: BounceDeps,
  meta: MessageMeta,
  body: Buffer,
  notice: { to: string; reports: DsnRecipientReport[] },
): Promise<string[]> {
  const report = await buildDeliveryReport({
    kind: 'success',
    ...reportEnvelope(deps.opts, meta, body),
    ret: 'HDRS', // RFC 3461 §4.3: RET concerns failure reports; success notices carry the headers
    recipients: notice.reports,
  });
  const sent = await deps.sender.send({
    from: '',
    to: [notice.to],
    message: report,
    isBounce: true,
    smtputf8: hasNonAscii(notice.to),
  });
  const covered = notice.reports.map((r) => r.finalRecipient);
  deps.logger.info(
    { event: 'success-notice-sent', queueId: meta.queueId, bounceQueueId: sent.queueId, recipients: covered },
    `${meta.queueId}: sender delivery status notification: ${sent.queueId}`,
  );
  return covered;
}

function reportEnvelope(
  opts: ResolvedOptions,
  data: { queueId: string; sender: string; arrivalTime: number; dsn?: DsnEnvelope },
  body: Buffer,
) {
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
    { event: 'delay-warning-sent', bounceQueueId: sent.queueId },
    `${data.queueId}: sender delay notification: ${sent.queueId}`,
  );
  await sendPostmasterCopy(deps, 'delay', {
    kind: 'delay',
    ...reportEnvelope(deps.opts, data, p.body),
    recipients: reports,
  });
  return sent.queueId;
}
