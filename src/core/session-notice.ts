/**
 * Which sessions owe the postmaster a transcript (Postfix smtp_cleanup_session step 1, spec §4.6,
 * §10.3): the session raised a class listed in notifyClasses, and the request's sender is neither
 * null nor the double-bounce address (POSSIBLE_NOTIFICATION: trouble met while delivering a
 * notification is never reported, so notices cannot loop).
 *
 * Decides: that rule, and the classes the engine can raise (SESSION_NOTICE_CLASSES: `protocol`,
 * as Postfix's SMTP client; it never raises resource or software).
 * Never: builds or sends the notice (workers/session-notice.ts does), keeps credentials.
 */
import type { ResolvedOptions } from './options.ts';
import type { ChatHistory, Endpoint, Protocol, SessionNotice } from './types.ts';
import { namaddrport } from './types.ts';

export const SESSION_NOTICE_CLASSES: readonly string[] = ['protocol'];

const listed = (opts: Pick<ResolvedOptions, 'notifyClasses'>): Set<string> =>
  new Set(opts.notifyClasses.map((c) => c.trim().toLowerCase()));

/** Whether sessions need to keep a history at all (some class the engine raises is listed). */
export function keepsSessionHistory(opts: Pick<ResolvedOptions, 'notifyClasses'>): boolean {
  const l = listed(opts);
  return SESSION_NOTICE_CLASSES.some((c) => l.has(c));
}

/** The notice a finished session owes, if any. */
export function sessionNotice(
  opts: Pick<ResolvedOptions, 'notifyClasses' | 'doubleBounceSender' | 'myhostname'>,
  req: { sender: string; protocol: Protocol },
  ep: Endpoint,
  history: ChatHistory | undefined,
): SessionNotice | undefined {
  if (history === undefined || history.lines.length === 0) return undefined;
  const l = listed(opts);
  const classes = history.classes.filter((c) => l.has(c));
  if (classes.length === 0) return undefined;
  const sender = req.sender.toLowerCase();
  const db = opts.doubleBounceSender.includes('@')
    ? opts.doubleBounceSender
    : `${opts.doubleBounceSender}@${opts.myhostname}`;
  if (sender === '' || sender === db.toLowerCase()) return undefined;
  return { ...history, classes, server: namaddrport(ep), protocol: req.protocol };
}

/** Record the notice a session owes on the attempt (its result carries them). */
export function noteSession(
  run: {
    opts: Parameters<typeof sessionNotice>[0];
    req: Parameters<typeof sessionNotice>[1];
    notices?: SessionNotice[];
  },
  ep: Endpoint,
  history: ChatHistory | undefined,
): void {
  const n = sessionNotice(run.opts, run.req, ep, history);
  if (n === undefined) return;
  run.notices ??= [];
  run.notices.push(n);
}
