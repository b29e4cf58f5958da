import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../../src/core/options.ts';
import type { AttemptResult, Recipient, RecipientResult } from '../../../src/core/types.ts';
import type { DeliveryJobData } from '../../../src/queue/job-schema.ts';
import {
  expiredLogLine,
  handoffRoute,
  nextJobData,
  pendingRecipients,
  planAttemptOutcome,
} from '../../../src/workers/outcome-plan.ts';

const T0 = 1_735_689_600_000;
const opts = resolveOptions({
  maximalQueueLifetime: '1h',
  bounceQueueLifetime: '10m',
  delayWarningTime: '20m',
});

function data(recipients: string[], over: Partial<DeliveryJobData> = {}): DeliveryJobData {
  return {
    v: 1,
    queueId: 'Q1',
    sender: 'alice@example.org',
    recipients: recipients.map((address) => ({ address })),
    domain: 'example.com',
    nexthop: 'example.com',
    transport: 'smtp',
    arrivalTime: T0,
    attempts: 1,
    size: 10,
    eightBit: false,
    smtputf8: false,
    requireTls: false,
    ...over,
  };
}

function res(
  address: string,
  status: RecipientResult['status'],
  dsn: string,
  extra: Partial<RecipientResult> = {},
) {
  const r: RecipientResult = {
    recipient: { address },
    status,
    dsn,
    relay: 'mx.example.com[127.0.0.1]:25',
    diagnostic: `${status} text for ${address}`,
    ...extra,
  };
  return r;
}

function result(...rs: RecipientResult[]): AttemptResult {
  return { recipients: rs, servers: [] };
}

describe('pendingRecipients', () => {
  it('drops recipients already final in the journal, keeps order', () => {
    const rs: Recipient[] = [{ address: 'a@x' }, { address: 'b@x' }, { address: 'c@x' }];
    expect(pendingRecipients(rs, new Set(['b@x'])).map((r) => r.address)).toEqual(['a@x', 'c@x']);
    expect(pendingRecipients(rs, new Set(['a@x', 'b@x', 'c@x']))).toEqual([]);
  });
});

describe('planAttemptOutcome', () => {
  it('journals sent and bounced, defers the rest with their last soft error, one event each', () => {
    const reply = {
      code: 550,
      status: '5.1.1',
      enhanced: true,
      lines: ['550 5.1.1 no'],
      text: '550 5.1.1 no',
    };
    const plan = planAttemptOutcome({
      data: data(['a@x', 'b@x', 'c@x']),
      jobId: 'J1',
      result: result(
        res('a@x', 'sent', '2.0.0'),
        res('b@x', 'bounced', '5.1.1', { reply, remoteMta: 'mx.example.com' }),
        res('c@x', 'deferred', '4.4.1'),
      ),
      now: T0 + 1000,
      opts,
    });
    expect(plan.journal.map((e) => [e.recipient, e.status, e.jobId])).toEqual([
      ['a@x', 'sent', 'J1'],
      ['b@x', 'bounced', 'J1'],
    ]);
    expect(plan.journal[1]?.reply).toBe('550 5.1.1 no');
    expect(plan.journal[1]?.remoteMta).toBe('mx.example.com');
    expect(plan.events.map((e) => `${e.recipient}:${e.event}`)).toEqual([
      'a@x:sent',
      'b@x:bounced',
      'c@x:deferred',
    ]);
    expect(plan.deferred).toEqual([{ address: 'c@x' }]);
    expect(plan.lastDeferral['c@x']).toEqual({
      dsn: '4.4.1',
      diagnostic: 'deferred text for c@x',
      relay: 'mx.example.com[127.0.0.1]:25',
    });
    expect(plan.expired).toBe(false);
  });

  it('expires deferred recipients past maximalQueueLifetime with their soft status', () => {
    const plan = planAttemptOutcome({
      data: data(['c@x']),
      jobId: 'J1',
      result: result(res('c@x', 'deferred', '4.7.1')),
      now: T0 + 3_600_000,
      opts,
    });
    expect(plan.expired).toBe(true);
    expect(plan.deferred).toEqual([]);
    expect(plan.journal).toMatchObject([{ recipient: 'c@x', status: 'expired', dsn: '4.7.1' }]);
    expect(plan.events.map((e) => e.event)).toEqual(['deferred', 'expired']);
  });

  it('uses bounceQueueLifetime for the null sender', () => {
    const input = {
      jobId: 'J',
      result: result(res('c@x', 'deferred', '4.4.1')),
      now: T0 + 15 * 60_000,
      opts,
    };
    expect(planAttemptOutcome({ ...input, data: data(['c@x'], { sender: '' }) }).expired).toBe(true);
    expect(planAttemptOutcome({ ...input, data: data(['c@x']) }).expired).toBe(false);
  });

  it('a lifetime of 0 means try once', () => {
    const o = resolveOptions({ maximalQueueLifetime: 0 });
    const plan = planAttemptOutcome({
      data: data(['c@x']),
      jobId: 'J',
      result: result(res('c@x', 'deferred', '4.4.1')),
      now: T0,
      opts: o,
    });
    expect(plan.expired).toBe(true);
  });

  it('plans one delay warning once delayWarningTime passed, never twice, never for the null sender', () => {
    const base = { jobId: 'J', result: result(res('c@x', 'deferred', '4.4.1')), now: T0 + 25 * 60_000, opts };
    const first = planAttemptOutcome({ ...base, data: data(['c@x']) });
    expect(first.delayWarning).toEqual([{ address: 'c@x' }]);
    expect(first.events.map((e) => e.event)).toEqual(['deferred', 'delayed']);
    expect(nextJobData(data(['c@x']), first).delayWarned).toBe(true);
    expect(planAttemptOutcome({ ...base, data: data(['c@x'], { delayWarned: true }) }).delayWarning).toEqual(
      [],
    );
    expect(planAttemptOutcome({ ...base, data: data(['c@x'], { sender: '' }) }).delayWarning).toEqual([]);
    expect(planAttemptOutcome({ ...base, now: T0 + 60_000, data: data(['c@x']) }).delayWarning).toEqual([]);
  });

  it('plans no delay warning for a notification (postmaster notice from the double-bounce address)', () => {
    const o = resolveOptions({
      maximalQueueLifetime: '1h',
      bounceQueueLifetime: '1h',
      delayWarningTime: '20m',
    });
    const notice = data(['postmaster@x'], { sender: 'double-bounce@mta.test', isBounce: true });
    const plan = planAttemptOutcome({
      jobId: 'J',
      result: result(res('postmaster@x', 'deferred', '4.4.1')),
      now: T0 + 25 * 60_000,
      opts: o,
      data: notice,
    });
    expect(plan.deferred).toEqual([{ address: 'postmaster@x' }]);
    expect(plan.delayWarning).toEqual([]);
  });

  it('all final: nothing deferred', () => {
    const plan = planAttemptOutcome({
      data: data(['a@x']),
      jobId: 'J',
      result: result(res('a@x', 'sent', '2.0.0')),
      now: T0,
      opts,
    });
    expect(plan.deferred).toEqual([]);
    expect(plan.expired).toBe(false);
  });
});

describe('nextJobData', () => {
  it('keeps only the deferred subset, bumps attempts, carries arrival and lastDeferral', () => {
    const d = data(['a@x', 'c@x'], { attempts: 3 });
    const plan = planAttemptOutcome({
      data: d,
      jobId: 'J',
      result: result(res('a@x', 'sent', '2.0.0'), res('c@x', 'deferred', '4.4.1')),
      now: T0 + 1,
      opts,
    });
    const next = nextJobData(d, plan);
    expect(next.recipients).toEqual([{ address: 'c@x' }]);
    expect(next.attempts).toBe(4);
    expect(next.arrivalTime).toBe(T0);
    expect(next.lastDeferral?.['c@x']?.dsn).toBe('4.4.1');
    expect(next.delayWarned).toBeUndefined();
  });
});

it('expiredLogLine is qmgr wording', () => {
  expect(expiredLogLine('Q1', 'a@b')).toBe('Q1: from=<a@b>, status=expired, returned to sender');
  expect(expiredLogLine('Q1', '')).toBe('Q1: from=<>, status=expired, returned to sender');
});

describe('handoffRoute (best_mx_transport)', () => {
  const data = { nexthop: 'self.test', transport: 'smtp' as const };
  const a = { address: 'a@self.test' };
  const b = { address: 'b@self.test' };

  it('continues the job with the hand-off transport and next-hop', () => {
    const r = handoffRoute(data, { transport: 'lmtp', nexthop: 'unix:/run/lmtp', recipients: [a, b] }, [
      a,
      b,
    ]);
    expect(r).toEqual({ route: { transport: 'lmtp', nexthop: 'unix:/run/lmtp' } });
  });

  it('keeps the next-hop when the hand-off names only a transport', () => {
    expect(handoffRoute(data, { transport: 'lmtp', recipients: [a] }, [a])).toEqual({
      route: { transport: 'lmtp', nexthop: 'self.test' },
    });
  });

  it('refuses transports mxq does not have, routes that loop, and partial hand-offs', () => {
    expect(handoffRoute(data, { transport: 'local', recipients: [a] }, [a]).reason).toMatch(
      /not an mxq transport/,
    );
    expect(handoffRoute(data, { transport: 'smtp', recipients: [a] }, [a]).reason).toMatch(/loop/);
    expect(handoffRoute(data, { transport: 'lmtp', nexthop: 'x', recipients: [a] }, [a, b]).reason).toMatch(
      /every deferred/,
    );
    expect(handoffRoute(data, undefined, [a])).toEqual({});
  });
});
