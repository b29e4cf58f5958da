/**
 * SMTP command lines: MAIL FROM, RCPT TO, EHLO/HELO/LHLO, with their ESMTP parameters.
 *
 * Decides: the exact wire form of each command and which parameters go on it, and refuses input
 * that could break the protocol (CR, LF, NUL, over-long values) before anything is written.
 * Never: writes to a socket; decides policy beyond "is this parameter allowed by the server".
 */
import { xtextEncode } from '../core/dsn.ts';

/** An input the engine refuses to put on the wire. */
export class SmtpInputError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.name = 'SmtpInputError';
    this.field = field;
  }
}

/** RFC 5321 §4.5.3.1: path ≤ 256 octets; a command line ≤ 512 (extensions may lengthen it). */
export const MAX_PATH = 256;
export const MAX_PARAM = 500;

export function checkValue(field: string, value: string, max: number): void {
  if (/[\r\n\0]/.test(value)) throw new SmtpInputError(field, `${field} contains CR, LF or NUL`);
  if (Buffer.byteLength(value) > max) throw new SmtpInputError(field, `${field} is longer than ${max} bytes`);
}

export function heloCommand(verb: 'EHLO' | 'HELO' | 'LHLO', name: string): string {
  checkValue('EHLO name', name, 255);
  if (name === '' || /\s/.test(name))
    throw new SmtpInputError('EHLO name', 'EHLO name is empty or has spaces');
  return `${verb} ${name}`;
}

/** Quote the local part when RFC 5321 requires it (Postfix smtp_quote_rfc821_envelope). */
export function quotePath(address: string): string {
  const at = address.lastIndexOf('@');
  const local = at === -1 ? address : address.slice(0, at);
  const domain = at === -1 ? '' : address.slice(at);
  if (local === '' || /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\u0080-\uffff-]+$/.test(local)) {
    if (!local.startsWith('.') && !local.endsWith('.') && !local.includes('..')) return address;
  }
  if (local.startsWith('"') && local.endsWith('"') && local.length > 1) return address;
  return `"${local.replace(/(["\\])/g, '\\$1')}"${domain}`;
}

export interface MailParams {
  sender: string;
  size?: number;
  body?: '8BITMIME' | '7BIT';
  smtputf8?: boolean;
  ret?: 'FULL' | 'HDRS';
  envid?: string;
  requireTls?: boolean;
}

export function mailCommand(p: MailParams): string {
  checkValue('sender', p.sender, MAX_PATH);
  let cmd = `MAIL FROM:<${p.sender === '' ? '' : quotePath(p.sender)}>`;
  if (p.size !== undefined) cmd += ` SIZE=${Math.max(0, Math.floor(p.size))}`;
  if (p.body) cmd += ` BODY=${p.body}`;
  if (p.smtputf8) cmd += ' SMTPUTF8';
  if (p.requireTls) cmd += ' REQUIRETLS';
  if (p.ret) cmd += ` RET=${p.ret}`;
  if (p.envid !== undefined) {
    checkValue('ENVID', p.envid, 100);
    cmd += ` ENVID=${xtextEncode(p.envid)}`;
  }
  return cmd;
}

export interface RcptParams {
  address: string;
  notify?: string[];
  orcpt?: string;
}

export function rcptCommand(p: RcptParams): string {
  checkValue('recipient', p.address, MAX_PATH);
  let cmd = `RCPT TO:<${quotePath(p.address)}>`;
  if (p.notify && p.notify.length > 0) {
    for (const n of p.notify) checkValue('NOTIFY', n, 16);
    cmd += ` NOTIFY=${p.notify.join(',')}`;
  }
  if (p.orcpt !== undefined) {
    checkValue('ORCPT', p.orcpt, MAX_PATH);
    cmd += ` ORCPT=rfc822;${xtextEncode(p.orcpt)}`;
  }
  if (Buffer.byteLength(cmd) > MAX_PARAM + MAX_PATH)
    throw new SmtpInputError('recipient', 'RCPT TO command too long');
  return cmd;
}
