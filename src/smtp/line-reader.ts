/**
 * Bounded line splitting of server output (CRLF or bare LF ends a line).
 *
 * Decides: where a line ends, how long a kept line may be (longer lines are truncated, the rest
 * of the line is counted but not stored), and how non-printable bytes are shown ('?').
 * Never: interprets reply codes; keeps more than `maxLine` bytes of a partial line in memory.
 */

export interface ReaderLine {
  /** Sanitized text without the line ending. */
  text: string;
  /** Bytes the line occupied on the wire, ending included. */
  wireBytes: number;
  truncated: boolean;
}

export interface LineReader {
  /** Feed bytes; returns the lines completed by them, in order. */
  push(chunk: Uint8Array): ReaderLine[];
  /** Bytes of the current partial line seen so far (kept or not). */
  readonly pendingBytes: number;
  /** Forget any partial line. */
  reset(): void;
}

/** Printable ASCII stays, everything else becomes '?' (Postfix printable()). */
export function sanitizeBytes(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '?';
  return out;
}

export function createLineReader(maxLine = 2048): LineReader {
  let kept = new Uint8Array(maxLine + 1);
  let keptLen = 0;
  let seen = 0;
  let lastByte = -1;
  const finish = (): ReaderLine => {
    const rawLen = seen - 1;
    const contentLen = lastByte === 0x0d ? rawLen - 1 : rawLen;
    const len = Math.min(contentLen, maxLine);
    const line = {
      text: sanitizeBytes(kept.subarray(0, len)),
      wireBytes: seen,
      truncated: contentLen > maxLine,
    };
    keptLen = 0;
    seen = 0;
    lastByte = -1;
    return line;
  };
  return {
    push(chunk) {
      const lines: ReaderLine[] = [];
      let start = 0;
      while (start < chunk.length) {
        const nl = chunk.indexOf(0x0a, start);
        const end = nl === -1 ? chunk.length : nl;
        const room = maxLine + 1 - keptLen;
        const take = Math.min(room, end - start);
        if (take > 0) {
          kept.set(chunk.subarray(start, start + take), keptLen);
          keptLen += take;
        }
        seen += end - start;
        if (end > start) lastByte = chunk[end - 1] ?? -1;
        if (nl === -1) break;
        seen += 1;
        lines.push(finish());
        start = nl + 1;
      }
      return lines;
    },
    get pendingBytes() {
      return seen;
    },
    reset() {
      kept = new Uint8Array(maxLine + 1);
      keptLen = 0;
      seen = 0;
      lastByte = -1;
    },
  };
}
