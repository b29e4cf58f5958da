/**
 * When the 8BITMIME downgrade (mime-downgrade.ts) runs for a transaction, and what a refusal
 * means (spec §5.4).
 *
 * Decides: the downgrade runs when the message is 8-bit, the server lacks 8BITMIME (SMTPUTF8
 * implies it, capabilities.ts), and the request does not disable conversion (Postfix
 * disable_mime_output_conversion). The converted message replaces the original for this server
 * only, with its own size and without BODY=8BITMIME. Failures: a nesting overflow is a message
 * failure 5.6.0 `MIME nesting exceeds safety limit` (bounces, as in Postfix); 8-bit data that
 * cannot be converted is 5.6.3, soft at a non-final server so that another MX that offers
 * 8BITMIME can take it, hard at the last one.
 * Never: writes to the connection; converts a 7-bit message.
 */
import type { TransactionRequest } from '../core/ports.ts';
import type { DeliveryFailure, Endpoint } from '../core/types.ts';
import { namaddr } from '../core/types.ts';
import { localFailure } from './failures.ts';
import { downgradeTo7bit } from './mime-downgrade.ts';

async function wholeMessage(m: TransactionRequest['message']): Promise<Buffer> {
  if (Buffer.isBuffer(m)) return m;
  const chunks: Buffer[] = [];
  for await (const c of m()) chunks.push(c);
  return Buffer.concat(chunks);
}

export async function downgradeFor(
  caps: Record<string, string>,
  req: TransactionRequest,
  ep: Endpoint,
): Promise<{ ok: true; req: TransactionRequest } | { ok: false; failure: DeliveryFailure }> {
  if (req.eightBit !== true || caps['8BITMIME'] !== undefined || req.disableMimeOutputConversion === true)
    return { ok: true, req };
  const r = downgradeTo7bit(await wholeMessage(req.message));
  if (r.ok) return { ok: true, req: { ...req, message: r.message, size: r.message.length, eightBit: false } };
  if (r.kind === 'nesting') return { ok: false, failure: localFailure('mesg', '5.6.0', r.text) };
  const text = `message has ${r.text} that cannot be converted to 7 bits, but host ${namaddr(ep)} does not support 8BITMIME`;
  return { ok: false, failure: localFailure('misc', '5.6.3', text, { softNonFinal: true, throttle: false }) };
}
