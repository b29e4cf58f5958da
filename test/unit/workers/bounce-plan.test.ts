import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../../src/core/options.ts';
import type { Recipient } from '../../../src/core/types.ts';
import {
  diagnosticCodeFor,
  doubleBounceAddress,
  planBounce,
  postmasterCopyTarget,
} from '../../../src/workers/bounce-plan.ts';
import type { WorkerJournalEntry } from '../../../src/workers/outcome-plan.ts';

const opts = resolveOptions({ myhostname: 'mta.example.org' });

function entry(
  recipient: string,
  status: WorkerJournalEntry['status'],
  jobId = 'J1',
  extra: Partial<WorkerJournalEntry> = {},
) {
  const e: WorkerJournalEntry = {
    recipient,
    status,
    dsn: status === 'sent' ? '2.0.0' : '5.1.1',
    relay: 'r',
    diagnostic: `text ${recipient}`,
    at: 1,
    jobId,
    ...extra,
  };
  return e;
}

const rcpts: Recipient[] = [
  { address: 'a@x', orcpt: 'A@X' },
  { address: 'b@x', notify: ['NEVER'] },
  { address: 'c@x', notify: ['SUCCESS'] },
  { address: 'd@x', notify: ['FAILURE'] },
];

describe('planBounce', () => {
  it('groups the failed recipients of every job not reported yet into one report, from the null sender', () => {
    const t = planBounce({
      sender: 's@y',
      reported: new Set(['f@x']),
      entries: [
        entry('a@x', 'bounced', 'J1', { reply: '550 5.1.1 nope', remoteMta: 'mx.x' }),
        entry('d@x', 'expired', 'J2'),
        entry('e@x', 'sent'),
        entry('f@x', 'bounced', 'J2'),
      ],
      recipients: rcpts,
      opts,
    });
    expect(t.kind).toBe('send');
    if (t.kind !== 'send') return;
    expect(t.from).toBe('');
    expect(t.to).toBe('s@y');
    expect(t.reports.map((r) => r.finalRecipient)).toEqual(['a@x', 'd@x']);
    expect(t.reports[0]).toMatchObject({
      action: 'failed',
      status: '5.1.1',
      originalRecipient: 'A@X',
      remoteMta: 'mx.x',
      diagnosticCode: 'smtp; 550 5.1.1 nope',
    });
    expect(t.reports[1]?.diagnosticCode).toBe('X-Postfix; text d@x');
  });

  it('honours NOTIFY=NEVER and NOTIFY without FAILURE', () => {
    const t = planBounce({
      sender: 's@y',
      reported: new Set(),
      entries: [entry('b@x', 'bounced'), entry('c@x', 'bounced')],
      recipients: rcpts,
      opts,
    });
    expect(t).toEqual({ kind: 'none', reason: 'notify-suppressed' });
  });

  it('nothing failed: nothing to send', () => {
    expect(
      planBounce({
        sender: 's@y',
        reported: new Set(),
        entries: [entry('a@x', 'sent')],
        recipients: rcpts,
        opts,
      }).kind,
    ).toBe('none');
  });

  it('never bounces a null-sender message; notice to bounceNoticeRecipient when set', () => {
    const entries = [entry('a@x', 'bounced')];
    expect(planBounce({ sender: '', reported: new Set(), entries, recipients: rcpts, opts }).kind).toBe(
      'log-only',
    );
    const withoutClass = resolveOptions({ bounceNoticeRecipient: 'postmaster@example.org' });
    expect(
      planBounce({ sender: '', reported: new Set(), entries, recipients: rcpts, opts: withoutClass }).kind,
    ).toBe('log-only');
    const o = resolveOptions({
      myhostname: 'mta.example.org',
      bounceNoticeRecipient: 'postmaster@example.org',
      notifyClasses: ['2bounce'],
    });
    const t = planBounce({ sender: '', reported: new Set(), entries, recipients: rcpts, opts: o });
    expect(t).toMatchObject({
      kind: 'send',
      from: 'double-bounce@mta.example.org',
      to: 'postmaster@example.org',
      notice: true,
    });
    // a failing notice is never noticed again
    const again = planBounce({
      sender: 'double-bounce@mta.example.org',
      reported: new Set(),
      entries,
      recipients: rcpts,
      opts: o,
    });
    expect(again.kind).toBe('log-only');
  });
});

it('diagnosticCodeFor and doubleBounceAddress', () => {
  expect(diagnosticCodeFor({ reply: '554 5.7.1 no', diagnostic: 'x' })).toBe('smtp; 554 5.7.1 no');
  expect(diagnosticCodeFor({ diagnostic: 'Host or domain name not found' })).toBe(
    'X-Postfix; Host or domain name not found',
  );
  expect(doubleBounceAddress(opts)).toBe('double-bounce@mta.example.org');
  expect(doubleBounceAddress(resolveOptions({ doubleBounceSender: 'mailer@z' }))).toBe('mailer@z');
});

describe('postmasterCopyTarget (notify_classes, issue 14)', () => {
  it('only for the listed class, to the qualified recipient, from double-bounce', () => {
    const base = { myhostname: 'mta.test', bounceNoticeRecipient: 'pm' };
    expect(postmasterCopyTarget(resolveOptions(base), 'bounce')).toBeUndefined();
    expect(postmasterCopyTarget(resolveOptions(base), 'delay')).toBeUndefined();
    const o = resolveOptions({ ...base, notifyClasses: ['bounce', 'delay'] });
    expect(postmasterCopyTarget(o, 'bounce')).toEqual({ from: 'double-bounce@mta.test', to: 'pm@mta.test' });
    expect(postmasterCopyTarget(o, 'delay')).toEqual({
      from: 'double-bounce@mta.test',
      to: 'postmaster@mta.test',
    });
    const none = resolveOptions({ notifyClasses: ['bounce'] });
    expect(postmasterCopyTarget(none, 'bounce')).toBeUndefined();
  });
});
