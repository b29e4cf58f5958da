import { describe, expect, it } from 'vitest';
import {
  bindingKey,
  contentDigest,
  EMPTY_NEXTHOP_STATE,
  endpointKey,
  markForFailure,
  nexthopQuery,
  orderCandidates,
  plaintextFromMemory,
  shouldBind,
  ticketKey,
} from '../../../src/core/endpoint-memory.ts';
import type { NexthopState } from '../../../src/core/ports.ts';
import type { DeliveryFailure, Endpoint } from '../../../src/core/types.ts';

const ep = (n: number, preference = 10): Endpoint => ({
  kind: 'inet',
  host: `mx${n}.example.test`,
  address: `127.0.9.${n}`,
  port: 25,
  preference,
});
const state = (over: Partial<NexthopState>): NexthopState => ({ ...EMPTY_NEXTHOP_STATE, ...over });
const k = (e: Endpoint): string => endpointKey('smtp', e);
const hosts = (list: Endpoint[]): string[] => list.map((e) => e.host);

describe('orderCandidates', () => {
  const list = [ep(1, 10), ep(2, 20), ep(3, 30)];
  it('keeps the order without memory', () => {
    expect(hosts(orderCandidates('smtp', list, EMPTY_NEXTHOP_STATE).list)).toEqual(hosts(list));
  });
  it('skips a dead primary', () => {
    const o = orderCandidates('smtp', list, state({ dead: new Set([k(ep(1))]) }));
    expect(hosts(o.list)).toEqual(['mx2.example.test', 'mx3.example.test']);
    expect(hosts(o.skipped)).toEqual(['mx1.example.test']);
  });
  it('never skips all: every candidate dead leaves the list whole', () => {
    const o = orderCandidates('smtp', list, state({ dead: new Set(list.map(k)) }));
    expect(hosts(o.list)).toEqual(hosts(list));
    expect(o.skipped).toEqual([]);
  });
  it('puts the bound endpoint first, the rest in order', () => {
    const o = orderCandidates('smtp', list, state({ bound: k(ep(3)) }));
    expect(hosts(o.list)).toEqual(['mx3.example.test', 'mx1.example.test', 'mx2.example.test']);
    expect(o.boundFirst).toBe(true);
  });
  it('ignores a binding to a dead or absent endpoint', () => {
    expect(
      orderCandidates('smtp', list, state({ bound: k(ep(3)), dead: new Set([k(ep(3))]) })).boundFirst,
    ).toBe(false);
    expect(orderCandidates('smtp', list, state({ bound: k(ep(7)) })).list[0]?.host).toBe('mx1.example.test');
  });
  it('keys endpoints by service, address and port', () => {
    expect(endpointKey('smtp', ep(1))).not.toBe(endpointKey('lmtp', ep(1)));
    expect(endpointKey('smtp', ep(1))).not.toBe(endpointKey('smtp', { ...ep(1), port: 587 }));
    expect(bindingKey('smtp', '[a.test]:587')).not.toBe(bindingKey('smtp', 'a.test'));
  });
  it('builds one query with unique inet endpoint keys', () => {
    const unix: Endpoint = { kind: 'unix', host: 'h', address: '/s', port: 0, preference: 0 };
    const q = nexthopQuery('smtp', 'example.test', [ep(1), ep(1), unix], ['t', 't']);
    expect(q).toEqual({ binding: 'smtp:example.test', endpoints: [k(ep(1))], tickets: ['t'] });
  });
});

describe('markForFailure', () => {
  const f = (over: Partial<DeliveryFailure>): DeliveryFailure => ({
    handler: 'sess',
    status: '4.4.1',
    text: 'x',
    throttle: true,
    ...over,
  });
  it('marks a throttling connect or handshake failure dead', () => {
    expect(markForFailure(f({}), 'may')).toBe('dead');
    expect(markForFailure(f({ status: '4.7.5', tlsHandshakeFailed: true }), 'encrypt')).toBe('dead');
  });
  it('marks a TLS handshake failure at may as broken TLS, not dead', () => {
    expect(markForFailure(f({ throttle: false, status: '4.7.5', tlsHandshakeFailed: true }), 'may')).toBe(
      'broken-tls',
    );
    expect(markForFailure(f({ retryAsPlaintext: true }), 'may')).toBe('broken-tls');
  });
  it('marks nothing for loops or non-throttling failures', () => {
    expect(markForFailure(f({ status: '5.4.6' }), 'may')).toBeUndefined();
    expect(markForFailure(f({ throttle: false }), 'none')).toBeUndefined();
  });
});

describe('plaintextFromMemory', () => {
  const base = { marked: true, sasl: false, requireTlsNeedsTls: false };
  it('goes plaintext at level may only', () => {
    expect(plaintextFromMemory({ ...base, level: 'may' })).toBe(true);
    for (const level of ['encrypt', 'fingerprint', 'verify', 'secure'] as const) {
      expect(plaintextFromMemory({ ...base, level })).toBe(false);
    }
  });
  it('never with SASL credentials, REQUIRETLS needing TLS, or without a mark', () => {
    expect(plaintextFromMemory({ ...base, level: 'may', sasl: true })).toBe(false);
    expect(plaintextFromMemory({ ...base, level: 'may', requireTlsNeedsTls: true })).toBe(false);
    expect(plaintextFromMemory({ ...base, level: 'may', marked: false })).toBe(false);
  });
});

describe('ticketKey', () => {
  const e = ep(1);
  it('is undefined without TLS', () => {
    expect(ticketKey(e, { level: 'none' })).toBeUndefined();
  });
  it('differs by name, port and every policy field', () => {
    const base = ticketKey(e, { level: 'verify', matchNames: ['mx1.example.test'] });
    const others = [
      ticketKey({ ...e, host: 'mx2.example.test' }, { level: 'verify', matchNames: ['mx1.example.test'] }),
      ticketKey({ ...e, port: 587 }, { level: 'verify', matchNames: ['mx1.example.test'] }),
      ticketKey(e, { level: 'secure', matchNames: ['mx1.example.test'] }),
      ticketKey(e, { level: 'verify', matchNames: ['other.test'] }),
      ticketKey(e, { level: 'verify', matchNames: ['mx1.example.test'], ca: ['PEM'] }),
      ticketKey(e, { level: 'verify', matchNames: ['mx1.example.test'], servername: 'sni.test' }),
      ticketKey(e, { level: 'verify', matchNames: ['mx1.example.test'] }, { username: 'u', password: 'p' }),
    ];
    for (const o of others) expect(o).not.toBe(base);
    expect(new Set(others).size).toBe(others.length);
  });
  it('is the same for the same name and policy, whatever the order of lists or the password', () => {
    expect(ticketKey(e, { level: 'fingerprint', fingerprints: ['AB:CD', 'ef'] })).toBe(
      ticketKey(e, { level: 'fingerprint', fingerprints: ['ef', 'abcd'] }),
    );
    expect(ticketKey(e, { level: 'may' }, { username: 'u', password: 'a' })).toBe(
      ticketKey(e, { level: 'may' }, { username: 'u', password: 'b' }),
    );
  });
});

describe('shouldBind', () => {
  it('binds after a failure before, or when bound elsewhere; not when already bound here', () => {
    expect(shouldBind({ failedBefore: true, bound: undefined, endpoint: 'a' })).toBe(true);
    expect(shouldBind({ failedBefore: false, bound: undefined, endpoint: 'a' })).toBe(false);
    expect(shouldBind({ failedBefore: false, bound: 'b', endpoint: 'a' })).toBe(true);
    expect(shouldBind({ failedBefore: true, bound: 'a', endpoint: 'a' })).toBe(false);
  });
});

describe('contentDigest', () => {
  it('differs for different texts and is stable', () => {
    const a = contentDigest('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----');
    expect(contentDigest('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----')).toBe(a);
    expect(contentDigest('-----BEGIN CERTIFICATE-----\nAAAB\n-----END CERTIFICATE-----')).not.toBe(a);
    const seen = new Set(Array.from({ length: 2000 }, (_, i) => contentDigest(`pem ${i}`)));
    expect(seen.size).toBe(2000);
  });
});
