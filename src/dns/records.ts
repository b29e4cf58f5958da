/**
 * Turns raw node:dns answers into DnsAnswer values, the way Postfix's dns_get_answer() does.
 *
 * Decides: null MX / null SRV detection (target '' or '.'), dropping of malformed target names
 * (INVAL when none is left), the numeric-target warning, the 100-record list limit, NODATA for
 * an empty answer.
 * Never: queries anything.
 */
import { isIP } from 'node:net';
import type { DnsAnswer, DnsType, MxRecord, SrvRecord } from '../core/ports.ts';
import { isValidHostname, malformedReplyText, noDataAnswer, stripTrailingDot } from './names.ts';

/** Postfix var_dns_rr_list_limit. */
export const DNS_RR_LIST_LIMIT = 100;

function capList<T>(items: T[], qname: string, type: DnsType, warnings: string[]): T[] {
  if (items.length <= DNS_RR_LIST_LIMIT) return items;
  warnings.push(
    `DNS record count limit (${DNS_RR_LIST_LIMIT}) exceeded -- dropping excess record(s) after qname=${qname} qtype=${type}`,
  );
  return items.slice(0, DNS_RR_LIST_LIMIT);
}

function isNullTarget(target: string): boolean {
  return target === '' || target === '.';
}

/** Postfix valid_rr_name(): numeric names pass with a warning, malformed names are dropped. */
function checkTarget(target: string, qname: string, type: DnsType, warnings: string[]): boolean {
  if (isIP(target) !== 0) {
    warnings.push(`numeric domain name in resource data of ${type} record for ${qname}: ${target}`);
    return true;
  }
  if (!isValidHostname(target)) {
    warnings.push(`malformed domain name in resource data of ${type} record for ${qname}: ${target}`);
    return false;
  }
  return true;
}

function withExtras<T extends DnsAnswer>(answer: T, qname: string, warnings: string[]): T {
  return warnings.length > 0 ? { ...answer, qname, warnings } : { ...answer, qname };
}

export function mxAnswer(raw: Array<{ priority: number; exchange: string }>, qname: string): DnsAnswer {
  if (raw.length === 0) return noDataAnswer(qname, 'MX');
  if (raw.some((r) => isNullTarget(r.exchange))) {
    return { class: 'NULLMX', type: 'MX', text: `Domain ${qname} does not accept mail (nullMX)` };
  }
  const warnings: string[] = [];
  const records: MxRecord[] = [];
  for (const r of capList(raw, qname, 'MX', warnings)) {
    const exchange = stripTrailingDot(r.exchange);
    if (checkTarget(exchange, qname, 'MX', warnings)) records.push({ preference: r.priority, exchange });
  }
  if (records.length === 0) {
    return { class: 'INVAL', type: 'MX', text: malformedReplyText(qname, 'MX'), qname, warnings };
  }
  return withExtras({ class: 'OK', type: 'MX', records }, qname, warnings);
}

export function srvAnswer(
  raw: Array<{ priority: number; weight: number; port: number; name: string }>,
  qname: string,
): DnsAnswer {
  if (raw.length === 0) return noDataAnswer(qname, 'SRV');
  if (raw.some((r) => isNullTarget(r.name))) {
    return { class: 'NULLSRV', type: 'SRV', text: `Domain ${qname} does not support SRV requests` };
  }
  const warnings: string[] = [];
  const records: SrvRecord[] = [];
  for (const r of capList(raw, qname, 'SRV', warnings)) {
    const target = stripTrailingDot(r.name);
    if (checkTarget(target, qname, 'SRV', warnings)) {
      records.push({ priority: r.priority, weight: r.weight, port: r.port, target });
    }
  }
  if (records.length === 0) {
    return { class: 'INVAL', type: 'SRV', text: malformedReplyText(qname, 'SRV'), qname, warnings };
  }
  return withExtras({ class: 'OK', type: 'SRV', records }, qname, warnings);
}

export function addressAnswer(raw: string[], qname: string, type: 'A' | 'AAAA'): DnsAnswer {
  if (raw.length === 0) return noDataAnswer(qname, type);
  const warnings: string[] = [];
  const addresses = capList(raw, qname, type, warnings);
  return withExtras({ class: 'OK', type, addresses }, qname, warnings);
}

export function txtAnswer(raw: string[][], qname: string): DnsAnswer {
  if (raw.length === 0) return noDataAnswer(qname, 'TXT');
  const warnings: string[] = [];
  const records = capList(
    raw.map((chunks) => chunks.join('')),
    qname,
    'TXT',
    warnings,
  );
  return withExtras({ class: 'OK', type: 'TXT', records }, qname, warnings);
}
