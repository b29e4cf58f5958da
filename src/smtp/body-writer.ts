/**
 * Message body → DATA wire bytes (and BDAT chunks), streaming.
 *
 * Decides: every bare CR and bare LF becomes CRLF, lines starting with '.' get another '.',
 * the body ends with exactly one CRLF.CRLF (a missing final CRLF is added), NUL is refused.
 * Never: buffers the whole message; writes to a socket (the caller does, with backpressure).
 */

export class BodyNulError extends Error {
  constructor() {
    super('message contains a NUL byte');
    this.name = 'BodyNulError';
  }
}

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/** A streaming normalizer: feed chunks, then `end()`. `stuff` enables dot-stuffing (DATA). */
export interface BodyEncoder {
  push(chunk: Uint8Array): Buffer;
  /** Flushes a pending CR and the final CRLF (and ".\r\n" when stuffing). */
  end(): Buffer;
}

export function createBodyEncoder(stuff: boolean): BodyEncoder {
  let lineStart = true;
  let pendingCr = false;
  return {
    push(chunk) {
      if (chunk.indexOf(0) !== -1) throw new BodyNulError();
      const src = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
      if (!pendingCr && alreadyCanonical(src, lineStart, stuff)) {
        // The common case (CRLF lines, no line starting with '.'): the chunk goes out as it is,
        // without a copy.
        if (src.length > 0) lineStart = src[src.length - 1] === LF;
        return src;
      }
      const out = Buffer.allocUnsafe(src.length * 2 + 2);
      let o = 0;
      let i = 0;
      const len = src.length;
      if (pendingCr && len > 0) {
        pendingCr = false;
        out[o++] = CR;
        out[o++] = LF;
        lineStart = true;
        if (src[0] === LF) i = 1;
      }
      let nextCr = -2;
      let nextLf = -2;
      while (i < len) {
        if (lineStart && stuff && src[i] === DOT) out[o++] = DOT;
        if (nextCr !== -1 && nextCr < i) nextCr = src.indexOf(CR, i);
        if (nextLf !== -1 && nextLf < i) nextLf = src.indexOf(LF, i);
        const j =
          nextCr === -1 ? (nextLf === -1 ? len : nextLf) : nextLf === -1 ? nextCr : Math.min(nextCr, nextLf);
        o += src.copy(out, o, i, j);
        if (j === len) {
          if (j > i) lineStart = false;
          break;
        }
        lineStart = true;
        out[o++] = CR;
        out[o++] = LF;
        if (src[j] === LF) i = j + 1;
        else if (j + 1 === len) {
          // A CR at the end of the chunk: the next chunk decides whether it is CRLF.
          o -= 2;
          pendingCr = true;
          i = len;
        } else i = src[j + 1] === LF ? j + 2 : j + 1;
      }
      return out.subarray(0, o);
    },
    end() {
      const parts: number[] = [];
      if (pendingCr || !lineStart) parts.push(CR, LF);
      pendingCr = false;
      lineStart = true;
      if (stuff) parts.push(DOT, CR, LF);
      return Buffer.from(parts);
    },
  };
}

/**
 * True when `push` would return `src` unchanged: every CR is followed by LF, every LF follows a CR
 * in this chunk, no line starts with '.' (when stuffing) and the chunk does not end in a CR (whose
 * meaning the next chunk decides). Native indexOf scans; no per-byte loop.
 */
function alreadyCanonical(src: Buffer, lineStart: boolean, stuff: boolean): boolean {
  const len = src.length;
  if (len === 0) return true;
  if (src[len - 1] === CR) return false;
  if (stuff && lineStart && src[0] === DOT) return false;
  for (let c = src.indexOf(CR); c !== -1; c = src.indexOf(CR, c + 1)) {
    if (src[c + 1] !== LF) return false;
  }
  for (let l = src.indexOf(LF); l !== -1; l = src.indexOf(LF, l + 1)) {
    if (l === 0 || src[l - 1] !== CR) return false;
    if (stuff && src[l + 1] === DOT) return false;
  }
  return true;
}

/** Async iterable of normalized chunks from a Buffer or an iterable source. */
export async function* encodeBody(
  source: Buffer | (() => AsyncIterable<Uint8Array>),
  stuff: boolean,
  chunkSize = 65536,
): AsyncGenerator<Buffer> {
  const enc = createBodyEncoder(stuff);
  if (Buffer.isBuffer(source)) {
    for (let i = 0; i < source.length; i += chunkSize) {
      const out = enc.push(source.subarray(i, i + chunkSize));
      if (i + chunkSize < source.length) yield out;
      else {
        yield Buffer.concat([out, enc.end()]);
        return;
      }
    }
  } else {
    for await (const chunk of source()) if (chunk.length > 0) yield enc.push(chunk);
  }
  yield enc.end();
}

/** Whole-buffer helper (tests, small messages). */
export function encodeBodySync(source: Uint8Array, stuff: boolean): Buffer {
  const enc = createBodyEncoder(stuff);
  return Buffer.concat([enc.push(source), enc.end()]);
}

/** Regroups a chunk stream into chunks of about `size` bytes (BDAT); the last one may be short or empty. */
export async function* rechunk(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let len = 0;
  for await (const c of source) {
    parts.push(c);
    len += c.length;
    while (len >= size) {
      const all = Buffer.concat(parts);
      yield all.subarray(0, size);
      parts = [all.subarray(size)];
      len -= size;
    }
  }
  yield Buffer.concat(parts);
}
