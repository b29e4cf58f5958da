/**
 * RFC 8689 `TLS-Required: no` (spec §7.2 step 2): the sender asks that the message be delivered
 * even where a TLS policy would refuse it.
 *
 * Decides: whether the header is present in the header section (field name case-insensitive,
 * value "no" case-insensitive, folded or not), whether it applies (`tlsRequiredEnable` on and
 * REQUIRETLS not requested in the envelope: RFC 8689 §5, REQUIRETLS wins), and the capped level:
 * every policy lookup (smtpTlsPolicyMaps, MTA-STS, DANE) is skipped and the global level is capped
 * at `may` (`encrypt` in wrapper mode, which needs TLS to talk at all). A global `none` stays none.
 * Never: reads the body, changes the message, or removes the header (Postfix keeps it too).
 */
import type { TlsLevel } from './types.ts';
import { TLS_LEVEL_NUMBER } from './types.ts';

/** Offset just past the header section's empty line (or the whole buffer when there is none). */
function headerEnd(message: Uint8Array): number {
  for (let i = 0; i < message.length; i++) {
    if (message[i] !== 0x0a) continue;
    const next = message[i + 1];
    if (next === 0x0a) return i + 1;
    if (next === 0x0d && message[i + 2] === 0x0a) return i + 1;
  }
  return message.length;
}

/** True when the header section holds a `TLS-Required: no` field. */
export function hasTlsRequiredNo(message: Uint8Array): boolean {
  const end = headerEnd(message);
  let text = '';
  for (let i = 0; i < end; i++) text += String.fromCharCode(message[i] ?? 0);
  // Unfold (RFC 5322 §2.2.3), then look at each field.
  const unfolded = text.replace(/\r?\n(?=[ \t])/g, '');
  return unfolded.split(/\r?\n/).some((line) => /^tls-required[ \t]*:[ \t]*no[ \t]*$/i.test(line));
}

/** The header applies: enabled, present, and REQUIRETLS not requested for this message. */
export function tlsRequiredNoApplies(p: {
  enabled: boolean;
  requireTls: boolean | undefined;
  headerPresent: boolean;
}): boolean {
  return p.enabled && p.headerPresent && p.requireTls !== true;
}

/** The global level capped for a `TLS-Required: no` message (may; encrypt in wrapper mode). */
export function capLevelForTlsRequiredNo(level: TlsLevel, wrapperMode: boolean): TlsLevel {
  const cap: TlsLevel = wrapperMode ? 'encrypt' : 'may';
  return TLS_LEVEL_NUMBER[level] > TLS_LEVEL_NUMBER[cap] ? cap : level;
}
