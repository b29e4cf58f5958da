/**
 * RFC 3461 xtext encoding for ENVID and ORCPT.
 *
 * Decides: which bytes are escaped as "+HH" (outside "!".."~", plus "+" and "=").
 * Never: validates the value (commands.ts does).
 */
export function xtext(value: string): string {
  let out = '';
  for (const b of Buffer.from(value, 'utf8')) {
    if (b < 0x21 || b > 0x7e || b === 0x2b || b === 0x3d)
      out += `+${b.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += String.fromCharCode(b);
  }
  return out;
}
