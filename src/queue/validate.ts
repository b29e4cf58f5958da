/**
 * Validation of everything send() is given, before anything is written to Redis.
 *
 * Decides: which SendInput is acceptable (address syntax and lengths, CR/LF/NUL anywhere, size
 * after CRLF normalization, NUL bytes in the body, next-hop syntax, DSN parameters) and the
 * normalized form that the enqueue step writes (deduplicated recipients, body bytes, flags).
 * Never: touches Redis; rewrites addresses beyond dropping duplicates.
 * Errors: MailQueueInputError naming the field ("from", "to[2]", "message", "nexthop", "dsn.envid").
 */

import { escapeControls } from '../core/escape.ts';
import { normalizedSize } from '../core/message-size.ts';
import { parseNexthop, splitNexthopList } from '../core/nexthop.ts';
import type { ResolvedOptions } from '../core/options.ts';
import type { DsnNotify, Protocol, Recipient } from '../core/types.ts';
import { checkMailbox, mailboxKey } from './address.ts';
import type { DsnEnvelope } from './job-schema.ts';

export interface SendInput {
  /** Envelope sender; '' is the null sender. */
  from: string;
  to: string[];
  message: Buffer | string;
  /** Postfix next-hop (list allowed), e.g. "[127.0.0.1]:2525"; default: the worker routes (transport map, relayhost, MX). */
  nexthop?: string;
  transport?: Protocol;
  dsn?: { ret?: 'FULL' | 'HDRS'; envid?: string; notify?: DsnNotify[]; orcpt?: string };
  requireTls?: boolean;
  smtputf8?: boolean;
  /** Marks an RFC 3464 report (workers set it; bounces expire after bounceQueueLifetime). */
  isBounce?: boolean;
}

/** Thrown by send() for bad input. Nothing has been written when it is thrown. */
export class MailQueueInputError extends Error {
  readonly field: string;
  /** Enhanced status that best describes the problem (e.g. 5.1.3 bad address syntax). */
  readonly status: string;
  constructor(field: string, message: string, status = '5.5.4') {
    super(`${field}: ${message}`);
    this.name = 'MailQueueInputError';
    this.field = field;
    this.status = status;
  }
}

export interface ValidatedSend {
  sender: string;
  recipients: Recipient[];
  body: Buffer;
  /** Size after CRLF normalization. */
  size: number;
  eightBit: boolean;
  smtputf8: boolean;
  requireTls: boolean;
  transport: Protocol;
  nexthop?: string;
  dsn?: DsnEnvelope;
  isBounce: boolean;
}

const CTL = /[\r\n\0]/;

/** An input value for an error message: control characters (C0, DEL, C1) escaped, long values cut. */
export function showValue(s: string): string {
  return escapeControls(s, 80);
}

/** The fields SendInput knows; any other key is refused (a `cc` would otherwise vanish). */
const SEND_INPUT_KEYS: ReadonlySet<string> = new Set([
  'from',
  'to',
  'message',
  'nexthop',
  'transport',
  'dsn',
  'requireTls',
  'smtputf8',
  'isBounce',
]);
const DSN_KEYS: ReadonlySet<string> = new Set(['ret', 'envid', 'notify', 'orcpt']);

function refuseUnknownKeys(o: object, known: ReadonlySet<string>, where: string): void {
  const unknown = Object.keys(o).filter((k) => !known.has(k));
  if (unknown.length === 0) return;
  const field = where === '' ? (unknown[0] ?? '') : `${where}.${unknown[0] ?? ''}`;
  throw new MailQueueInputError(
    field,
    `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${showValue(k)}"`).join(', ')} ` +
      `(known: ${[...known].join(', ')})`,
  );
}

/** U+FFFD in an address: the bytes were not valid UTF-8 (a decoder replaced them). */
function checkNoReplacementChar(addr: string, field: string, status: string): void {
  if (addr.includes('\uFFFD')) {
    throw new MailQueueInputError(
      field,
      `bad address <${showValue(addr)}>: invalid UTF-8 (U+FFFD replacement character)`,
      status,
    );
  }
}
const NOTIFY_WORDS: ReadonlySet<string> = new Set(['SUCCESS', 'FAILURE', 'DELAY']);
const ENVID_MAX = 100;

function checkSender(from: unknown, smtputf8: boolean): string {
  if (typeof from !== 'string') throw new MailQueueInputError('from', 'must be a string', '5.1.7');
  if (from === '') return from;
  checkNoReplacementChar(from, 'from', '5.1.7');
  const r = checkMailbox(from, smtputf8);
  if (!r.ok)
    throw new MailQueueInputError('from', `bad sender address <${showValue(from)}>: ${r.error}`, '5.1.7');
  return from;
}

function checkRecipients(to: unknown, smtputf8: boolean): string[] {
  if (!Array.isArray(to)) throw new MailQueueInputError('to', 'must be a list of addresses', '5.1.3');
  if (to.length === 0) throw new MailQueueInputError('to', 'at least one recipient is required', '5.5.1');
  const seen = new Set<string>();
  const out: string[] = [];
  to.forEach((addr: unknown, i) => {
    const field = `to[${i}]`;
    if (typeof addr !== 'string') throw new MailQueueInputError(field, 'must be a string', '5.1.3');
    checkNoReplacementChar(addr, field, '5.1.3');
    const r = checkMailbox(addr, smtputf8);
    if (!r.ok)
      throw new MailQueueInputError(field, `bad recipient address <${showValue(addr)}>: ${r.error}`, '5.1.3');
    const key = mailboxKey(r.local, r.domain);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(addr);
    }
  });
  return out;
}

function checkMessage(message: unknown, limit: number): { body: Buffer; size: number; eightBit: boolean } {
  if (typeof message !== 'string' && !Buffer.isBuffer(message)) {
    throw new MailQueueInputError('message', 'must be a Buffer or a string');
  }
  const body = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  if (body.length === 0) throw new MailQueueInputError('message', 'is empty', '5.6.0');
  if (body.includes(0)) throw new MailQueueInputError('message', 'contains a NUL byte', '5.6.0');
  const size = normalizedSize(body);
  if (limit > 0 && size > limit) {
    throw new MailQueueInputError('message', `size ${size} exceeds messageSizeLimit ${limit}`, '5.3.4');
  }
  return { body, size, eightBit: body.some((b) => b > 0x7f) };
}

function checkNexthop(nexthop: unknown, protocol: Protocol, opts: ResolvedOptions, field: string): string {
  if (typeof nexthop !== 'string') throw new MailQueueInputError(field, 'must be a string', '5.3.5');
  if (CTL.test(nexthop)) throw new MailQueueInputError(field, 'contains CR, LF or NUL', '5.3.5');
  const elements = splitNexthopList(nexthop);
  if (elements.length === 0) throw new MailQueueInputError(field, 'is empty', '5.3.5');
  for (const element of elements) {
    const r = parseNexthop(element, protocol, opts);
    if (!r.ok)
      throw new MailQueueInputError(field, `bad next-hop "${showValue(element)}": ${r.error}`, '5.3.5');
  }
  return nexthop;
}

function checkNotify(notify: unknown): DsnNotify[] {
  const bad = (why: string) => new MailQueueInputError('dsn.notify', why, '5.5.4');
  if (!Array.isArray(notify) || notify.length === 0) throw bad('must be a non-empty list');
  const words = new Set<string>();
  for (const n of notify) {
    if (typeof n !== 'string') throw bad('must be a list of strings');
    const w = n.toUpperCase();
    if (w !== 'NEVER' && !NOTIFY_WORDS.has(w)) throw bad(`unknown NOTIFY keyword "${showValue(n)}"`);
    if (words.has(w)) throw bad(`duplicate NOTIFY keyword "${n}"`);
    words.add(w);
  }
  if (words.has('NEVER') && words.size > 1) throw bad('NEVER must appear alone');
  return [...words] as DsnNotify[];
}

function checkEnvid(envid: unknown): string {
  const bad = (why: string) => new MailQueueInputError('dsn.envid', why, '5.5.4');
  if (typeof envid !== 'string') throw bad('must be a string');
  if (CTL.test(envid)) throw bad('contains CR, LF or NUL');
  if (envid === '' || envid.length > ENVID_MAX) throw bad(`must be 1 to ${ENVID_MAX} characters`);
  if (!/^[\x20-\x7e]+$/.test(envid)) throw bad('must be printable US-ASCII (xtext)');
  return envid;
}

function checkOrcpt(orcpt: unknown, recipients: string[]): string {
  if (typeof orcpt !== 'string') throw new MailQueueInputError('dsn.orcpt', 'must be a string', '5.5.4');
  const r = checkMailbox(orcpt, true);
  if (!r.ok) throw new MailQueueInputError('dsn.orcpt', `bad original recipient: ${r.error}`, '5.5.4');
  if (recipients.length !== 1) {
    throw new MailQueueInputError('dsn.orcpt', 'applies to exactly one recipient', '5.5.4');
  }
  return orcpt;
}

function checkDsn(dsn: unknown, recipients: string[]): { envelope?: DsnEnvelope; rcpt: Partial<Recipient> } {
  if (dsn === undefined) return { rcpt: {} };
  if (typeof dsn !== 'object' || dsn === null) throw new MailQueueInputError('dsn', 'must be an object');
  const d = dsn as Record<string, unknown>;
  refuseUnknownKeys(d, DSN_KEYS, 'dsn');
  const envelope: DsnEnvelope = {};
  const rcpt: Partial<Recipient> = {};
  if (d.ret !== undefined) {
    if (d.ret !== 'FULL' && d.ret !== 'HDRS')
      throw new MailQueueInputError('dsn.ret', 'must be FULL or HDRS');
    envelope.ret = d.ret;
  }
  if (d.envid !== undefined) envelope.envid = checkEnvid(d.envid);
  if (d.notify !== undefined) rcpt.notify = checkNotify(d.notify);
  if (d.orcpt !== undefined) rcpt.orcpt = checkOrcpt(d.orcpt, recipients);
  return Object.keys(envelope).length > 0 ? { envelope, rcpt } : { rcpt };
}

function checkFlag(value: unknown, field: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new MailQueueInputError(field, 'must be a boolean');
  return value;
}

/** Validates and normalizes a SendInput. Throws MailQueueInputError on the first problem found. */
export function validateSendInput(input: SendInput, opts: ResolvedOptions): ValidatedSend {
  if (typeof input !== 'object' || input === null)
    throw new MailQueueInputError('input', 'must be an object');
  refuseUnknownKeys(input, SEND_INPUT_KEYS, '');
  const smtputf8 = checkFlag(input.smtputf8, 'smtputf8');
  const requireTls = checkFlag(input.requireTls, 'requireTls');
  const isBounce = checkFlag(input.isBounce, 'isBounce');
  const transport = input.transport ?? 'smtp';
  if (transport !== 'smtp' && transport !== 'lmtp') {
    throw new MailQueueInputError('transport', 'must be "smtp" or "lmtp"');
  }
  const sender = checkSender(input.from, smtputf8);
  const to = checkRecipients(input.to, smtputf8);
  const { body, size, eightBit } = checkMessage(input.message, opts.messageSizeLimit);
  const dsn = checkDsn(input.dsn, to);
  const out: ValidatedSend = {
    sender,
    recipients: to.map((address) => ({ address, ...dsn.rcpt })),
    body,
    size,
    eightBit,
    smtputf8,
    requireTls,
    transport,
    isBounce,
  };
  if (input.nexthop !== undefined) out.nexthop = checkNexthop(input.nexthop, transport, opts, 'nexthop');
  else if (transport === 'lmtp') throw new MailQueueInputError('nexthop', 'LMTP needs an explicit next-hop');
  if (dsn.envelope !== undefined) out.dsn = dsn.envelope;
  return out;
}
