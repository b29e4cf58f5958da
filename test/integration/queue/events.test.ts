/**
 * events() and waitForOutcome() against a real redis-server, with journal and stream entries
 * written by the test itself (the delivery worker writes them in real runs).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type DeliveryEvent,
  encodeDeliveryEvent,
  type RecipientJournalEntry,
} from '../../../src/queue/job-schema.ts';
import { queueKeys } from '../../../src/queue/keys.ts';
import { createMailQueue, type MailQueue } from '../../../src/queue/mail-queue.ts';
import { commitOutcome, envelopePositions } from '../../../src/workers/journal.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';

let redis: RedisHandle;
let admin: Redis;
let q: MailQueue;
const keys = queueKeys('{ev}');

beforeAll(async () => {
  redis = await startRedis({ appendonly: false });
  admin = new Redis(redis.url);
});
afterAll(async () => {
  admin.disconnect();
  await redis.stop();
});
beforeEach(async () => {
  await admin.flushall();
  q = createMailQueue({ redis: redis.url, prefix: '{ev}' });
  return () => q.close();
});

const event = (queueId: string, recipient: string, kind: DeliveryEvent['event']): DeliveryEvent => ({
  queueId,
  jobId: `${queueId}.1`,
  recipient,
  event: kind,
  dsn: kind === 'sent' ? '2.0.0' : '4.4.1',
  relay: 'none',
  diagnostic: `${kind} text`,
  at: 1000,
});

async function finalize(queueId: string, recipient: string, status: RecipientJournalEntry['status']) {
  const entry: RecipientJournalEntry = {
    recipient,
    status,
    dsn: status === 'sent' ? '2.0.0' : '5.1.1',
    relay: 'mx[127.0.0.1]:25',
    diagnostic: status,
    at: 2000,
    jobId: `${queueId}.1`,
  };
  await admin.hset(keys.journal(queueId), recipient, JSON.stringify(entry));
  await admin.xadd(
    keys.events,
    'MAXLEN',
    '~',
    '1000',
    '*',
    ...encodeDeliveryEvent(event(queueId, recipient, status)),
  );
}

describe('events()', () => {
  it('yields typed events appended after it started, and stops on abort', async () => {
    await admin.xadd(keys.events, '*', ...encodeDeliveryEvent(event('OLD', 'o@x.test', 'sent')));
    const ctl = new AbortController();
    const seen: Array<DeliveryEvent & { id: string }> = [];
    const reading = (async () => {
      for await (const e of q.events({ signal: ctl.signal, blockMs: 200 })) {
        seen.push(e);
        if (seen.length === 2) ctl.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    await admin.xadd(keys.events, '*', ...encodeDeliveryEvent(event('Q1', 'a@x.test', 'deferred')));
    await admin.xadd(keys.events, '*', ...encodeDeliveryEvent(event('Q1', 'a@x.test', 'sent')));
    await reading;
    expect(seen.map((e) => [e.queueId, e.event, e.dsn])).toEqual([
      ['Q1', 'deferred', '4.4.1'],
      ['Q1', 'sent', '2.0.0'],
    ]);
    expect(seen[0]?.id).toMatch(/^\d+-\d+$/);
  });

  it('replays the retained stream from an id', async () => {
    await admin.xadd(keys.events, '*', ...encodeDeliveryEvent(event('Q2', 'a@x.test', 'bounced')));
    const ctl = new AbortController();
    for await (const e of q.events({ fromId: '0', signal: ctl.signal, blockMs: 100 })) {
      expect(e).toMatchObject({ queueId: 'Q2', event: 'bounced', at: 1000 });
      ctl.abort();
    }
  });

  it('ends when the queue client closes', async () => {
    const iter = q.events({ blockMs: 100 })[Symbol.asyncIterator]();
    const next = iter.next();
    await new Promise((r) => setTimeout(r, 50));
    await q.close();
    await expect(next).resolves.toMatchObject({ done: true });
  });
});

describe('waitForOutcome()', () => {
  it('resolves when every recipient has a final journal entry', async () => {
    const { queueId } = await q.send({ from: 'a@x.test', to: ['b@y.test', 'c@z.test'], message: 'x\n' });
    const waiting = q.waitForOutcome(queueId, { timeoutMs: 10_000 });
    await finalize(queueId, 'c@z.test', 'bounced');
    await new Promise((r) => setTimeout(r, 50));
    await finalize(queueId, 'b@y.test', 'sent');
    const outcome = await waiting;
    expect(outcome.map((e) => [e.recipient, e.status])).toEqual([
      ['b@y.test', 'sent'],
      ['c@z.test', 'bounced'],
    ]);
  });

  it('still answers after the worker deleted the message (journal only)', async () => {
    const { queueId } = await q.send({ from: 'a@x.test', to: ['b@y.test'], message: 'x\n' });
    await finalize(queueId, 'b@y.test', 'expired');
    await admin.del(keys.message(queueId));
    const outcome = await q.waitForOutcome(queueId, { timeoutMs: 1000 });
    expect(outcome.map((e) => e.status)).toEqual(['expired']);
  });

  it('keeps envelope order after the message is gone, whatever order the outcomes came in', async () => {
    const to = ['d@y.test', 'b@y.test', 'c@z.test', 'a@z.test'];
    const { queueId } = await q.send({ from: 'a@x.test', to, message: 'x\n' });
    const positions = envelopePositions(to.map((address) => ({ address })));
    // Written as the worker writes them, last recipient first, one commit each.
    for (const recipient of [...to].reverse()) {
      const entry = {
        recipient,
        status: 'sent' as const,
        dsn: '2.0.0',
        relay: 'r',
        diagnostic: 'ok',
        at: 1,
        jobId: 'j',
      };
      await commitOutcome(admin, keys, queueId, [entry], [], positions);
    }
    await admin.del(keys.message(queueId));
    const outcome = await q.waitForOutcome(queueId, { timeoutMs: 1000 });
    expect(outcome.map((e) => e.recipient)).toEqual(to);
    expect(outcome[0]).not.toHaveProperty('n');
  });

  it('rejects on timeout and for unknown queue ids', async () => {
    const { queueId } = await q.send({ from: 'a@x.test', to: ['b@y.test', 'c@y.test'], message: 'x\n' });
    await finalize(queueId, 'b@y.test', 'sent');
    await expect(q.waitForOutcome(queueId, { timeoutMs: 300 })).rejects.toThrow(/timed out/);
    await expect(q.waitForOutcome('0000000000none', { timeoutMs: 300 })).rejects.toThrow(/no such message/);
  });
});
