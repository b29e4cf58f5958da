/**
 * The DanePort adapter: DNSSEC-aware MX and TLSA lookups through the raw DNS client to the
 * configured validating resolver (dnsServers, or the system's when empty).
 *
 * Decides: TLSA name `_<port>._tcp.<host>`; NXDOMAIN or an empty NOERROR answer = no records
 * (secure when AD is set: an authenticated denial); any other failure = a lookup error. The AD bit
 * is the only DNSSEC evidence used.
 * Never: decides what the records mean (core/dane.ts), matches certificates (smtp/dane-verify.ts).
 */
import { getServers } from 'node:dns';
import type { DanePort, TlsaLookup } from '../core/dane.ts';
import type { TlsaRecord } from '../core/ports.ts';
import { type RawDnsOptions, rawLookup } from './dns-client.ts';

function toRecord(data: unknown): TlsaRecord | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const d = data as { usage?: unknown; selector?: unknown; matchingType?: unknown; certificate?: unknown };
  if (typeof d.usage !== 'number' || typeof d.selector !== 'number' || typeof d.matchingType !== 'number')
    return undefined;
  if (!Buffer.isBuffer(d.certificate)) return undefined;
  return {
    usage: d.usage,
    selector: d.selector,
    matchingType: d.matchingType,
    data: d.certificate.toString('hex'),
  };
}

export function createDanePort(opts: RawDnsOptions): DanePort {
  const servers =
    opts.servers.length > 0
      ? opts.servers
      : getServers().map((s) => (s.includes(':') && !s.startsWith('[') ? `[${s}]` : s));
  const o = { ...opts, servers };
  return {
    async mxSecure(domain) {
      const r = await rawLookup(o, domain, 'MX');
      return r.ok ? r.ad : 'error';
    },
    async tlsa(host, port): Promise<TlsaLookup> {
      const r = await rawLookup(o, `_${port}._tcp.${host}`, 'TLSA');
      if (!r.ok) return { kind: 'error', reason: r.reason };
      if (r.rcode === 'NXDOMAIN' || (r.rcode === 'NOERROR' && r.answers.length === 0))
        return { kind: 'none', secure: r.ad };
      if (r.rcode !== 'NOERROR') return { kind: 'error', reason: r.rcode };
      const records = r.answers
        .map((a) => toRecord((a as { data?: unknown }).data))
        .filter((x): x is TlsaRecord => x !== undefined);
      return { kind: 'records', secure: r.ad, records };
    },
  };
}
