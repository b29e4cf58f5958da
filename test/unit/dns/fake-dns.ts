/**
 * A scripted DnsPort for unit tests of src/core/resolve.ts, with Postfix-worded failure texts
 * written out independently of src/dns.
 *
 * Decides: answers from a small zone (absent name → NXDOMAIN, absent type → NODATA, `fail` forces
 * a class per type). Never: touches the network.
 */
import type { DnsAnswer, DnsClass, DnsPort, DnsType } from '../../../src/core/ports.ts';

export interface FakeRecordSet {
  MX?: Array<[number, string]>;
  A?: string[];
  AAAA?: string[];
  SRV?: Array<[number, number, number, string]>;
  fail?: Partial<Record<DnsType, Exclude<DnsClass, 'OK'>>>;
}
export type FakeZone = Record<string, FakeRecordSet>;

export function nameServiceText(name: string, type: DnsType, what: string): string {
  return `Host or domain name not found. Name service error for name=${name} type=${type}: ${what}`;
}

function failText(cls: Exclude<DnsClass, 'OK'>, name: string, type: DnsType): string {
  switch (cls) {
    case 'NOTFOUND':
      return nameServiceText(name, type, 'Host not found');
    case 'RETRY':
      return nameServiceText(name, type, 'Host not found, try again');
    case 'FAIL':
      return nameServiceText(name, type, 'Non-recoverable error');
    case 'INVAL':
      return `Name service error for name=${name} type=${type}: Malformed or unexpected name server reply`;
    case 'NULLMX':
      return `Domain ${name} does not accept mail (nullMX)`;
    case 'NULLSRV':
      return `Domain ${name} does not support SRV requests`;
    case 'POLICY':
      return `Error looking up name=${name} type=${type}: DNS reply filter drops all results`;
  }
}

function answerFor(zone: FakeZone, name: string, type: DnsType): DnsAnswer {
  const set = zone[name];
  if (!set) return { class: 'NOTFOUND', type, text: failText('NOTFOUND', name, type) };
  const forced = set.fail?.[type];
  if (forced) return { class: forced, type, text: failText(forced, name, type) };
  const nodata: DnsAnswer = {
    class: 'NOTFOUND',
    type,
    text: nameServiceText(name, type, 'Host found but no data record of requested type'),
  };
  if (type === 'MX') {
    if (!set.MX?.length) return nodata;
    return { class: 'OK', type, records: set.MX.map(([preference, exchange]) => ({ preference, exchange })) };
  }
  if (type === 'SRV') {
    if (!set.SRV?.length) return nodata;
    const records = set.SRV.map(([priority, weight, port, target]) => ({ priority, weight, port, target }));
    return { class: 'OK', type, records };
  }
  if (type === 'A' || type === 'AAAA') {
    const addresses = set[type] ?? [];
    return addresses.length ? { class: 'OK', type, addresses, qname: name } : nodata;
  }
  return nodata;
}

export function fakeDns(zone: FakeZone): DnsPort & { queries: Array<{ name: string; type: DnsType }> } {
  const queries: Array<{ name: string; type: DnsType }> = [];
  return {
    queries,
    lookup(name: string, type: DnsType): Promise<DnsAnswer> {
      queries.push({ name, type });
      return Promise.resolve(answerFor(zone, name, type));
    },
  };
}
