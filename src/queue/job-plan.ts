/**
 * Splits one validated message into delivery jobs, like Postfix's queue manager groups a
 * message's recipients into delivery requests.
 *
 * Decides: the grouping of recipients by recipient domain (lower-case), or by the next-hop when
 * the application asked for one explicitly, in order of first appearance; the split by
 * defaultDestinationRecipientLimit; the job ids `${queueId}.${n}` (n from 1).
 * Never: touches Redis; reorders recipients within a group; routes: the worker decides transport
 * and next-hop at every attempt from its own configuration (core/route.ts), so the sending side
 * needs no relayhost or transport map.
 */
import type { ResolvedOptions } from '../core/options.ts';
import type { Protocol, Recipient } from '../core/types.ts';
import { domainNexthop } from './address.ts';
import type { DeliveryJobData } from './job-schema.ts';
import type { ValidatedSend } from './validate.ts';

export interface PlannedJob {
  jobId: string;
  /** Recipient domain (of the first recipient when an explicit next-hop groups several). */
  domain: string;
  /** The explicit next-hop, when the application gave one. */
  nexthop?: string;
  transport: Protocol;
  recipients: Recipient[];
}

function recipientDomain(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

/**
 * The default next-hop of one recipient under a given configuration (given next-hop, relayhost,
 * else the domain): what `mxq deliver` (in-process) uses. Queued mail is routed by the worker.
 */
export function nexthopFor(
  address: string,
  msg: Pick<ValidatedSend, 'nexthop'>,
  opts: ResolvedOptions,
): string {
  if (msg.nexthop !== undefined) return msg.nexthop;
  if (opts.relayhost !== '') return opts.relayhost;
  return domainNexthop(recipientDomain(address));
}

/** Groups and splits recipients into jobs. */
export function planJobs(
  queueId: string,
  msg: Pick<ValidatedSend, 'nexthop' | 'recipients' | 'transport'>,
  opts: ResolvedOptions,
): PlannedJob[] {
  const limit = Math.max(1, Math.floor(opts.defaultDestinationRecipientLimit) || 1);
  const groups = new Map<string, Recipient[]>();
  for (const r of msg.recipients) {
    const key = msg.nexthop ?? recipientDomain(r.address).toLowerCase();
    const list = groups.get(key);
    if (list === undefined) groups.set(key, [r]);
    else list.push(r);
  }
  const jobs: PlannedJob[] = [];
  for (const recipients of groups.values()) {
    for (let i = 0; i < recipients.length; i += limit) {
      const part = recipients.slice(i, i + limit);
      const job: PlannedJob = {
        jobId: `${queueId}.${jobs.length + 1}`,
        domain: recipientDomain(part[0]?.address ?? '').toLowerCase(),
        transport: msg.transport,
        recipients: part,
      };
      if (msg.nexthop !== undefined) job.nexthop = msg.nexthop;
      jobs.push(job);
    }
  }
  return jobs;
}

/** Job data for one planned job. */
export function jobDataFor(
  queueId: string,
  job: PlannedJob,
  msg: ValidatedSend,
  arrivalTime: number,
): DeliveryJobData {
  const data: DeliveryJobData = {
    v: 1,
    queueId,
    sender: msg.sender,
    recipients: job.recipients,
    domain: job.domain,
    transport: job.transport,
    arrivalTime,
    attempts: 0,
    size: msg.size,
    eightBit: msg.eightBit,
    smtputf8: msg.smtputf8,
    requireTls: msg.requireTls,
  };
  if (job.nexthop !== undefined) data.nexthop = job.nexthop;
  if (msg.dsn !== undefined) data.dsn = msg.dsn;
  if (msg.isBounce) data.isBounce = true;
  return data;
}
