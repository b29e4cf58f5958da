/**
 * The BullMQ processor of the `deliver` queue: one job = one delivery request (message × next-hop
 * × ≤ recipient limit), run again with the deferred subset until every recipient is final.
 *
 * Decides: the order of a job's steps: validate the data (malformed → leave the message's pass and
 * release the job's share of its message, then UnrecoverableError, the only way to `failed`), join
 * the message's current pass, load body and meta, skip recipients already final in the journal, run
 * the attempt, record final outcomes and events at once (one script), leave the pass (the run that
 * leaves it empty sends the message's failure report for every failed recipient not reported yet,
 * Postfix's report at the end of a pass), then either requeue the deferred subset (delay warning →
 * updateData → moveToDelayed(backoff) → DelayedError) or, at the terminal state, release the
 * message. Any other error puts the job back with backoff (the same step pattern; its next run
 * joins and leaves the pass again), so no recipient and no report is ever lost to a processor error.
 * A job sent away by a busy destination (DestinationBusyError) is delayed without counting an
 * attempt; with `promote`, a lease release of that destination may bring it back sooner (it names
 * itself by job id among the destination's waiting jobs, destination-gate.ts).
 * Round trips (issue 10): joining the pass and loading body, meta and journal is one script
 * (run-store.ts loadRun), and the destination lease is asked for at the same time (the agent's
 * `reserve`: route and lease need no body; a run that makes no attempt, message gone or every
 * recipient already final, cancels it and a granted lease goes back at once); a terminal run
 * leaves the pass and releases its job in one more (finishRun), unless a failure report may be
 * owed, when the report path runs in between. When every outcome was written as it settled, that
 * script is sent behind those writes without waiting for their replies, and acts only if the
 * journal holds every entry (earlyFinish): a message is never released before its outcomes.
 * Never: classifies SMTP outcomes (the agent does), builds MIME, reads the environment.
 */

import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ResolvedOptions } from '../core/options.ts';
import type { Clock, Logger, Random } from '../core/ports.ts';
import { backoffDelayMs } from '../core/retry-policy.ts';
import { domainAsNexthop, type RouteInput } from '../core/route.ts';
import { type MetricsRecorder, recordAttempt } from '../metrics/recorder.ts';
import { countJobError, HELD_JOB_PREFIX, holdFailingJob, MAX_JOB_ERRORS } from '../queue/hold.ts';
import { type DeliveryJobData, parseDeliveryJobData } from '../queue/job-schema.ts';
import type { QueueKeys } from '../queue/keys.ts';
import type { JobAgent, ReserveRequest, RoutedAttemptRequest, RouteReservation } from './agent.ts';
import { dispatchDelayWarning, dispatchFailureReport, type NotificationSender } from './bounce-dispatch.ts';
import { DestinationBusyError, type LeaseWaiter } from './destination-gate.ts';
import { commitOutcome, createSettleRecorder, envelopePositions } from './journal.ts';
import { leaseWaiter, waitingEstimate } from './lease-waiter.ts';
import { leavePass, loadMessage, releaseJob, type StoredMessage } from './message-store.ts';
import {
  type AttemptPlan,
  expiredLogLine,
  handoffRoute,
  nextJobData,
  pendingRecipients,
  planAttemptOutcome,
  settledRecord,
  type WorkerJournalEntry,
  withoutRecorded,
} from './outcome-plan.ts';
import { type Finished, finishRun, leavePassForReport, loadRun } from './run-store.ts';
import { dispatchSessionNotices } from './session-notice.ts';

export const MALFORMED_JOB_PREFIX = 'malformed delivery job';

export interface ProcessorDeps {
  redis: Redis;
  keys: QueueKeys;
  opts: ResolvedOptions;
  agent: JobAgent;
  notifications: NotificationSender;
  clock: Clock;
  random: Random;
  logger: Logger;
  journalTtlSec?: number;
  /** Metrics hook: one recordAttempt per attempt (src/metrics). */
  metrics?: MetricsRecorder;
  /**
   * Moves a delayed job to `wait` now (worker-runtime.ts: BullMQ's promote); rejects when the job
   * is no longer delayed. With it, a job is named by its id among a destination's waiting jobs and
   * a lease release hands its freed slot to the earliest of them (destination-gate.ts).
   */
  promote?: (jobId: string) => Promise<void>;
  /** Jobs in BullMQ's `wait` list now (worker-runtime.ts): a hand-off only fills what they cannot. */
  waitingJobs?: () => Promise<number>;
}

/** Return value of a completed job: this job's final counts. */
export interface DeliverJobResult {
  queueId: string;
  sent: number;
  bounced: number;
  expired: number;
  /** The message body was gone (deleted) before this job could run. */
  messageGone?: boolean;
}

/** The part of a BullMQ Job the processor uses (a real Job satisfies it). */
export type DeliverJob = Pick<Job, 'id' | 'data' | 'updateData' | 'moveToDelayed'>;

export type DeliverProcessor = (
  job: DeliverJob,
  token?: string,
  signal?: AbortSignal,
) => Promise<DeliverJobResult>;

interface RunCtx {
  deps: ProcessorDeps;
  job: DeliverJob;
  jobId: string;
  token: string | undefined;
  signal: AbortSignal | undefined;
  data: DeliveryJobData;
  log: Logger;
  /** This job as a lease waiter (with `deps.promote`): its id, hand-offs and promotions. */
  waiter?: LeaseWaiter;
}

export function createDeliverProcessor(deps: ProcessorDeps): DeliverProcessor {
  // The wait list's length as last counted, shared by this processor's jobs (leaseWaiter).
  const waiting = waitingEstimate(deps.waitingJobs, deps.clock);
  return async (job, token, signal) => {
    let data: DeliveryJobData;
    try {
      data = parseDeliveryJobData(job.data);
    } catch (err) {
      deps.logger.error(
        { event: 'job-malformed', jobId: job.id, err: String(err) },
        'malformed delivery job',
      );
      await releaseMalformed(deps, job, token);
      throw new UnrecoverableError(
        `${MALFORMED_JOB_PREFIX}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const jobId = job.id ?? `${data.queueId}-unknown`;
    const log = deps.logger.child({ queueId: data.queueId, jobId, nexthop: data.nexthop });
    const ctx: RunCtx = { deps, job, jobId, token, signal, data, log };
    if (deps.promote !== undefined) ctx.waiter = leaseWaiter(jobId, log, deps.promote, waiting);
    try {
      return await runJob(ctx);
    } catch (err) {
      if (err instanceof DelayedError || err instanceof UnrecoverableError) throw err;
      if (err instanceof DestinationBusyError) return waitForLease(ctx, err);
      return delayAfterError(ctx, err);
    }
  };
}

/**
 * A malformed job ends in `failed` for good: it leaves its message's pass (closing it sends the
 * message's report, as any run does) and counts as terminal for its message (when the message
 * lists it), so that neither the pass nor the body outlives the message's last job. The queue id
 * comes from the data when it is still readable, else from the job id (`${queueId}.${n}`). When
 * the pass cannot be closed (another run is sending the report, Redis error) the job is delayed
 * and comes back here later, so a report is never left unsent.
 */
async function releaseMalformed(
  deps: ProcessorDeps,
  job: DeliverJob,
  token: string | undefined,
): Promise<void> {
  const jobId = job.id;
  if (jobId === undefined) return;
  const raw: unknown = job.data;
  const fromData =
    typeof raw === 'object' && raw !== null && 'queueId' in raw && typeof raw.queueId === 'string'
      ? raw.queueId
      : undefined;
  const queueId = fromData ?? jobId.replace(/\.\d+$/, '');
  let stored: StoredMessage | undefined;
  try {
    stored = await loadMessage(deps.redis, deps.keys, queueId);
    if (stored === undefined || !stored.meta.jobIds.includes(jobId)) return;
    await closePass(deps, deps.logger.child({ queueId, jobId }), { queueId, jobId, token, stored });
  } catch (err) {
    deps.logger.error(
      { event: 'release-failed', queueId, jobId, err: String(err) },
      'could not close the pass of a malformed job; retrying later',
    );
    const now = deps.clock.now();
    const delayMs = backoffDelayMs({ arrivalTime: now, now, opts: deps.opts, random: deps.random });
    await job.moveToDelayed(now + delayMs, token);
    throw new DelayedError();
  }
  try {
    const p: { queueId: string; jobId: string; journalTtlSec?: number } = { queueId, jobId };
    if (deps.journalTtlSec !== undefined) p.journalTtlSec = deps.journalTtlSec;
    const left = await releaseJob(deps.redis, deps.keys, p);
    if (left === 0) deps.logger.info({ event: 'removed', queueId, jobId }, `${queueId}: removed`);
  } catch (err) {
    deps.logger.error(
      { event: 'release-failed', queueId, jobId, err: String(err) },
      'could not release the message of a malformed job',
    );
  }
}

/**
 * This run of `jobId` ends: leave the message's pass; when no other job of the message is in it,
 * this run closed the pass and sends the message's failure report (BounceInProgressError when
 * another run is sending one: the caller's job is retried and closes the pass again).
 */
async function closePass(
  deps: ProcessorDeps,
  log: Logger,
  p: { queueId: string; jobId: string; token: string | undefined; stored: StoredMessage },
): Promise<void> {
  // One script leaves the pass and tells whether a report can be owed (run-store.ts): a message
  // whose recipients were all sent skips bounce-dispatch's claim and journal reads.
  const state = await leavePassForReport(deps.redis, deps.keys, p.queueId, p.jobId);
  if (state !== 'report') return;
  await reportFailures(deps, log, p);
}

/** The pass is closed and a report may be owed: bounce-dispatch claims, reads and sends it. */
async function reportFailures(
  deps: ProcessorDeps,
  log: Logger,
  p: { jobId: string; token: string | undefined; stored: StoredMessage },
): Promise<void> {
  await dispatchFailureReport(notificationDeps(deps, log), {
    token: p.token ?? p.jobId,
    meta: p.stored.meta,
    body: p.stored.body,
  });
}

/**
 * No destination lease free: wait briefly; no attempt and no backoff step are counted. A lease
 * release may promote the job before its delay ends (ProcessorDeps.promote).
 */
async function waitForLease(ctx: RunCtx, err: DestinationBusyError): Promise<never> {
  const now = ctx.deps.clock.now();
  const delayMs = Math.ceil(err.retryInMs * (1 + 0.25 * ctx.deps.random.next()));
  ctx.log.debug({ event: 'destination-busy', destination: err.destination, retryInMs: delayMs }, err.message);
  await ctx.job.moveToDelayed(now + delayMs, ctx.token);
  throw new DelayedError();
}

/** An unexpected error: keep the job, try again after a backoff. */
async function delayAfterError(ctx: RunCtx, err: unknown): Promise<never> {
  const { deps, data } = ctx;
  const now = deps.clock.now();
  // A job that keeps throwing (a bug or corrupt data, not a delivery failure) is held, with its
  // error, after MAX_JOB_ERRORS tries (queue/hold.ts): visible in mxq queue / mxq show, nothing lost.
  const text = err instanceof Error ? err.message : String(err);
  const errors = await countJobError(deps.redis, deps.keys, ctx.jobId);
  if (errors >= MAX_JOB_ERRORS) {
    await holdFailingJob(deps.redis, deps.keys, ctx.jobId, data, text, errors, now);
    ctx.log.error(
      { event: 'job-held', err: text, errors },
      `${data.queueId}: job ${ctx.jobId} held after ${errors} errors: ${text}`,
    );
    throw new UnrecoverableError(`${HELD_JOB_PREFIX}: ${text}`);
  }
  const delayMs = backoffDelayMs({
    arrivalTime: data.arrivalTime,
    now,
    opts: deps.opts,
    random: deps.random,
  });
  ctx.log.error(
    { event: 'job-error', err: err instanceof Error ? err.message : String(err), retryInMs: delayMs },
    'delivery job failed unexpectedly; retrying later',
  );
  await ctx.job.moveToDelayed(now + delayMs, ctx.token);
  throw new DelayedError();
}

async function runJob(ctx: RunCtx): Promise<DeliverJobResult> {
  // The route and the destination lease need no body: asked for now, answered while the message
  // loads (agent.ts reserve). Every path ends the reservation: the attempt uses it, or it is
  // cancelled (a granted lease goes back at once; cancel after the attempt does nothing).
  const reserved = ctx.deps.agent.reserve?.(reserveRequest(ctx));
  try {
    return await runReserved(ctx, reserved);
  } finally {
    reserved?.cancel();
  }
}

function reserveRequest(ctx: RunCtx): ReserveRequest {
  const { data, signal } = ctx;
  return {
    queueId: data.queueId,
    recipients: data.recipients,
    route: routeInput(data),
    ...(signal !== undefined ? { signal } : {}),
    ...(ctx.waiter !== undefined ? { waiter: ctx.waiter } : {}),
  };
}

/** What the job carries for routing (the worker routes at every attempt: agent.ts, core/route.ts). */
function routeInput(data: DeliveryJobData): RouteInput {
  return {
    domain: data.domain,
    transport: data.transport,
    ...(data.nexthop !== undefined ? { nexthop: data.nexthop } : {}),
  };
}

async function runReserved(ctx: RunCtx, reserved: RouteReservation | undefined): Promise<DeliverJobResult> {
  const { deps, data } = ctx;
  // One round trip: join the pass, read body, meta and journal (run-store.ts).
  const loaded = await loadRun(deps.redis, deps.keys, data.queueId, ctx.jobId);
  if (loaded === undefined) {
    reserved?.cancel();
    ctx.log.warn({ event: 'message-gone' }, `${data.queueId}: message is gone (deleted); job ends`);
    await leavePass(deps.redis, deps.keys, data.queueId, ctx.jobId);
    await release(ctx);
    return { queueId: data.queueId, sent: 0, bounced: 0, expired: 0, messageGone: true };
  }
  const { stored, journal } = loaded;
  const pending = pendingRecipients(data.recipients, new Set(journal.keys()));
  if (pending.length < data.recipients.length) {
    ctx.log.info(
      { event: 'skip-final', skipped: data.recipients.length - pending.length },
      'recipients already final skipped',
    );
  }
  // No attempt (every recipient already final): a lease granted meanwhile goes back now.
  if (pending.length === 0) reserved?.cancel();
  const { requeue, finished } =
    pending.length > 0 ? await attemptAndRecord(ctx, stored, pending, journal, reserved) : {};
  if (requeue === undefined) {
    // Terminal run: leave the pass and release the job in one script (run-store.ts finishRun),
    // unless the attempt already did (earlyFinish); only when a failure report may be owed does
    // it stop there, and the report path below runs.
    const end = finished ?? (await finishRun(deps.redis, deps.keys, releaseParams(ctx)));
    if (!end.report) {
      if (end.left === 0) ctx.log.info({ event: 'removed' }, `${data.queueId}: removed`);
      return summarize(data.queueId, ctx.jobId, journal);
    }
    await reportFailures(deps, ctx.log, { token: ctx.token, jobId: ctx.jobId, stored });
  } else {
    await closePass(deps, ctx.log, { queueId: data.queueId, jobId: ctx.jobId, token: ctx.token, stored });
    await applyRequeue(ctx, stored, requeue);
  }
  await release(ctx);
  return summarize(data.queueId, ctx.jobId, journal);
}

/** What the end of a run does with its deferred recipients. */
interface Requeue {
  next: DeliveryJobData;
  delayMs: number;
  /** Deferred recipients owed the message's delay warning now. */
  delayWarning: DeliveryJobData['recipients'];
  deferred: number;
  now: number;
}

/**
 * One attempt; records its outcomes and returns the requeue of the deferred subset, if any, or
 * the end of a terminal run when earlyFinish already ended it.
 */
async function attemptAndRecord(
  ctx: RunCtx,
  stored: StoredMessage,
  pending: DeliveryJobData['recipients'],
  journal: Map<string, WorkerJournalEntry>,
  reserved: RouteReservation | undefined,
): Promise<{ requeue?: Requeue; finished?: Finished }> {
  const { deps, data } = ctx;
  const activeTime = deps.clock.now();
  const req: RoutedAttemptRequest = {
    queueId: data.queueId,
    sender: data.sender,
    recipients: pending,
    nexthop: data.nexthop ?? domainAsNexthop(data.domain),
    protocol: data.transport,
    // The worker routes at every attempt (agent.ts, core/route.ts).
    route: routeInput(data),
    message: stored.body,
    size: data.size,
    eightBit: data.eightBit,
    smtputf8: data.smtputf8,
    requireTls: data.requireTls,
    arrivalTime: data.arrivalTime,
    activeTime,
    cacheHint: 'load+store',
  };
  if (data.dsn !== undefined) req.dsn = data.dsn;
  if (ctx.signal !== undefined) req.signal = ctx.signal;
  if (ctx.waiter !== undefined) req.waiter = ctx.waiter;
  // Make each final outcome durable the moment it is known: a crash in a later session of this
  // attempt (next MX, fallback relay) then cannot deliver those recipients a second time.
  const positions = envelopePositions(stored.meta.recipients);
  const settled = createSettleRecorder({
    redis: deps.redis,
    keys: deps.keys,
    queueId: data.queueId,
    log: ctx.log,
    positions,
  });
  req.onRecipientFinal = (r) => {
    const rec = settledRecord(r, data.queueId, ctx.jobId, deps.clock.now());
    if (rec !== undefined) settled.record(rec);
  };
  const result = await deps.agent.deliver(req, reserved);
  // The last batch's write leaves now, so that earlyFinish's script goes out behind it.
  const writing = settled.finish();
  const now = deps.clock.now();
  const plan = planAttemptOutcome({
    data: { ...data, recipients: pending },
    jobId: ctx.jobId,
    result,
    now,
    opts: deps.opts,
  });
  if (deps.metrics) recordAttempt(deps.metrics, data.transport, (now - activeTime) / 1000, plan.events);
  const early = earlyFinish(ctx, plan, result, settled.given);
  const recorded = await writing;
  let finished: Finished | undefined;
  if (early !== undefined) {
    const answer = await early;
    // 'unrecorded': a write had not happened before it (failed, or resent after NOSCRIPT) and
    // nothing was changed; the run records what is missing and finishes as usual.
    if (answer !== 'unrecorded') finished = answer;
  }
  // Finished early: every entry of the attempt was in the journal, with its event (one script).
  if (finished === undefined) {
    const rest = withoutRecorded(plan, recorded);
    await commitOutcome(deps.redis, deps.keys, data.queueId, rest.journal, rest.events, positions);
  }
  for (const e of plan.journal) if (!journal.has(e.recipient)) journal.set(e.recipient, e);
  // --- notices: postmaster transcripts of sessions with protocol errors (spec §10.3) ---
  if (result.notices !== undefined) {
    const n = { opts: deps.opts, sender: deps.notifications, logger: ctx.log, now };
    await dispatchSessionNotices(n, data.queueId, result.notices);
  }
  if (plan.expired)
    ctx.log.info({ event: 'expired', sender: data.sender }, expiredLogLine(data.queueId, data.sender));
  if (plan.deferred.length === 0) return finished === undefined ? {} : { finished };
  const next = nextJobData(data, plan);
  const used = {
    nexthop: result.route?.nexthop ?? req.nexthop,
    transport: result.route?.transport ?? data.transport,
  };
  const handoff = handoffRoute(used, result.handoff, plan.deferred);
  if (handoff.reason !== undefined) ctx.log.error({ event: 'handoff-refused' }, handoff.reason);
  if (handoff.route !== undefined) {
    next.transport = handoff.route.transport;
    next.nexthop = handoff.route.nexthop;
    ctx.log.info({ event: 'handoff', ...handoff.route }, `${data.queueId}: passed to best_mx_transport`);
  }
  const delayMs =
    handoff.route !== undefined
      ? 0
      : backoffDelayMs({ arrivalTime: data.arrivalTime, now, opts: deps.opts, random: deps.random });
  return { requeue: { next, delayMs, delayWarning: plan.delayWarning, deferred: plan.deferred.length, now } };
}

/**
 * The end of a terminal run sent without waiting for the replies of the attempt's journal writes
 * (one round trip less between two messages of a session): only when every final outcome was
 * written as it settled (no deferred or expired recipient, nothing left for the end commit) and
 * no session notice is owed. The script goes out behind those writes on the same connection and
 * changes nothing unless the journal holds every entry of the attempt (run-store.ts finishRun
 * `recorded`), so no message is released before its outcomes are durable.
 */
function earlyFinish(
  ctx: RunCtx,
  plan: AttemptPlan,
  result: { notices?: unknown },
  given: ReadonlySet<string>,
): Promise<Finished | 'unrecorded'> | undefined {
  if (plan.deferred.length > 0 || result.notices !== undefined) return undefined;
  const rest = withoutRecorded(plan, given);
  if (rest.journal.length > 0 || rest.events.length > 0) return undefined;
  const recorded = plan.journal.map((e) => e.recipient);
  const answer = finishRun(ctx.deps.redis, ctx.deps.keys, { ...releaseParams(ctx), recorded });
  // Read after the writes' replies; a rejection meanwhile is not an unhandled one.
  answer.catch(() => undefined);
  return answer;
}

/** Requeue the deferred subset (after the pass was closed): delay warning, new data, backoff. */
async function applyRequeue(ctx: RunCtx, stored: StoredMessage, r: Requeue): Promise<never> {
  const { deps } = ctx;
  if (r.delayWarning.length > 0) {
    await dispatchDelayWarning(notificationDeps(deps, ctx.log), {
      data: r.next,
      body: stored.body,
      recipients: r.delayWarning,
      now: r.now,
    });
  }
  await ctx.job.updateData(r.next);
  await ctx.job.moveToDelayed(r.now + r.delayMs, ctx.token);
  ctx.log.info(
    { event: 'requeued', deferred: r.deferred, attempts: r.next.attempts, retryInMs: r.delayMs },
    'deferred recipients requeued',
  );
  throw new DelayedError();
}

function notificationDeps(deps: ProcessorDeps, logger: Logger) {
  return { redis: deps.redis, keys: deps.keys, opts: deps.opts, sender: deps.notifications, logger };
}

function releaseParams(ctx: RunCtx): { queueId: string; jobId: string; journalTtlSec?: number } {
  const p: { queueId: string; jobId: string; journalTtlSec?: number } = {
    queueId: ctx.data.queueId,
    jobId: ctx.jobId,
  };
  if (ctx.deps.journalTtlSec !== undefined) p.journalTtlSec = ctx.deps.journalTtlSec;
  return p;
}

async function release(ctx: RunCtx): Promise<void> {
  const { deps, data } = ctx;
  const left = await releaseJob(deps.redis, deps.keys, releaseParams(ctx));
  if (left === 0) ctx.log.info({ event: 'removed' }, `${data.queueId}: removed`);
}

function summarize(
  queueId: string,
  jobId: string,
  journal: Map<string, WorkerJournalEntry>,
): DeliverJobResult {
  const out: DeliverJobResult = { queueId, sent: 0, bounced: 0, expired: 0 };
  for (const e of journal.values()) if (e.jobId === jobId) out[e.status]++;
  return out;
}
