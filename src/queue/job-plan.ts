/**
 * Splits one validated message into delivery jobs, like Postfix's queue manager groups a
 * message's recipients into delivery requests.
 *
 * Decides: each recipient's next-hop (the given next-hop, else relayhost, else the recipient's
 * domain lower-cased), the grouping per (transport, next-hop) in order of first appearance, and the
 * split by defaultDestinationRecipientLimit; the job ids `${queueId}.${n}` (n from 1).
 * Never: touches Redis; reorders recipients within a group.
 */
import type { ResolvedOptions } from '../core/options.ts';
import type { Protocol, Recipient } from '../core/types.ts';
import { domainNexthop } from './address.ts';
import type { DeliveryJobData } from './job-schema.ts';
import type { ValidatedSend } from './validate.ts';

export interface PlannedJob {
  jobId: string;
  nexthop: string;
  transport: Protocol;
  recipients: Recipient[];
}

function recipientDomain(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

/** The next-hop of one recipient. */
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
    const hop = nexthopFor(r.address, msg, opts);
    const list = groups.get(hop);
    if (list === undefined) groups.set(hop, [r]);
    else list.push(r);
  }
  const jobs: PlannedJob[] = [];
  for (const [nexthop, recipients] of groups) {
    for (let i = 0; i < recipients.length; i += limit) {
      jobs.push({
        jobId: `${queueId}.${jobs.length + 1}`,
        nexthop,
        transport: msg.transport,
        recipients: recipients.slice(i, i + limit),
      });
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
    nexthop: job.nexthop,
    transport: job.transport,
    arrivalTime,
    attempts: 0,
    size: msg.size,
    eightBit: msg.eightBit,
    smtputf8: msg.smtputf8,
    requireTls: msg.requireTls,
  };
  if (msg.dsn !== undefined) data.dsn = msg.dsn;
  if (msg.isBounce) data.isBounce = true;
  return data;
}
