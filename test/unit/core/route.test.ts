import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../../src/core/options.ts';
import {
  checkRoutingOptions,
  decideRoute,
  deferEveryRecipient,
  legacyRouteInput,
  parseTransportValue,
  transportMapLookup,
} from '../../../src/core/route.ts';

describe('decideRoute', () => {
  it('routes by MX of the recipient domain without configuration', () => {
    expect(decideRoute({ domain: 'example.test', transport: 'smtp' }, resolveOptions({}))).toEqual({
      ok: true,
      route: { transport: 'smtp', nexthop: 'example.test', source: 'mx' },
    });
  });
  it('uses relayhost when no transport-map entry matches', () => {
    const o = resolveOptions({ relayhost: '[relay.test]:587' });
    expect(decideRoute({ domain: 'a.test', transport: 'smtp' }, o)).toMatchObject({
      ok: true,
      route: { nexthop: '[relay.test]:587', source: 'relayhost' },
    });
  });
  it('prefers an explicit next-hop over the transport map and relayhost', () => {
    const o = resolveOptions({ relayhost: '[relay.test]', transportMaps: { '*': 'smtp:[other.test]' } });
    expect(
      decideRoute({ domain: 'a.test', nexthop: '[127.0.0.1]:2525', transport: 'smtp' }, o),
    ).toMatchObject({
      ok: true,
      route: { nexthop: '[127.0.0.1]:2525', source: 'explicit' },
    });
  });
  it('applies transport maps: exact, .parent (closest first), *; empty next-hop = the domain', () => {
    const o = resolveOptions({
      relayhost: '[relay.test]',
      transportMaps: {
        'a.test': 'smtp:[one.test]:2525',
        '.b.test': 'lmtp:unix:/run/lmtp',
        '.c.b.test': ':[two.test]',
        'mx.test': 'smtp:',
        '*': 'smtp:[star.test]',
      },
    });
    const hop = (domain: string) => {
      const d = decideRoute({ domain, transport: 'smtp' }, o);
      return d.ok ? `${d.route.transport}:${d.route.nexthop}` : d.error;
    };
    expect(hop('a.test')).toBe('smtp:[one.test]:2525');
    expect(hop('x.b.test')).toBe('lmtp:unix:/run/lmtp');
    expect(hop('y.c.b.test')).toBe('smtp:[two.test]');
    expect(hop('b.test')).toBe('smtp:[star.test]');
    expect(hop('MX.test')).toBe('smtp:mx.test');
    expect(hop('other.test')).toBe('smtp:[star.test]');
  });
  it('a route it cannot use is an error naming the key and value (the worker defers 4.3.5)', () => {
    const o = resolveOptions({ transportMaps: { 'a.test': 'smtp:[bad' }, relayhost: '[127.0.5.1' });
    const a = decideRoute({ domain: 'a.test', transport: 'smtp' }, o);
    expect(a).toEqual({ ok: false, error: expect.stringContaining('transportMaps["a.test"] = "smtp:[bad"') });
    const b = decideRoute({ domain: 'b.test', transport: 'smtp' }, o);
    expect(b.ok ? '' : b.error).toBe(
      'relayhost = "[127.0.5.1": missing "]" in server description: [127.0.5.1',
    );
  });
});

describe('checkRoutingOptions', () => {
  it('accepts good entries and names each bad key and value', () => {
    expect(
      checkRoutingOptions(
        resolveOptions({ relayhost: '[r.test]:587', transportMaps: { '.x.test': 'lmtp:inet:h:24' } }),
      ),
    ).toEqual([]);
    const problems = checkRoutingOptions(
      resolveOptions({
        relayhost: '[127.0.5.1',
        transportMaps: {
          'a.test': 'uucp:x',
          'b@c.test': 'smtp:',
          'd.test': 'lmtp:',
          'e.test': 'smtp:[h]:99999',
        },
      }),
    );
    expect(problems).toEqual([
      'transportMaps["a.test"] = "uucp:x": unknown transport "uucp" (smtp or lmtp)',
      'transportMaps["b@c.test"] = "smtp:": the key must be a domain, ".domain" or "*"',
      'transportMaps["d.test"] = "lmtp:": lmtp needs a next-hop',
      expect.stringContaining('transportMaps["e.test"] = "smtp:[h]:99999": bad network port'),
      'relayhost = "[127.0.5.1": missing "]" in server description: [127.0.5.1',
    ]);
  });
});

describe('transport map pieces', () => {
  it('parses transport:nexthop', () => {
    expect(parseTransportValue('smtp:[r]:587')).toEqual({ ok: true, transport: 'smtp', nexthop: '[r]:587' });
    expect(parseTransportValue(':[r]')).toEqual({ ok: true, transport: 'smtp', nexthop: '[r]' });
    expect(parseTransportValue('lmtp')).toEqual({ ok: true, transport: 'lmtp', nexthop: '' });
  });
  it('looks up case-insensitively', () => {
    expect(transportMapLookup({ 'a.test': 'smtp:' }, 'A.Test')).toEqual({ key: 'a.test', value: 'smtp:' });
    expect(transportMapLookup({ '.a.test': 'smtp:' }, 'a.test')).toBeUndefined();
  });
});

describe('legacyRouteInput (jobs queued before routing moved to the worker)', () => {
  it('a stored next-hop equal to the recipient domain is no explicit next-hop', () => {
    expect(legacyRouteInput({ nexthop: 'x.test', transport: 'smtp' }, 'X.test')).toEqual({
      domain: 'x.test',
      transport: 'smtp',
    });
    expect(legacyRouteInput({ nexthop: '[::1]', transport: 'smtp' }, '[IPv6:::1]')).toEqual({
      domain: '[ipv6:::1]',
      transport: 'smtp',
    });
  });
  it('any other stored next-hop stays explicit', () => {
    expect(legacyRouteInput({ nexthop: '[relay.test]', transport: 'smtp' }, 'x.test')).toEqual({
      domain: 'x.test',
      nexthop: '[relay.test]',
      transport: 'smtp',
    });
    expect(legacyRouteInput({ nexthop: 'x.test', transport: 'lmtp' }, 'x.test').nexthop).toBe('x.test');
  });
});

describe('deferEveryRecipient', () => {
  it('defers each recipient once, relay=none, and reports each', () => {
    const seen: string[] = [];
    const r = deferEveryRecipient(
      {
        recipients: [{ address: 'a@x' }, { address: 'b@x' }],
        onRecipientFinal: (x) => seen.push(x.recipient.address),
      },
      '4.3.5',
      'why',
    );
    expect(r.recipients.map((x) => [x.status, x.dsn, x.relay, x.diagnostic])).toEqual([
      ['deferred', '4.3.5', 'none', 'why'],
      ['deferred', '4.3.5', 'none', 'why'],
    ]);
    expect(seen).toEqual(['a@x', 'b@x']);
  });
});
