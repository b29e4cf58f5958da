/**
 * The postmaster transcript of a session that raised a notify class (Postfix smtp_chat_notify,
 * spec §10.3): one plain-text message per such session, from the double-bounce address to
 * errorNoticeRecipient, Subject "Postfix SMTP client: errors from host[addr]:port" (LMTP for
 * lmtp), "Transcript of session follows." and the "Out:" / "In:" lines, each made printable
 * (anything outside printable ASCII becomes '?') and wrapped at 78 columns with a one-space
 * prefix, continuation lines indented 4 more, as Postfix's line_wrap/print_line do.
 *
 * Decides: the notice's wording and headers, that errorNoticeRecipient '' means "only logged",
 * that a notice which cannot be queued is only logged (Postfix: post_mail_fopen_nowait, warn).
 * Never: decides which sessions owe a notice (core/session-notice.ts) or sees credentials (the
 * engine's history masks AUTH).
 */
import { randomUUID } from 'node:crypto';
import type { ResolvedOptions } from '../core/options.ts';
import type { Logger } from '../core/ports.ts';
import type { SessionNotice } from '../core/types.ts';
import type { NotificationSender } from './bounce-dispatch.ts';
import { rfc5322Date } from './bounce-message.ts';
import { doubleBounceAddress } from './bounce-plan.ts';

const LENGTH = 78;
const INDENT = 4;

/** Postfix printable(): every byte outside printable ASCII becomes '?'. */
function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?');
}

/** Postfix line_wrap + print_line: " " + text, continuation lines indented by INDENT. */
export function wrapLine(line: string): string[] {
  const out: string[] = [];
  let rest = printable(line);
  let indent = 0;
  for (;;) {
    const width = LENGTH - indent;
    if (rest.length <= width) {
      out.push(` ${' '.repeat(indent)}${rest}`);
      return out;
    }
    let cut = rest.lastIndexOf(' ', width);
    if (cut <= 0) cut = width;
    out.push(` ${' '.repeat(indent)}${rest.slice(0, cut).trimEnd()}`);
    rest = rest.slice(cut).replace(/^ +/, '');
    indent = INDENT;
    if (rest === '') return out;
  }
}

/** The notice as a complete message (CRLF line ends). */
export function buildSessionNotice(p: {
  notice: SessionNotice;
  myhostname: string;
  to: string;
  now: number;
}): Buffer {
  const { notice, myhostname } = p;
  const client = notice.protocol === 'lmtp' ? 'LMTP' : 'SMTP';
  const lines = [
    `From: Mail Delivery System <MAILER-DAEMON@${myhostname}>`,
    `To: Postmaster <${p.to}>`,
    `Subject: Postfix ${client} client: errors from ${notice.server}`,
    `Date: ${rfc5322Date(p.now)}`,
    `Message-ID: <${p.now.toString(36)}.${randomUUID()}@${myhostname}>`,
    'Auto-Submitted: auto-generated',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    `Unexpected response from ${notice.server}.`,
    '',
    'Transcript of session follows.',
    '',
  ];
  if (notice.omitted > 0) lines.push(` (${notice.omitted} earlier lines of the session not kept)`);
  for (const l of notice.lines) lines.push(...wrapLine(l));
  lines.push('', 'For other details, see the local mail logfile', '');
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

/** Queue one notice per session of the attempt that owes one. Never throws. */
export async function dispatchSessionNotices(
  deps: { opts: ResolvedOptions; sender: NotificationSender; logger: Logger; now: number },
  queueId: string,
  notices: SessionNotice[],
): Promise<void> {
  const rcpt = deps.opts.errorNoticeRecipient.trim();
  for (const notice of notices) {
    const what = `${queueId}: ${notice.classes.join(',')} error with ${notice.server}`;
    if (rcpt === '') {
      deps.logger.warn(
        { event: 'session-notice-discarded', server: notice.server },
        `${what}: no errorNoticeRecipient`,
      );
      continue;
    }
    const to = rcpt.includes('@') ? rcpt : `${rcpt}@${deps.opts.myhostname}`;
    try {
      const sent = await deps.sender.send({
        from: doubleBounceAddress(deps.opts),
        to: [to],
        message: buildSessionNotice({ notice, myhostname: deps.opts.myhostname, to, now: deps.now }),
        isBounce: true,
      });
      deps.logger.info(
        {
          event: 'session-notice-sent',
          server: notice.server,
          classes: notice.classes,
          noticeQueueId: sent.queueId,
        },
        `${what}: postmaster notice: ${sent.queueId}`,
      );
    } catch (err) {
      deps.logger.warn(
        {
          event: 'session-notice-failed',
          server: notice.server,
          err: err instanceof Error ? err.message : String(err),
        },
        `${what}: postmaster notify: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
}
