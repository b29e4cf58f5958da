/**
 * The queue client applications use: createMailQueue() → send(), events(), waitForOutcome(),
 * and the operator operations list(), flush(), remove().
 *
 * Decides: the composition (one ioredis connection shared with a BullMQ producer Queue, a queue id
 * generator per client) and the order of send(): validate → id → plan jobs → one atomic write.
 * Never: delivers mail (workers do); writes anything when validation fails.
 */
import { Queue } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import { type DeliveryOptionsInput, type ResolvedOptions, resolveOptions } from '../core/options.ts';
import type { Clock, Random } from '../core/ports.ts';
import { closeRedisClient, createRedisClient, waitReplicas } from './connection.ts';
import { writeMessage } from './enqueue.ts';
import { type EventsOptions, followEvents, type WaitOptions, waitForOutcome } from './events.ts';
import { type HoldResult, holdMessage, releaseMessage } from './hold.ts';
import { jobDataFor, planJobs } from './job-plan.ts';
import type { DeliveryEvent, DeliveryJobData, MessageMeta, RecipientJournalEntry } from './job-schema.ts';
import { DEFAULT_PREFIX, type QueueKeys, queueKeys } from './keys.ts';
import { flushQueue, listQueue, type QueueEntry, type RemoveReport, removeMessages } from './operations.ts';
import { createQueueIdGenerator } from './queue-id.ts';
import { type RequeueReport, requeueMessage } from './requeue.ts';
import { type ShowReport, showMessage } from './show.ts';
import { type SendInput, validateSendInput } from './validate.ts';

export { NoSuchMessageError, OutcomeTimeoutError } from './events.ts';
export type { HoldResult } from './hold.ts';
export type { QueueEntry, RemoveReport } from './operations.ts';
export type { RequeueReport } from './requeue.ts';
export type { ShowReport } from './show.ts';
export { MailQueueInputError, type SendInput } from './validate.ts';

export interface MailQueueOptions {
  /** `redis://` / `rediss://` URL, or ioredis options (Sentinel: `{ sentinels, name }`). */
  redis: string | RedisOptions;
  /** ioredis options merged over a URL or the options above (e.g. a CLI's short retry limits). */
  connectionOptions?: RedisOptions;
  /** Key prefix with a hash tag; default "{mxq}". */
  prefix?: string;
  options?: DeliveryOptionsInput;
  /** Defaults: the system clock and Math.random (ids only). */
  clock?: Clock;
  random?: Random;
  /** waitForOutcome() default timeout, ms (default 60000). */
  defaultWaitMs?: number;
  // --- chaos: bounded send ---
  /**
   * Longest send() waits for a usable Redis connection and for the write's reply, ms (default
   * 5000). A send that times out rejects: never queued offline to be written later unseen.
   */
  sendTimeoutMs?: number;
  /**
   * Replicas that must hold a message before send() resolves (Redis WAIT; default 0). With
   * Sentinel or Cluster failover, a write acknowledged by the primary alone can vanish; with 1 or
   * more, send() resolves only once that many replicas have it, and rejects otherwise (the write
   * may still survive: a retry can duplicate, never lose).
   */
  sendReplicaAcks?: number;
}

export interface MailQueue {
  send(input: SendInput): Promise<{ queueId: string; jobIds: string[] }>;
  events(opts?: EventsOptions): AsyncIterable<DeliveryEvent & { id: string }>;
  /**
   * One final journal entry per recipient. Rejects with OutcomeTimeoutError (its `pending` lists
   * the recipients still undelivered) or NoSuchMessageError. `onEvent` sees this message's events
   * (deferrals too) while waiting.
   */
  waitForOutcome(queueId: string, opts?: Partial<WaitOptions>): Promise<RecipientJournalEntry[]>;
  /** Every queued message (no cap); `filter` keeps the entries it accepts. */
  list(filter?: (e: QueueEntry) => boolean): Promise<QueueEntry[]>;
  /** Hold a message's waiting/deferred jobs (postsuper -h); 'busy' when only an active job is left. */
  hold(queueId: string): Promise<HoldResult>;
  /** Release a message's held jobs, due now (postsuper -H); the number released. */
  release(queueId: string): Promise<number | 'absent'>;
  /** Envelope, headers and each recipient's history (postcat); undefined when there is no such message. */
  show(queueId: string): Promise<ShowReport | undefined>;
  /** The queue ids in arrival order (for ALL). */
  queueIds(): Promise<string[]>;
  flush(): Promise<number>;
  /** Requeue a message (postsuper -r): deferred jobs due now, old-shape jobs migrated. */
  requeue(queueId: string): Promise<RequeueReport | 'absent'>;
  /** Number of messages deleted; messages with an active job keep that job (see removeReport). */
  remove(queueId: string | 'ALL'): Promise<number>;
  removeReport(queueId: string | 'ALL'): Promise<RemoveReport>;
  /** The resolved delivery options and key names this client uses. */
  readonly resolvedOptions: ResolvedOptions;
  readonly keys: QueueKeys;
  close(): Promise<void>;
}

const DEFAULT_SEND_TIMEOUT_MS = 5000;

/** Error of a send() that Redis did not serve in time (down, frozen, failing over). */
export class MailQueueUnavailableError extends Error {
  override name = 'MailQueueUnavailableError';
}

/**
 * `wait(ms)`: resolve when the connection is ready; reject after `ms` instead of queueing commands
 * offline. Concurrent waiters share one 'ready' listener (a burst of send() calls while connecting
 * or reconnecting adds one listener, not one per call).
 */
function readyWaiter(redis: Redis): (ms: number) => Promise<void> {
  let pending: Promise<void> | undefined;
  return (ms) => {
    if (redis.status === 'ready') return Promise.resolve();
    if (redis.status === 'wait') redis.connect().catch(() => {});
    if (pending === undefined) {
      pending = new Promise<void>((done) => redis.once('ready', done)).finally(() => {
        pending = undefined;
      });
    }
    return withDeadline(
      pending,
      ms,
      `Redis is not reachable (connection ${redis.status}) after ${ms} ms; message not accepted`,
    );
  };
}

function withDeadline<T>(p: Promise<T>, ms: number, text: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new MailQueueUnavailableError(text)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

const SYSTEM_CLOCK: Clock = { now: () => Date.now() };
const SYSTEM_RANDOM: Random = { next: () => Math.random() };

function buildMeta(
  queueId: string,
  v: ReturnType<typeof validateSendInput>,
  arrivalTime: number,
  jobIds: string[],
) {
  const meta: MessageMeta = {
    queueId,
    sender: v.sender,
    size: v.size,
    arrivalTime,
    recipients: v.recipients,
    eightBit: v.eightBit,
    smtputf8: v.smtputf8,
    requireTls: v.requireTls,
    jobIds,
  };
  if (v.dsn !== undefined) meta.dsn = v.dsn;
  if (v.isBounce) meta.isBounce = true;
  return meta;
}

export function createMailQueue(opts: MailQueueOptions): MailQueue {
  const resolved = resolveOptions(opts.options ?? {});
  const keys = queueKeys(opts.prefix ?? DEFAULT_PREFIX);
  const clock = opts.clock ?? SYSTEM_CLOCK;
  const nextId = createQueueIdGenerator({ clock, random: opts.random ?? SYSTEM_RANDOM });
  const redis: Redis = createRedisClient(opts.redis, opts.connectionOptions);
  const queue = new Queue<DeliveryJobData>(keys.deliverQueue, { connection: redis, prefix: keys.bullPrefix });
  // Connection errors reach callers through the failing command; without a listener BullMQ
  // would print each reconnect error.
  queue.on('error', () => {});
  const readers = new Set<AbortController>();
  const sendTimeoutMs = opts.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  const whenReady = readyWaiter(redis);

  async function send(input: SendInput) {
    const v = validateSendInput(input, resolved);
    const queueId = nextId();
    const arrivalTime = clock.now();
    const planned = planJobs(queueId, v, resolved);
    const jobIds = planned.map((j) => j.jobId);
    const jobs = planned.map((j) => ({ jobId: j.jobId, data: jobDataFor(queueId, j, v, arrivalTime) }));
    await whenReady(sendTimeoutMs);
    await withDeadline(
      writeMessage(redis, queue, keys, {
        meta: buildMeta(queueId, v, arrivalTime, jobIds),
        body: v.body,
        jobs,
      }),
      sendTimeoutMs,
      `Redis did not answer within ${sendTimeoutMs} ms; message ${queueId} may or may not have been accepted`,
    );
    const acks = opts.sendReplicaAcks ?? 0;
    if (acks > 0) {
      const got = await withDeadline(
        waitReplicas(redis, acks, sendTimeoutMs),
        sendTimeoutMs + 1000,
        `Redis WAIT did not answer; message ${queueId} may or may not survive a failover`,
      );
      if (got < acks) {
        throw new MailQueueUnavailableError(
          `message ${queueId} reached ${got} of ${acks} replicas within ${sendTimeoutMs} ms; it may or may not survive a failover`,
        );
      }
    }
    return { queueId, jobIds };
  }

  async function* events(eopts: EventsOptions = {}) {
    const ctl = new AbortController();
    readers.add(ctl);
    const signal = eopts.signal === undefined ? ctl.signal : AbortSignal.any([ctl.signal, eopts.signal]);
    try {
      yield* followEvents(redis, keys, { ...eopts, signal });
    } finally {
      readers.delete(ctl);
    }
  }

  return {
    send,
    events,
    waitForOutcome: (queueId, w) =>
      waitForOutcome(redis, keys, queueId, {
        ...w,
        timeoutMs: w?.timeoutMs ?? opts.defaultWaitMs ?? 60_000,
      }),
    list: (filter) => listQueue(redis, queue, keys, filter),
    hold: (queueId) => holdMessage(redis, queue, keys, queueId, clock.now()),
    release: (queueId) => releaseMessage(redis, queue, keys, queueId),
    show: (queueId) => showMessage(redis, queue, keys, queueId),
    queueIds: () => redis.zrange(keys.messageIndex, 0, -1),
    flush: () => flushQueue(queue),
    requeue: (queueId) => requeueMessage(redis, queue, keys, queueId),
    remove: async (target) => (await removeMessages(redis, queue, keys, target)).deleted,
    removeReport: (target) => removeMessages(redis, queue, keys, target),
    resolvedOptions: resolved,
    keys,
    async close() {
      for (const ctl of readers) ctl.abort();
      await queue.close();
      await closeRedisClient(redis);
    },
  };
}
