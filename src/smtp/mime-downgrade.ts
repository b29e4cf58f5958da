/**
 * 8BITMIME downgrade (spec §5.4, Postfix mime_state with MIME_OPT_DOWNGRADE): an 8-bit message
 * for a server that does not announce 8BITMIME is rewritten as 7-bit MIME, never sent raw.
 *
 * Decides: per entity, by Content-Type and Content-Transfer-Encoding (default text/plain, 7bit):
 * - multipart/*: each body part is downgraded (boundaries, preamble and epilogue kept byte for
 *   byte); an 8bit/binary encoding label becomes 7bit;
 * - message/*: the enclosed message is downgraded; an 8bit/binary label becomes 7bit;
 * - any other part whose body holds 8-bit bytes (whatever its label says, so a non-MIME message
 *   with a raw 8-bit body is converted too, where Postfix would send it as is): text/* becomes
 *   quoted-printable (RFC 2045 §6.7, 76-column soft breaks), anything else base64; the
 *   Content-Transfer-Encoding field is replaced. A top-level entity without MIME-Version gets
 *   `MIME-Version: 1.0`, and without Content-Type `text/plain; charset=unknown-8bit` (RFC 1428).
 * What cannot be converted is an error value: 8-bit bytes in a header (only SMTPUTF8 may carry
 * them; 5.6.3, soft until the last server), a part labelled base64/quoted-printable that holds
 * 8-bit bytes (5.6.3), nesting deeper than 100 levels (Postfix mime_nesting_limit: 5.6.0 `MIME
 * nesting exceeds safety limit`).
 * Never: touches a 7-bit message, decodes existing base64/quoted-printable, reorders headers.
 */

export const MIME_NESTING_LIMIT = 100;

export type DowngradeResult =
  | { ok: true; message: Buffer }
  | { ok: false; kind: 'header-8bit' | 'encoded-8bit' | 'nesting'; text: string };

class DowngradeError extends Error {
  readonly kind: 'header-8bit' | 'encoded-8bit' | 'nesting';
  constructor(kind: 'header-8bit' | 'encoded-8bit' | 'nesting', text: string) {
    super(text);
    this.kind = kind;
  }
}

const has8bit = (s: string): boolean => /[\x80-\xff]/.test(s);

interface Entity {
  headerLines: string[];
  body: string;
  /** There was an empty line between header and body. */
  separated: boolean;
}

function splitEntity(text: string): Entity {
  const lines = text.split('\r\n');
  const headerLines: string[] = [];
  let i = 0;
  for (; i < lines.length; i++) {
    const l = lines[i] ?? '';
    if (l === '') break;
    headerLines.push(l);
  }
  if (i >= lines.length) return { headerLines, body: '', separated: false };
  return { headerLines, body: lines.slice(i + 1).join('\r\n'), separated: true };
}

/** Unfolded value of the first field with this name (lower-cased name). */
function fieldValue(headerLines: string[], name: string): string | undefined {
  for (let i = 0; i < headerLines.length; i++) {
    const l = headerLines[i] ?? '';
    const colon = l.indexOf(':');
    if (colon <= 0 || /^[ \t]/.test(l) || l.slice(0, colon).trim().toLowerCase() !== name) continue;
    let v = l.slice(colon + 1);
    for (let j = i + 1; j < headerLines.length && /^[ \t]/.test(headerLines[j] ?? ''); j++)
      v += headerLines[j];
    return v.trim();
  }
  return undefined;
}

/** Replace (or append) a field, dropping its continuation lines. */
function setField(headerLines: string[], name: string, value: string): string[] {
  const out: string[] = [];
  let skipping = false;
  let done = false;
  for (const l of headerLines) {
    if (skipping && /^[ \t]/.test(l)) continue;
    skipping = false;
    const colon = l.indexOf(':');
    if (
      !done &&
      colon > 0 &&
      !/^[ \t]/.test(l) &&
      l.slice(0, colon).trim().toLowerCase() === name.toLowerCase()
    ) {
      out.push(`${name}: ${value}`);
      skipping = true;
      done = true;
      continue;
    }
    out.push(l);
  }
  if (!done) out.push(`${name}: ${value}`);
  return out;
}

function boundaryOf(ctype: string): string | undefined {
  const m = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))/i.exec(ctype);
  return m?.[1] ?? m?.[2];
}

/** RFC 2045 §6.7 quoted-printable of CRLF-separated lines. */
export function quotedPrintable(text: string): string {
  return text
    .split('\r\n')
    .map((line) => {
      let out = '';
      let col = 0;
      for (let i = 0; i < line.length; i++) {
        const ch = line[i] ?? '';
        const code = ch.charCodeAt(0);
        const last = i === line.length - 1;
        const plain = (code >= 33 && code <= 126 && ch !== '=') || ((ch === ' ' || ch === '\t') && !last);
        const piece = plain ? ch : `=${code.toString(16).toUpperCase().padStart(2, '0')}`;
        if (col + piece.length > 75) {
          out += '=\r\n';
          col = 0;
        }
        out += piece;
        col += piece.length;
      }
      return out;
    })
    .join('\r\n');
}

function base64Lines(text: string): string {
  const b64 = Buffer.from(text, 'latin1').toString('base64');
  const out: string[] = [];
  for (let i = 0; i < b64.length; i += 76) out.push(b64.slice(i, i + 76));
  return `${out.join('\r\n')}\r\n`;
}

function join(e: Entity, headerLines: string[], body: string): string {
  return e.separated ? `${headerLines.join('\r\n')}\r\n\r\n${body}` : headerLines.join('\r\n');
}

function downgradeEntity(text: string, depth: number, top: boolean, defaultType: string): string {
  if (depth > MIME_NESTING_LIMIT) throw new DowngradeError('nesting', 'MIME nesting exceeds safety limit');
  const e = splitEntity(text);
  if (!has8bit(text)) return text;
  if (e.headerLines.some(has8bit)) throw new DowngradeError('header-8bit', '8-bit header data');
  const ctype = fieldValue(e.headerLines, 'content-type') ?? defaultType;
  const type = ctype.split(';')[0]?.trim().toLowerCase() ?? 'text/plain';
  const cte = (fieldValue(e.headerLines, 'content-transfer-encoding') ?? '7bit').toLowerCase();
  let headers = e.headerLines;
  const relabel = (): void => {
    if (cte === '8bit' || cte === 'binary') headers = setField(headers, 'Content-Transfer-Encoding', '7bit');
  };
  if (type.startsWith('multipart/')) {
    const boundary = boundaryOf(ctype);
    if (boundary !== undefined) {
      const inner = type === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
      relabel();
      return join(e, headers, downgradeMultipart(e.body, boundary, depth, inner));
    }
  } else if (type.startsWith('message/')) {
    relabel();
    return join(e, headers, downgradeEntity(e.body, depth + 1, false, 'text/plain'));
  }
  if (cte === 'base64' || cte === 'quoted-printable')
    throw new DowngradeError('encoded-8bit', `8-bit data in a ${cte} body part`);
  const text8 = type.startsWith('text/');
  headers = setField(headers, 'Content-Transfer-Encoding', text8 ? 'quoted-printable' : 'base64');
  if (top && fieldValue(headers, 'mime-version') === undefined) headers = [...headers, 'MIME-Version: 1.0'];
  if (top && fieldValue(e.headerLines, 'content-type') === undefined)
    headers = [...headers, 'Content-Type: text/plain; charset=unknown-8bit'];
  const body = text8 ? quotedPrintable(e.body) : base64Lines(e.body);
  return `${headers.join('\r\n')}\r\n\r\n${body}`;
}

function downgradeMultipart(body: string, boundary: string, depth: number, inner: string): string {
  const lines = body.split('\r\n');
  const delim = `--${boundary}`;
  const out: string[] = [];
  let part: string[] | undefined;
  let closed = false;
  const flush = (): void => {
    if (part !== undefined) out.push(downgradeEntity(part.join('\r\n'), depth + 1, false, inner));
    part = undefined;
  };
  for (const line of lines) {
    if (!closed && line.startsWith(delim)) {
      const rest = line.slice(delim.length).replace(/[ \t]+$/, '');
      if (rest === '' || rest === '--') {
        flush();
        out.push(line);
        if (rest === '--') closed = true;
        else part = [];
        continue;
      }
    }
    if (part !== undefined) part.push(line);
    else out.push(quotedIfOutside(line));
  }
  flush();
  return out.join('\r\n');
}

/** Preamble/epilogue text is not a part; 8-bit bytes there are dropped to '?' (never shown). */
const quotedIfOutside = (line: string): string => line.replace(/[\x80-\xff]/g, '?');

/** Normalize line ends to CRLF (the engine does the same when it sends). */
const toCrlf = (s: string): string => s.replace(/\r\n|\r|\n/g, '\r\n');

/** Downgrade a whole message (any line ends) to 7-bit MIME. */
export function downgradeTo7bit(message: Buffer): DowngradeResult {
  const text = toCrlf(message.toString('latin1'));
  try {
    return { ok: true, message: Buffer.from(downgradeEntity(text, 0, true, 'text/plain'), 'latin1') };
  } catch (e) {
    if (e instanceof DowngradeError) return { ok: false, kind: e.kind, text: e.message };
    throw e;
  }
}
