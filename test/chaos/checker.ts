/**
 * The reconciling checker of the chaos suite: every recipient of every message ends in exactly one
 * of three states, and nothing is lost.
 *
 *  - sent: the journal says sent AND the fault peer received it (copies ≥ 1; copies − 1 are
 *    duplicates);
 *  - bounced: the journal says bounced (or expired: returned at the end of the queue lifetime)
 *    AND exactly one DSN names it (Final-Recipient);
 *  - deferred: no final journal entry yet, and the message is still queued (its body key exists);
 *  - lost: anything else (sent without a copy, bounced without exactly one DSN, or neither final
 *    nor queued).
 *
 * Decides: the figures a RELIABILITY.md row reports (messages, recipients, sent, deferred, bounced,
 * duplicates, drops, lost) and the list of problems.
 * Never: changes Redis or the peer.
 */
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../../src/queue/keys.ts';
import { readJournal } from '../../src/workers/journal.ts';
import type { FaultPeer } from './fault-peer.ts';

export interface SentMessage {
  queueId: string;
  recipients: string[];
}

export interface Reconciliation {
  messages: number;
  recipients: number;
  sent: number;
  deferred: number;
  bounced: number;
  duplicates: number;
  drops: number;
  lost: number;
  problems: string[];
}

export async function reconcile(
  redis: Redis,
  keys: QueueKeys,
  peer: FaultPeer,
  sent: readonly SentMessage[],
): Promise<Reconciliation> {
  const r: Reconciliation = {
    messages: sent.length,
    recipients: 0,
    sent: 0,
    deferred: 0,
    bounced: 0,
    duplicates: 0,
    drops: 0,
    lost: 0,
    problems: [],
  };
  for (const m of sent) {
    const journal = await readJournal(redis, keys, m.queueId);
    const queued = (await redis.exists(keys.message(m.queueId))) === 1;
    for (const rcpt of m.recipients) {
      r.recipients++;
      const copies = peer.copies.get(rcpt) ?? 0;
      r.drops += peer.drops.get(rcpt) ?? 0;
      const entry = journal.get(rcpt);
      if (entry?.status === 'sent') {
        if (copies >= 1) {
          r.sent++;
          r.duplicates += copies - 1;
        } else {
          r.lost++;
          r.problems.push(`${m.queueId} ${rcpt}: journal says sent, the server never received it`);
        }
      } else if (entry?.status === 'bounced' || entry?.status === 'expired') {
        const dsns = peer.dsns.get(rcpt) ?? 0;
        if (dsns === 1) r.bounced++;
        else {
          r.lost++;
          r.problems.push(`${m.queueId} ${rcpt}: bounced with ${dsns} DSNs (want exactly 1)`);
        }
      } else if (queued) r.deferred++;
      else {
        r.lost++;
        r.problems.push(`${m.queueId} ${rcpt}: no final outcome and the message is no longer queued`);
      }
    }
  }
  return r;
}

/** One line for logs and RELIABILITY.md. */
export function summary(name: string, r: Reconciliation, extra: Record<string, number> = {}): string {
  const more = Object.entries(extra).map(([k, v]) => ` ${k}=${v}`);
  return (
    `${name}: messages=${r.messages} recipients=${r.recipients} sent=${r.sent} deferred=${r.deferred} ` +
    `bounced=${r.bounced} duplicates=${r.duplicates} drops=${r.drops} lost=${r.lost}${more.join('')}`
  );
}
