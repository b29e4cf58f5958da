import { describe, expect, it } from 'vitest';
import {
  type DeliveryEvent,
  type DeliveryJobData,
  decodeDeliveryEvent,
  encodeDeliveryEvent,
  parseDeliveryJobData,
  parseJournalEntry,
} from '../../../src/queue/job-schema.ts';
import { hasHashTag, queueKeys } from '../../../src/queue/keys.ts';

const good: DeliveryJobData = {
  v: 1,
  queueId: 'Q',
  sender: '',
  recipients: [{ address: 'a@x.test', notify: ['NEVER'] }],
  domain: 'x.test',
  nexthop: '[relay.x.test]',
  transport: 'smtp',
  arrivalTime: 1,
  attempts: 2,
  size: 3,
  eightBit: false,
  smtputf8: false,
  requireTls: false,
  lastDeferral: { 'a@x.test': { dsn: '4.4.1', diagnostic: 'connect refused', relay: 'none' } },
};

describe('parseDeliveryJobData', () => {
  it('accepts a well-formed job', () => {
    expect(parseDeliveryJobData(JSON.parse(JSON.stringify(good)))).toEqual(good);
  });
  it.each([
    ['not an object', null],
    ['wrong version', { ...good, v: 2 }],
    ['no recipients', { ...good, recipients: [] }],
    ['recipient without address', { ...good, recipients: [{}] }],
    ['bad notify', { ...good, recipients: [{ address: 'a', notify: ['SOMETIMES'] }] }],
    ['bad transport', { ...good, transport: 'uucp' }],
    ['missing sender', { ...good, sender: undefined }],
    ['string size', { ...good, size: '3' }],
    ['bad dsn.ret', { ...good, dsn: { ret: 'ALL' } }],
    ['bad lastDeferral', { ...good, lastDeferral: { a: { dsn: 4 } } }],
  ])('throws for %s', (_name, x) => {
    expect(() => parseDeliveryJobData(x)).toThrow(TypeError);
  });
});

describe('events and journal encoding', () => {
  const ev: DeliveryEvent = {
    queueId: 'Q',
    jobId: 'Q.1',
    recipient: 'a@x.test',
    event: 'deferred',
    dsn: '4.4.1',
    relay: 'none',
    diagnostic: 'connect to x[127.0.0.1]:25: Connection refused',
    at: 99,
  };
  it('round-trips an event through stream fields, and reads a JSON field too', () => {
    expect(decodeDeliveryEvent(encodeDeliveryEvent(ev))).toEqual(ev);
    expect(decodeDeliveryEvent(['json', JSON.stringify(ev)])).toEqual(ev);
    expect(() => decodeDeliveryEvent(['queueId', 'Q', 'event', 'lost'])).toThrow(TypeError);
  });
  it('checks journal entries', () => {
    const e = {
      recipient: 'a',
      status: 'sent',
      dsn: '2.0.0',
      relay: 'r',
      diagnostic: '250 ok',
      at: 1,
      jobId: 'Q.1',
    };
    expect(parseJournalEntry(e)).toEqual(e);
    expect(() => parseJournalEntry({ ...e, status: 'deferred' })).toThrow(TypeError);
  });
});

describe('queueKeys', () => {
  it('puts every key under the prefix hash tag', () => {
    const k = queueKeys('{t1}');
    const all = [k.message('Q'), k.messageJobs('Q'), k.journal('Q'), k.events, k.messageIndex];
    expect(all.every((key) => key.startsWith('{t1}:'))).toBe(true);
    expect(new Set(all).size).toBe(all.length);
    expect(k.bullPrefix).toBe('{t1}');
    expect(queueKeys().bullPrefix).toBe('{mxq}');
    expect(hasHashTag('{mxq}')).toBe(true);
    expect(hasHashTag('mxq')).toBe(false);
  });
});

describe('parseDeliveryJobData: jobs queued before routing moved to the worker', () => {
  const old = { ...good, domain: undefined, lastDeferral: undefined };
  it('a stored next-hop equal to the recipient domain becomes "the worker routes"', () => {
    const d = parseDeliveryJobData({ ...old, nexthop: 'x.test' });
    expect(d.domain).toBe('x.test');
    expect(d.nexthop).toBeUndefined();
  });
  it('another stored next-hop stays explicit', () => {
    const d = parseDeliveryJobData({ ...old, nexthop: '[relay.test]:587' });
    expect([d.domain, d.nexthop]).toEqual(['x.test', '[relay.test]:587']);
  });
});
