/**
 * RFC 3461 SUCCESS notices for a sent recipient (spec §10.1, Postfix smtp_rcpt_done).
 *
 * Decides: which DSN action a successful delivery owes the sender when the recipient asked for
 * NOTIFY=SUCCESS: `delivered` for LMTP with lmtpAssumeFinal (the server is the final mailbox);
 * none when the server announced DSN (NOTIFY went along with RCPT TO, so the responsibility for
 * the notice passed downstream); otherwise `relayed` (the mail left for a server that cannot
 * report success itself).
 * Never: builds or sends the notice (src/workers/bounce-*.ts do, once per message and pass).
 */
import type { DsnNotify, Protocol } from './types.ts';

export type SuccessAction = 'relayed' | 'delivered';

export function successActionFor(p: {
  notify: DsnNotify[] | undefined;
  serverDsn: boolean;
  protocol: Protocol;
  lmtpAssumeFinal: boolean;
}): SuccessAction | undefined {
  if (p.notify === undefined || !p.notify.includes('SUCCESS') || p.notify.includes('NEVER')) return undefined;
  if (p.protocol === 'lmtp' && p.lmtpAssumeFinal) return 'delivered';
  return p.serverDsn ? undefined : 'relayed';
}
