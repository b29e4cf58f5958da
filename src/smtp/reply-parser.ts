/**
 * Incremental SMTP reply parser (RFC 5321 §4.2, Postfix smtp_chat_resp).
 *
 * Decides: where a (multi-line) reply ends, its code and enhanced status (both from the final
 * line, as smtp_chat_resp does; the status only when valid and its first digit matches the code,
 * else `<d>.0.0`; 3xx and garbage get 5.5.0), how much text is kept (2048 bytes; more is dropped,
 * with Postfix's warnings), and (only when the caller sets maxReplyBytes) when a reply is so big
 * that the session must end. By default, as Postfix's smtp_chat_resp() does, an over-long line is
 * cut at line_length_limit and an over-long multi-line reply is read to its end with only its first
 * 2048 bytes kept: neither fails the session (memory stays bounded; an endless reply is ended by
 * the caller's absolute stage deadline).
 * Never: allocates memory proportional to what the server sends; does I/O.
 */
import type { SmtpReply } from '../core/types.ts';
import { createLineReader } from './line-reader.ts';

export interface ReplyParserLimits {
  /** Longest kept line (Postfix line_length_limit). */
  maxLine?: number;
  /** Most reply text kept (bytes); further lines are dropped. */
  maxText?: number;
  /** A reply bigger than this on the wire is a reply bomb: the parser stops with an error. Default: no limit (Postfix). */
  maxReplyBytes?: number;
  /** Postfix's "response longer than" / "multi-line response longer than" warnings. */
  warn?: (text: string) => void;
}

export type ParsedReply = SmtpReply & { malformed: boolean };

export interface ReplyParser {
  /** Feed bytes; returns the replies they complete. After an overflow it returns nothing more. */
  push(chunk: Uint8Array): ParsedReply[];
  /** Set once a reply exceeded maxReplyBytes. */
  readonly overflow: boolean;
  /** Bytes received that do not complete a reply yet. */
  readonly pending: boolean;
  reset(): void;
}

const LINE_RE = /^(\d{3})([ -]|$)/;
const STATUS_RE = /^ *([245])\.(\d{1,3})\.(\d{1,3})(?: |$)/;

/** Enhanced status from a reply line's text (after the code), per §5.2. */
export function replyStatus(code: number, firstLine: string): { status: string; enhanced: boolean } {
  const first = String(code).charAt(0);
  if (first !== '2' && first !== '4' && first !== '5') return { status: '5.5.0', enhanced: false };
  const m = STATUS_RE.exec(firstLine.slice(4));
  if (m && m[1] === first) return { status: `${m[1]}.${m[2]}.${m[3]}`, enhanced: true };
  return { status: `${first}.0.0`, enhanced: false };
}

export function createReplyParser(limits: ReplyParserLimits = {}): ReplyParser {
  const maxText = limits.maxText ?? 2048;
  const maxReplyBytes = limits.maxReplyBytes ?? Number.POSITIVE_INFINITY;
  const maxLine = limits.maxLine ?? 2048;
  const reader = createLineReader(maxLine);
  const warn = limits.warn;
  let lines: string[] = [];
  let textBytes = 0;
  let wireBytes = 0;
  let malformed = false;
  let dropped = false;
  let overflow = false;
  const clear = (): void => {
    lines = [];
    textBytes = 0;
    wireBytes = 0;
    malformed = false;
    dropped = false;
  };
  const take = (text: string, bytes: number, truncated: boolean): ParsedReply | undefined => {
    wireBytes += bytes;
    if (truncated) warn?.(`response longer than ${maxLine}: ${text.slice(0, 30)}...`);
    if (textBytes + text.length <= maxText || lines.length === 0) {
      lines.push(text);
      textBytes += text.length + 1;
    } else if (!dropped) {
      dropped = true;
      warn?.(`multi-line response longer than ${maxText} ${lines.join(' ').slice(0, 30)}...`);
    }
    const m = LINE_RE.exec(text);
    if (!m || m[1] === undefined) {
      malformed = true;
      return undefined;
    }
    if (m[2] === '-') return undefined;
    const code = Number(m[1]);
    const st = replyStatus(code, text);
    const reply: ParsedReply = { code, ...st, lines, text: lines.join(' '), malformed };
    clear();
    return reply;
  };
  return {
    push(chunk) {
      const out: ParsedReply[] = [];
      if (overflow) return out;
      for (const line of reader.push(chunk)) {
        const reply = take(line.text, line.wireBytes, line.truncated);
        if (wireBytes > maxReplyBytes) break;
        if (reply) out.push(reply);
      }
      if (wireBytes + reader.pendingBytes > maxReplyBytes) {
        overflow = true;
        clear();
        reader.reset();
      }
      return out;
    },
    get overflow() {
      return overflow;
    },
    get pending() {
      return lines.length > 0 || reader.pendingBytes > 0;
    },
    reset() {
      clear();
      reader.reset();
      overflow = false;
    },
  };
}
