/**
 * Enhanced status codes (RFC 3463) and the text helpers every DSN passes through.
 *
 * Decides: whether a status is well formed, soft (4.x.y) or hard (5.x.y); how a hard status is
 * softened (soft_bounce); RFC 3461 xtext encoding for ORCPT/ENVID; how remote text is made safe
 * for logs and DSNs (non-printables → '?', line breaks → spaces, bounded length).
 * Never: decides outcomes (trouble.ts does) or parses SMTP replies (the engine does).
 */

/** RFC 3463: class 2/4/5, subject and detail of 1..3 digits. */
export function isValidStatus(s: string): boolean {
  return /^[245]\.\d{1,3}\.\d{1,3}$/.test(s);
}

/** The class digit of a status: '2' success, '4' soft, '5' hard. Undefined when malformed. */
export function statusClass(status: string): '2' | '4' | '5' | undefined {
  if (!isValidStatus(status)) return undefined;
  return status[0] as '2' | '4' | '5';
}

/** Postfix decides soft versus hard from the first digit of the status only. */
export function isSoftStatus(status: string): boolean {
  return status.startsWith('4');
}

export function isHardStatus(status: string): boolean {
  return status.startsWith('5');
}

/** soft_bounce: 5.x.y → 4.x.y; anything else is returned unchanged. */
export function softenStatus(status: string): string {
  return status.startsWith('5') ? `4${status.slice(1)}` : status;
}

/** UTF-8 bytes of a string, without Node's Buffer. */
export function utf8Bytes(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) {
    const raw = ch.codePointAt(0) ?? 0;
    const cp = raw >= 0xd800 && raw <= 0xdfff ? 0xfffd : raw; // lone surrogate → U+FFFD, as TextEncoder does
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  }
  return out;
}

/** RFC 3461 xtext: bytes outside "!".."~", and "+" and "=", become "+HH" (upper-case hex). */
export function xtextEncode(s: string): string {
  let out = '';
  for (const b of utf8Bytes(s)) {
    if (b < 33 || b > 126 || b === 0x2b || b === 0x3d)
      out += `+${b.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += String.fromCharCode(b);
  }
  return out;
}

/** Inverse of xtextEncode for ASCII results; "+HH" sequences are decoded (as UTF-8). */
export function xtextDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/%/g, '%25').replace(/\+([0-9A-Fa-f]{2})/g, '%$1'));
  } catch {
    return s;
  }
}

/** Default bound for sanitized text (Postfix line_length_limit). */
export const SANITIZE_MAX_LENGTH = 2048;

/**
 * Make remote or user text safe for a log line or a DSN field: CR/LF/TAB become spaces, other
 * control characters (C0, DEL, C1) become '?', the result is cut to `maxLength` characters.
 */
export function sanitizeText(s: string, maxLength: number = SANITIZE_MAX_LENGTH): string {
  const cleaned = s
    .replace(/\r\n|[\r\n\t]/g, ' ')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing control characters is the point
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return cleaned.length > maxLength ? cleaned.slice(0, maxLength) : cleaned;
}
