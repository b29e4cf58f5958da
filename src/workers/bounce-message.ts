/**
 * RFC 3464 delivery status notifications (Postfix bounce(8) wording, spec §10.1): a complete
 * `multipart/report; report-type=delivery-status` message for failures, delay warnings and
 * success notices, and the DSN NOTIFY decision.
 *
 * Decides: the three parts (Postfix-like human-readable text; `message/delivery-status` with the
 * per-message and per-recipient fields; the original as `message/rfc822` for RET=FULL or its
 * header block as `text/rfc822-headers` for RET=HDRS, for delay warnings, and when the original
 * is larger than `bounceSizeLimit`), and the top-level header fields.
 * Never: decides who is told (bounce-plan.ts) or sends anything.
 *
 * MIME is built with nodemailer's MimeNode (`nodemailer/lib/mime-node`, the builder inside
 * MailComposer). MailComposer itself cannot produce this shape: it always roots a message with
 * text plus attachments at `multipart/mixed` and offers no way to set the root type or its
 * `report-type` parameter. MimeNode takes any root type and does the header encoding, folding,
 * boundaries and CRLF line ends. The text part and the original-message part are set raw (own
 * part headers): MimeNode would quoted-printable-encode any text line over 76 characters, and the
 * original must be embedded byte for byte (8bit) instead of being re-encoded.
 */
import { randomUUID } from 'node:crypto';
import MimeNode from 'nodemailer/lib/mime-node/index.js';
import { sanitizeText } from '../core/dsn.ts';
import type { DsnNotify } from '../core/types.ts';

export interface DsnRecipientReport {
  finalRecipient: string;
  /** ORCPT address (written as "rfc822; addr" unless it already carries an address type). */
  originalRecipient?: string;
  action: 'failed' | 'delayed' | 'delivered' | 'relayed';
  status: string;
  remoteMta?: string;
  /** "smtp; 550 5.1.1 ..." or "X-Postfix; ..." */
  diagnosticCode?: string;
  lastAttemptDate?: number;
  willRetryUntil?: number;
  /** Human-readable reason for the text part; default: the diagnostic without its type. */
  text?: string;
}

export interface DeliveryReportParams {
  kind: 'failure' | 'delay' | 'success';
  /** $myhostname: Reporting-MTA and the MAILER-DAEMON address. */
  reportingMta: string;
  queueId: string;
  /** The original envelope sender (the report goes to it); '' only for postmaster notices. */
  sender: string;
  arrivalTime: number;
  envid?: string;
  ret: 'FULL' | 'HDRS';
  recipients: DsnRecipientReport[];
  original: Buffer;
  /** Where people are told to write, and To: when `sender` is ''. Default "postmaster". */
  postmaster?: string;
  /** Date of the report (ms); default now. */
  now?: number;
  /** Larger originals are returned as headers only (Postfix bounce_size_limit, 50000). */
  bounceSizeLimit?: number;
  /** A notify_classes copy for `postmaster` (To: postmaster, Postfix's postmaster subject). */
  postmasterCopy?: boolean;
}

export const DEFAULT_BOUNCE_SIZE_LIMIT = 50_000;

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5322 date in UTC: "Wed, 1 Jan 2025 00:00:00 +0000". */
export function rfc5322Date(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${time} +0000`;
}

/** DSN NOTIFY: NEVER → never; none given → failures and delays; otherwise the listed keywords. */
export function wantsNotification(
  notify: DsnNotify[] | undefined,
  action: 'failed' | 'delayed' | 'delivered' | 'relayed',
): boolean {
  if (notify === undefined || notify.length === 0) return action === 'failed' || action === 'delayed';
  if (notify.includes('NEVER')) return false;
  if (action === 'failed') return notify.includes('FAILURE');
  if (action === 'delayed') return notify.includes('DELAY');
  return notify.includes('SUCCESS');
}

/** Header block of a message (up to, not including, the empty line), with CRLF line ends. */
export function headerBlock(message: Buffer): Buffer {
  const crlf = message.indexOf('\r\n\r\n');
  const lf = message.indexOf('\n\n');
  let end = message.length;
  if (crlf >= 0 && (lf < 0 || crlf < lf)) end = crlf + 2;
  else if (lf >= 0) end = lf + 1;
  return toCrlf(message.subarray(0, end));
}

/** Normalize bare LF and bare CR to CRLF. */
function toCrlf(b: Buffer): Buffer {
  return Buffer.from(b.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n'), 'latin1');
}

const field = (s: string) => sanitizeText(s, 900);
const isAscii = (s: string) => /^[\x20-\x7e]*$/.test(s);

/** "rfc822; a@b" for ASCII, "utf-8; ..." (RFC 6533) otherwise; kept when a type is already there. */
function addressField(addr: string): string {
  if (/^(rfc822|utf-8);/i.test(addr)) return field(addr);
  return isAscii(addr) ? `rfc822; ${field(addr)}` : `utf-8; ${field(addr)}`;
}

/** The message/delivery-status body: per-message block, then one block per recipient. */
export function deliveryStatusText(p: DeliveryReportParams): string {
  const msg: string[] = [];
  if (p.envid !== undefined && p.envid !== '') msg.push(`Original-Envelope-Id: ${field(p.envid)}`);
  msg.push(`Reporting-MTA: dns; ${field(p.reportingMta)}`);
  msg.push(`X-Postfix-Queue-ID: ${field(p.queueId)}`);
  msg.push(`X-Postfix-Sender: rfc822; ${field(p.sender)}`);
  msg.push(`Arrival-Date: ${rfc5322Date(p.arrivalTime)}`);
  const blocks = [msg.join('\r\n')];
  for (const r of p.recipients) {
    const f: string[] = [`Final-Recipient: ${addressField(r.finalRecipient)}`];
    if (r.originalRecipient !== undefined && r.originalRecipient !== '') {
      f.push(`Original-Recipient: ${addressField(r.originalRecipient)}`);
    }
    f.push(`Action: ${r.action}`, `Status: ${field(r.status)}`);
    if (r.remoteMta !== undefined && r.remoteMta !== '') f.push(`Remote-MTA: dns; ${field(r.remoteMta)}`);
    if (r.diagnosticCode !== undefined && r.diagnosticCode !== '')
      f.push(`Diagnostic-Code: ${field(r.diagnosticCode)}`);
    if (r.lastAttemptDate !== undefined) f.push(`Last-Attempt-Date: ${rfc5322Date(r.lastAttemptDate)}`);
    if (r.willRetryUntil !== undefined) f.push(`Will-Retry-Until: ${rfc5322Date(r.willRetryUntil)}`);
    blocks.push(f.join('\r\n'));
  }
  return `${blocks.join('\r\n\r\n')}\r\n`;
}

function reasonOf(r: DsnRecipientReport): string {
  if (r.text !== undefined) return field(r.text);
  const d = r.diagnosticCode ?? '';
  const semi = d.indexOf(';');
  return field(semi >= 0 ? d.slice(semi + 1).trim() : d) || `delivery status ${field(r.status)}`;
}

const SIGNATURE = '                   The mail system';

/** The human-readable first part, in Postfix's template wording. */
export function humanReadableText(p: DeliveryReportParams, now: number): string {
  const postmaster = p.postmaster ?? 'postmaster';
  const lines = [`This is the mail system at host ${field(p.reportingMta)}.`, ''];
  if (p.kind === 'failure') {
    lines.push(
      "I'm sorry to have to inform you that your message could not",
      "be delivered to one or more recipients. It's attached below.",
    );
  } else if (p.kind === 'delay') {
    const hours = Math.max(0, Math.floor((now - p.arrivalTime) / 3_600_000));
    const until = p.recipients.find((r) => r.willRetryUntil !== undefined)?.willRetryUntil;
    lines.push(
      '####################################################################',
      '# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #',
      '####################################################################',
      '',
      `Your message could not be delivered for more than ${hours} hour(s).`,
    );
    if (until !== undefined) {
      const days = Math.round(((until - p.arrivalTime) / 86_400_000) * 10) / 10;
      lines.push(`It will be retried until it is ${days} day(s) old.`);
    }
  } else {
    lines.push(
      'Your message was successfully delivered to the destination(s)',
      'listed below. If the message was delivered to mailbox you will',
      'receive no further notifications. Otherwise you may still receive',
      'notifications of mail delivery errors from other systems.',
    );
  }
  if (p.kind !== 'success') {
    lines.push(
      '',
      `For further assistance, please send mail to ${field(postmaster)}.`,
      '',
      'If you do so, please include this problem report. You can',
      'delete your own text from the attached returned message.',
    );
  }
  lines.push('', SIGNATURE);
  for (const r of p.recipients) {
    const orig = r.originalRecipient;
    const expanded =
      orig !== undefined && orig !== '' && orig.toLowerCase() !== r.finalRecipient.toLowerCase()
        ? ` (expanded from <${field(orig)}>)`
        : '';
    lines.push('', `<${field(r.finalRecipient)}>${expanded}: ${reasonOf(r)}`.slice(0, 990));
  }
  return `${lines.join('\r\n')}\r\n`;
}

const SUBJECTS: Readonly<Record<DeliveryReportParams['kind'], string>> = {
  failure: 'Undelivered Mail Returned to Sender',
  delay: 'Delayed Mail (still being retried)',
  success: 'Successful Mail Delivery Report',
};

/** The third part with its own part headers: the whole original, or only its headers. */
function originalPart(p: DeliveryReportParams): Buffer {
  const limit = p.bounceSizeLimit ?? DEFAULT_BOUNCE_SIZE_LIMIT;
  const full = p.kind !== 'delay' && p.ret === 'FULL' && p.original.length <= limit;
  const what =
    p.kind === 'delay'
      ? 'Delayed Message'
      : p.kind === 'success'
        ? 'Delivered Message'
        : 'Undelivered Message';
  const body = full ? toCrlf(p.original) : headerBlock(p.original);
  const eightBit = body.some((b) => b > 0x7f);
  const head = [
    `Content-Description: ${what}${full ? '' : ' Headers'}`,
    `Content-Type: ${full ? 'message/rfc822' : 'text/rfc822-headers'}`,
    `Content-Transfer-Encoding: ${eightBit ? '8bit' : '7bit'}`,
  ];
  return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), body]);
}

/** The first part with its own part headers, set raw so that long reason lines stay unencoded. */
function textPart(text: string): string {
  const ascii = isAscii(text.replace(/\r\n/g, ''));
  const head = [
    `Content-Description: Notification`,
    `Content-Type: text/plain; charset=${ascii ? 'us-ascii' : 'utf-8'}`,
    `Content-Transfer-Encoding: ${ascii ? '7bit' : '8bit'}`,
  ];
  return `${head.join('\r\n')}\r\n\r\n${text}`;
}

/** True when the original's header block has "TLS-Required: no" (copied to the report, §10.1). */
function tlsRequiredNo(original: Buffer): boolean {
  return /^tls-required:[ \t]*no[ \t]*$/im.test(headerBlock(original).toString('latin1'));
}

/** Postfix's postmaster_subject of each template (notify_classes copies). */
const POSTMASTER_SUBJECTS: Readonly<Record<DeliveryReportParams['kind'], string>> = {
  failure: 'Postmaster Copy: Undelivered Mail',
  delay: 'Postmaster Warning: Delayed Mail',
  success: 'Successful Mail Delivery Report',
};

/** Build the complete report message (RFC 5322, CRLF), ready to enqueue with the null sender. */
export async function buildDeliveryReport(p: DeliveryReportParams): Promise<Buffer> {
  const now = p.now ?? Date.now();
  const mta = field(p.reportingMta);
  const to = p.sender !== '' && p.postmasterCopy !== true ? p.sender : (p.postmaster ?? `postmaster@${mta}`);
  const root = new MimeNode('multipart/report; report-type=delivery-status', { newline: '\r\n' });
  root.setHeader('From', `"Mail Delivery System" <MAILER-DAEMON@${mta}>`);
  root.setHeader('To', to);
  root.setHeader('Subject', p.postmasterCopy === true ? POSTMASTER_SUBJECTS[p.kind] : SUBJECTS[p.kind]);
  root.setHeader('Date', rfc5322Date(now));
  root.setHeader('Message-ID', `<${now.toString(36)}.${randomUUID()}@${mta}>`);
  root.setHeader('Auto-Submitted', 'auto-replied');
  if (tlsRequiredNo(p.original)) root.setHeader('TLS-Required', 'no');
  root.createChild('text/plain').setRaw(textPart(humanReadableText(p, now)));
  const status = deliveryStatusText(p);
  const ds = root.createChild(
    isAscii(status.replace(/\r\n/g, '')) ? 'message/delivery-status' : 'message/global-delivery-status',
  );
  ds.setHeader('Content-Description', 'Delivery report');
  ds.setHeader('Content-Transfer-Encoding', isAscii(status.replace(/\r\n/g, '')) ? '7bit' : '8bit');
  ds.setContent(status);
  root.createChild('message/rfc822').setRaw(originalPart(p));
  return root.build();
}
