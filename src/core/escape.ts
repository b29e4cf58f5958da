/**
 * Text from outside (an address, a server reply, a flag value) made safe for a terminal or a
 * log line.
 *
 * Decides: C0 controls, DEL and C1 controls become `\xHH` (`\r`, `\n`, `\t`, `\0` spelled out),
 * so an ESC in a rejected address is shown as `\x1b`, never sent to the terminal; long text is cut.
 * Never: changes printable text, including UTF-8.
 */

const NAMED: Readonly<Record<number, string>> = { 0: '\\0', 9: '\\t', 10: '\\n', 13: '\\r' };

function isControl(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

/** `s` with control characters escaped, cut to `max` characters (then "..."). */
export function escapeControls(s: string, max = 400): string {
  const cut = s.length > max ? `${s.slice(0, max)}...` : s;
  let out = '';
  for (const ch of cut) {
    const code = ch.codePointAt(0) ?? 0;
    if (!isControl(code)) out += ch;
    else out += NAMED[code] ?? `\\x${code.toString(16).padStart(2, '0')}`;
  }
  return out;
}
