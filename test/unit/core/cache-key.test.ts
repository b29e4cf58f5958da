import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  base64Utf8,
  destLabel,
  endpointLabel,
  endpointNeedsNexthop,
  saslIdentityFor,
  sha256Hex,
} from '../../../src/core/cache-key.ts';
import type { Endpoint } from '../../../src/core/types.ts';

const ep: Endpoint = {
  kind: 'inet',
  host: 'mx1.example.test',
  address: '127.0.2.1',
  port: 25,
  preference: 10,
};

describe('destLabel', () => {
  it('writes the fields in order, each followed by a newline', () => {
    expect(
      destLabel({
        service: 'smtp',
        requestNexthop: 'example.test',
        tlsLevel: 'may',
        requireTls: 'disable',
        smtputf8Required: false,
      }),
    ).toBe('smtp\n*\nexample.test\n1\n0\n0\n');
    expect(
      destLabel({
        service: 'smtp',
        sender: 'a@b.test',
        requestNexthop: '[relay.test]:587',
        tlsLevel: 'secure',
        requireTls: 'enforce',
        smtputf8Required: true,
      }),
    ).toBe('smtp\na@b.test\n[relay.test]:587\n8\n3\n1\n');
  });
  it('REQUIRETLS levels are numbered', () => {
    const levels = (['disable', 'opportunistic', 'opportunistic+starttls', 'enforce'] as const).map(
      (r) =>
        destLabel({
          service: 's',
          requestNexthop: 'n',
          tlsLevel: 'none',
          requireTls: r,
          smtputf8Required: false,
        }).split('\n')[4],
    );
    expect(levels).toEqual(['0', '1', '2', '3']);
  });
  it('base64-encodes fields with "*" or newline', () => {
    const l = destLabel({
      service: 'smtp',
      sender: 'a*b',
      requestNexthop: 'x\ny',
      tlsLevel: 'none',
      requireTls: 'disable',
      smtputf8Required: false,
    });
    expect(l).toBe(`smtp\n${base64Utf8('a*b')}\n${base64Utf8('x\ny')}\n0\n0\n0\n`);
    expect(l.split('\n')).toHaveLength(7);
  });
});

describe('endpointLabel', () => {
  const base = {
    service: 'smtp',
    endpoint: ep,
    tlsLevel: 'may' as const,
    requireTls: 'disable' as const,
    smtputf8Required: false,
  };
  it('physical fields', () => {
    expect(endpointLabel(base)).toBe('smtp\n*\n*\n*\n127.0.2.1\n25\n1\n0\n0\n');
    expect(endpointLabel({ ...base, nexthop: 'example.test', host: 'mx1.example.test' })).toBe(
      'smtp\n*\nexample.test\nmx1.example.test\n127.0.2.1\n25\n1\n0\n0\n',
    );
  });
  it('SASL identities and TLS levels keep sessions apart', () => {
    const a = endpointLabel({ ...base, saslIdentity: saslIdentityFor('alice') });
    const b = endpointLabel({ ...base, saslIdentity: saslIdentityFor('bob') });
    expect(a).not.toBe(b);
    expect(a).not.toBe(endpointLabel(base));
    expect(a).not.toContain('alice');
    expect(endpointLabel({ ...base, tlsLevel: 'none' })).not.toBe(endpointLabel(base));
  });
  it('distinct inputs give distinct labels', () => {
    const arb = fc.record({
      service: fc.string(),
      sender: fc.option(fc.string(), { nil: undefined }),
      nexthop: fc.option(fc.string(), { nil: undefined }),
      host: fc.option(fc.string(), { nil: undefined }),
      address: fc.string(),
    });
    fc.assert(
      fc.property(arb, arb, (x, y) => {
        const mk = (v: typeof x) => {
          const p: Parameters<typeof endpointLabel>[0] = {
            ...base,
            service: v.service,
            endpoint: { ...ep, address: v.address },
          };
          if (v.sender !== undefined) p.sender = v.sender;
          if (v.nexthop !== undefined) p.nexthop = v.nexthop;
          if (v.host !== undefined) p.host = v.host;
          return endpointLabel(p);
        };
        const same = JSON.stringify(x) === JSON.stringify(y);
        expect(mk(x) === mk(y)).toBe(same);
      }),
    );
  });
  it('endpointNeedsNexthop follows Postfix', () => {
    expect(endpointNeedsNexthop('encrypt', false)).toBe(false);
    expect(endpointNeedsNexthop('fingerprint', false)).toBe(true);
    expect(endpointNeedsNexthop('may', true)).toBe(true);
  });
});

describe('hash and base64 helpers', () => {
  it('sha256Hex matches node:crypto', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        expect(sha256Hex(s)).toBe(createHash('sha256').update(s, 'utf8').digest('hex'));
      }),
    );
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
  it('base64Utf8 matches Buffer', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(base64Utf8(s)).toBe(Buffer.from(s, 'utf8').toString('base64'));
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(base64Utf8(s)).toBe(Buffer.from(s, 'utf8').toString('base64'));
        expect(sha256Hex(s)).toBe(createHash('sha256').update(s, 'utf8').digest('hex'));
      }),
      { numRuns: 200 },
    );
  });
});
