/**
 * A session's conversation history for postmaster notices (Postfix smtp_chat's session history,
 * spec §10.3) and the notify classes the session raised.
 *
 * Decides: the "Out: " / "In:  " lines as smtp_chat_cmd / smtp_chat_resp record them, their bound
 * (the last CHAT_LOG_MAX_LINES lines and CHAT_LOG_MAX_BYTES bytes; older lines are counted, not
 * kept), which failure replies raise the `protocol` class (smtp_check_code: codes < 400, > 599,
 * 500–509 and 555), and AUTH masking: an AUTH command keeps only its mechanism, and every client
 * line answering a 334 challenge shows as *****.
 * Never: keeps a credential, sends mail, or decides who is told (core/session-notice.ts does).
 */
import type { ChatHistory, DeliveryFailure } from '../core/types.ts';

export const CHAT_LOG_MAX_LINES = 100;
export const CHAT_LOG_MAX_BYTES = 8192;
const MASK = '*****';

export interface ChatLog {
  /** One line sent ('C') or received ('S'). */
  record(dir: 'C' | 'S', line: string): void;
  /** The session raised this notify class (e.g. `protocol`). */
  mark(cls: string): void;
  /** Raise `protocol` when a failure came from a reply code Postfix's smtp_check_code flags. */
  markFailure(f: DeliveryFailure): void;
  /** The history and classes so far; both start over (Postfix smtp_chat_reset). */
  take(): ChatHistory | undefined;
}

/** Postfix smtp_check_code: a reply code that tells of a protocol error, seen by a failure handler. */
export function protocolErrorCode(code: number): boolean {
  return code < 400 || code > 599 || (code >= 500 && code <= 509) || code === 555;
}

export function createChatLog(limits: { maxLines?: number; maxBytes?: number } = {}): ChatLog {
  const maxLines = limits.maxLines ?? CHAT_LOG_MAX_LINES;
  const maxBytes = limits.maxBytes ?? CHAT_LOG_MAX_BYTES;
  let lines: string[] = [];
  let bytes = 0;
  let omitted = 0;
  let classes = new Set<string>();
  let inAuth = false;
  const push = (line: string): void => {
    lines.push(line);
    bytes += line.length + 1;
    while (lines.length > 1 && (lines.length > maxLines || bytes > maxBytes)) {
      const old = lines.shift() ?? '';
      bytes -= old.length + 1;
      omitted++;
    }
  };
  return {
    record(dir, raw) {
      const line = raw.replace(/\r?\n$/, '');
      if (dir === 'S') {
        inAuth = inAuth && /^334(?:[ -]|$)/.test(line);
        push(`In:  ${line}`);
        return;
      }
      const auth = /^(AUTH\s+\S+)(\s+\S.*)?$/i.exec(line);
      if (auth?.[1] !== undefined) {
        inAuth = true;
        push(`Out: ${auth[1]}${auth[2] === undefined ? '' : ` ${MASK}`}`);
        return;
      }
      push(`Out: ${inAuth ? MASK : line}`);
    },
    mark(cls) {
      classes.add(cls);
    },
    markFailure(f) {
      if (f.reply !== undefined && protocolErrorCode(f.reply.code)) classes.add('protocol');
    },
    take() {
      const out: ChatHistory = { classes: [...classes], lines, omitted };
      lines = [];
      bytes = 0;
      omitted = 0;
      classes = new Set();
      inAuth = false;
      return out.classes.length > 0 ? out : undefined;
    },
  };
}
