import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../../src/core/options.ts';
import { jobDataFor, planJobs } from '../../../src/queue/job-plan.ts';
import { parseDeliveryJobData } from '../../../src/queue/job-schema.ts';
import { validateSendInput } from '../../../src/queue/validate.ts';

const msg = (to: string[], extra: Record<string, unknown> = {}, o = resolveOptions({})) =>
  validateSendInput({ from: 's@x.test', to, message: 'hi\r\n', ...extra }, o);

describe('planJobs', () => {
  it('groups by lower-cased recipient domain in order of first appearance', () => {
    const o = resolveOptions({});
    const jobs = planJobs(
      'Q',
      msg(['a@B.test', 'c@a.test', 'd@b.TEST', 'e@[IPv6:::1]', 'f@[127.0.0.1]'], {}, o),
      o,
    );
    expect(jobs.map((j) => [j.jobId, j.domain, j.recipients.map((r) => r.address)])).toEqual([
      ['Q.1', 'b.test', ['a@B.test', 'd@b.TEST']],
      ['Q.2', 'a.test', ['c@a.test']],
      ['Q.3', '[ipv6:::1]', ['e@[IPv6:::1]']],
      ['Q.4', '[127.0.0.1]', ['f@[127.0.0.1]']],
    ]);
    expect(jobs.every((j) => j.nexthop === undefined)).toBe(true);
  });

  it('splits a group by defaultDestinationRecipientLimit', () => {
    const o = resolveOptions({ defaultDestinationRecipientLimit: 2 });
    const to = ['a', 'b', 'c', 'd', 'e'].map((l) => `${l}@x.test`);
    const jobs = planJobs('Q', msg(to, {}, o), o);
    expect(jobs.map((j) => j.recipients.length)).toEqual([2, 2, 1]);
    expect(jobs.map((j) => j.jobId)).toEqual(['Q.1', 'Q.2', 'Q.3']);
  });

  it('uses the default limit of 50', () => {
    const o = resolveOptions({});
    const to = Array.from({ length: 120 }, (_, i) => `r${i}@x.test`);
    expect(planJobs('Q', msg(to, {}, o), o).map((j) => j.recipients.length)).toEqual([50, 50, 20]);
  });

  it("keeps an explicit next-hop; never routes by the sending side's relayhost", () => {
    const o = resolveOptions({});
    const given = planJobs('Q', msg(['a@x.test', 'b@y.test'], { nexthop: '[127.0.0.1]:2525' }, o), o);
    expect(given.map((j) => j.nexthop)).toEqual(['[127.0.0.1]:2525']);
    const relay = resolveOptions({ relayhost: '[relay.test]:587' });
    const viaRelay = planJobs('Q', msg(['a@x.test', 'b@y.test'], {}, relay), relay);
    expect(viaRelay.map((j) => [j.domain, j.nexthop, j.recipients.length])).toEqual([
      ['x.test', undefined, 1],
      ['y.test', undefined, 1],
    ]);
  });

  it('builds job data that parses back', () => {
    const o = resolveOptions({});
    const v = msg(['a@x.test'], { dsn: { ret: 'HDRS', notify: ['FAILURE'] }, requireTls: true }, o);
    const [job] = planJobs('Q', v, o);
    if (job === undefined) throw new Error('no job');
    const data = jobDataFor('Q', job, v, 1234);
    expect(parseDeliveryJobData(JSON.parse(JSON.stringify(data)))).toEqual(data);
    expect(data).toMatchObject({
      v: 1,
      attempts: 0,
      arrivalTime: 1234,
      requireTls: true,
      transport: 'smtp',
      size: 4,
    });
    expect(data.recipients).toEqual([{ address: 'a@x.test', notify: ['FAILURE'] }]);
  });
});
