/**
 * EHLO/LHLO reply → server name and capability map (Postfix smtp_helo feature parsing).
 *
 * Decides: keyword names (upper-case), parameters, `AUTH=` as AUTH, the SIZE value rules
 * (missing, zero or non-numeric = unknown), discarded keywords, SMTPUTF8 implying 8BITMIME.
 * Never: decides what to do with a capability (handshake.ts and transaction.ts do).
 */
import type { SmtpReply } from '../core/types.ts';

export interface Capabilities {
  serverName: string;
  /** Upper-case keyword → parameter string ('' if none). */
  map: Record<string, string>;
  /** SIZE limit, 0 when unknown. */
  sizeLimit: number;
  warnings: string[];
}

/** Parse the lines of a 2xx EHLO reply. `discard` holds keywords to ignore (any case). */
export function parseEhloReply(reply: SmtpReply, discard: readonly string[] = []): Capabilities {
  const drop = new Set(discard.map((k) => k.toUpperCase()));
  const map: Record<string, string> = {};
  const warnings: string[] = [];
  let serverName = '';
  reply.lines.forEach((line, i) => {
    const body = line.slice(4).trim();
    if (i === 0) {
      serverName = body.split(/\s+/)[0] ?? '';
      return;
    }
    if (body === '') return;
    const sp = body.search(/[\s=]/);
    let key = (sp === -1 ? body : body.slice(0, sp)).toUpperCase();
    const param = sp === -1 ? '' : body.slice(sp + 1).trim();
    if (!/^[A-Z0-9][A-Z0-9-]*$/.test(key)) return;
    if (key === 'AUTH' && body.charAt(sp) === '=') key = 'AUTH';
    if (drop.has(key)) return;
    if (key === 'AUTH' && map.AUTH !== undefined) {
      // Merge "AUTH x" and "AUTH=y" lines.
      const merged = new Set(`${map.AUTH} ${param}`.trim().toUpperCase().split(/\s+/));
      map.AUTH = [...merged].join(' ');
      return;
    }
    map[key] = key === 'AUTH' ? param.toUpperCase() : param;
  });
  if (map.SMTPUTF8 !== undefined && map['8BITMIME'] === undefined && !drop.has('8BITMIME'))
    map['8BITMIME'] = '';
  let sizeLimit = 0;
  if (map.SIZE !== undefined && map.SIZE !== '') {
    if (/^\d+$/.test(map.SIZE)) sizeLimit = Number(map.SIZE);
    else warnings.push(`unparseable SIZE limit "${map.SIZE}" in EHLO reply`);
  }
  return { serverName, map, sizeLimit, warnings };
}

/** AUTH mechanisms the server offers, upper-case. */
export function authMechanisms(map: Record<string, string>): string[] {
  const v = map.AUTH;
  return v === undefined ? [] : v.split(/\s+/).filter((m) => m !== '');
}
