/**
 * Redis key names of the mail queue, all under one hash tag so a Redis Cluster keeps them together.
 *
 * Decides: the name of every key the queue client and the workers share (body store, per-message
 * job counter, recipient journal, current-pass and reported sets, events stream, arrival index)
 * and the BullMQ prefix.
 * Never: talks to Redis.
 *
 * Lifecycle (written by send(), atomically): message(id) {body, meta}, messageJobs(id) = number of
 * jobs, messageIndex gets id scored by arrival ms, messagePass(id) gets every job id. Workers add
 * a job to messagePass(id) when it runs and take it out at the end of the run; the run that empties
 * it sends the message's failure report and adds the reported recipients to messageReported(id).
 * Workers DECR messageJobs(id) when a job of the message reaches a terminal state; at 0 they delete
 * message(id), messageJobs(id), messagePass(id), messageReported(id) and ZREM the index entry; the
 * journal stays (with a TTL) so waitForOutcome() can still read it.
 */

export const DEFAULT_PREFIX = '{mxq}';
export const DELIVER_QUEUE = 'deliver';

export interface QueueKeys {
  /** Passed to BullMQ as `prefix`: BullMQ keys become `${prefix}:deliver:...`. */
  bullPrefix: string;
  deliverQueue: 'deliver';
  /** Hash: `body` (raw bytes), `meta` (JSON MessageMeta). */
  message(queueId: string): string;
  /** Integer: jobs of this message not yet terminal. */
  messageJobs(queueId: string): string;
  /** Set: job ids of this message in the current pass (waiting or being run). */
  messagePass(queueId: string): string;
  /** Set: recipient addresses already covered by a failure report (or its log-only line). */
  messageReported(queueId: string): string;
  /** Hash: recipient address → JSON RecipientJournalEntry (final outcomes only). */
  journal(queueId: string): string;
  /** Stream of DeliveryEvent entries (bounded with MAXLEN ~). */
  events: string;
  /** Zset: queueId scored by arrival time (ms). */
  messageIndex: string;
}

/** Approximate bound of the events stream (XADD MAXLEN ~). */
export const EVENTS_MAXLEN = 100_000;

/**
 * Key names for one installation. The prefix is used as given (and is BullMQ's `prefix`); for Redis
 * Cluster it must contain a hash tag, as the default `{mxq}` does (see `hasHashTag`).
 */
export function queueKeys(prefix: string = DEFAULT_PREFIX): QueueKeys {
  const p = prefix;
  return {
    bullPrefix: p,
    deliverQueue: DELIVER_QUEUE,
    message: (queueId) => `${p}:msg:${queueId}`,
    messageJobs: (queueId) => `${p}:msgjobs:${queueId}`,
    messagePass: (queueId) => `${p}:msg:${queueId}:pass`,
    messageReported: (queueId) => `${p}:msg:${queueId}:reported`,
    journal: (queueId) => `${p}:journal:${queueId}`,
    events: `${p}:events`,
    messageIndex: `${p}:index`,
  };
}

/** Whether every key under this prefix lands in one Cluster slot. */
export function hasHashTag(prefix: string): boolean {
  return /\{[^}]+\}/.test(prefix);
}
