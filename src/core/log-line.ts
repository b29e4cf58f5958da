/**
 * The Postfix recipient status line (spec §11.1):
 * `<qid>: to=<rcpt>[, orig_to=<orig>], relay=<relay>[, conn_use=N], delay=T, delays=a/b/c/d[, tls=F], dsn=X.Y.Z, status=S (reason)`
 *
 * Decides: delay number formatting (delay_logging_resolution_limit = 2: ≥ 10 s integers, 1..9.99 s
 * one decimal, < 1 s up to two decimals, trailing zeros dropped, half-up rounding, < 0.005 → "0"),
 * when orig_to= and conn_use= appear, the status word (SOFTBOUNCE for soft-bounced deferrals), and
 * the tls= feature status of a session (the policy level; `:none` when it ran in plaintext, i.e.
 * STARTTLS absent or the §7.4 plaintext retry; `/requiretls` when MAIL FROM carried REQUIRETLS;
 * nothing at level none).
 * Never: writes the line anywhere (the logger does), measures time (callers pass seconds).
 */
import { sanitizeText } from './dsn.ts';
import type { RecipientResult, TlsLevel } from './types.ts';

/** Drop trailing zeros (and a trailing dot) from a fixed-point string. */
function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** Format a delay in seconds the way Postfix logs it: 0, 0.01, 0.22, 1.3, 12. */
export function formatDelaySeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return '0';
  // Half-up rounding on integer hundredths/tenths; the tiny bias absorbs binary representation error.
  const hundredths = Math.floor(seconds * 100 + 0.5 + 1e-9);
  if (hundredths < 100) return hundredths === 0 ? '0' : trimZeros((hundredths / 100).toFixed(2));
  const tenths = Math.floor(seconds * 10 + 0.5 + 1e-9);
  if (tenths < 100) return trimZeros((tenths / 10).toFixed(1));
  return String(Math.floor(seconds + 0.5 + 1e-9));
}

/** The status word: sent, deferred, bounced, or SOFTBOUNCE for a bounce that soft_bounce deferred. */
export function logStatusWord(result: Pick<RecipientResult, 'status' | 'softBounce'>): string {
  return result.status === 'deferred' && result.softBounce === true ? 'SOFTBOUNCE' : result.status;
}

/** The tls= field of Postfix 3.11 (smtp_log_tls_feature_status) for one session; undefined = omit. */
export function tlsFeatureStatus(p: {
  policyLevel: TlsLevel;
  active: boolean;
  requireTls: boolean;
}): string | undefined {
  if (p.policyLevel === 'none') return undefined;
  const level = p.active ? p.policyLevel : `${p.policyLevel}:none`;
  return p.active && p.requireTls ? `${level}/requiretls` : level;
}

export interface RecipientLogLineParams {
  queueId: string;
  result: RecipientResult;
  /** now (or delivery done) − message arrival, in seconds. */
  delaySeconds: number;
  /** a/b/c/d in seconds (queue wait, scheduler wait, connection setup, transmission). */
  delays: [number, number, number, number];
  /** TLS feature status, e.g. "may", "may:none", "verify/requiretls". */
  tls?: string;
}

/** One recipient status line, exactly as Postfix formats it. */
export function formatRecipientLogLine(p: RecipientLogLineParams): string {
  const r = p.result;
  const parts = [`to=<${sanitizeText(r.recipient.address)}>`];
  const orig = r.recipient.orcpt;
  if (orig !== undefined && orig !== '' && orig.toLowerCase() !== r.recipient.address.toLowerCase()) {
    parts.push(`orig_to=<${sanitizeText(orig)}>`);
  }
  parts.push(`relay=${sanitizeText(r.relay)}`);
  if (r.connUse !== undefined) parts.push(`conn_use=${r.connUse}`);
  parts.push(`delay=${formatDelaySeconds(p.delaySeconds)}`);
  parts.push(`delays=${p.delays.map(formatDelaySeconds).join('/')}`);
  if (p.tls !== undefined && p.tls !== '') parts.push(`tls=${sanitizeText(p.tls)}`);
  parts.push(`dsn=${r.dsn}`);
  parts.push(`status=${logStatusWord(r)} (${sanitizeText(r.diagnostic)})`);
  return `${p.queueId}: ${parts.join(', ')}`;
}
