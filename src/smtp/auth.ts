/**
 * SASL client: AUTH PLAIN, LOGIN and XOAUTH2 (RFC 4954, 4616).
 *
 * Decides: the exchanges of the mechanism sasl-policy.ts chose,
 * and the failure text "SASL authentication failed; server H[A] said: <reply>" (softened to 4.x,
 * like Postfix's smtp_sasl_auth_soft_bounce=yes).
 * Never: lets a credential reach a transcript, log, error or failure text (payloads show as *****).
 */
import type { SaslCredentials, StageTimeoutsMs } from '../core/ports.ts';
import type { DeliveryFailure, Endpoint, SmtpReply } from '../core/types.ts';
import { namaddr } from '../core/types.ts';
import type { Channel } from './channel.ts';
import { localFailure } from './failures.ts';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const MASK = '*****';

function authFailure(ep: Endpoint, reply: SmtpReply): DeliveryFailure {
  const status = reply.status.startsWith('5') ? `4${reply.status.slice(1)}` : reply.status;
  return localFailure(
    'sess',
    status.startsWith('4') ? status : '4.7.0',
    `SASL authentication failed; server ${namaddr(ep)} said: ${reply.text}`,
    {
      reply,
      command: 'AUTH',
      remoteMta: ep.host,
    },
  );
}

/** Runs AUTH; returns undefined on success. Stream errors propagate as StreamError. */
export async function authenticate(
  ch: Channel,
  ep: Endpoint,
  mech: string,
  creds: SaslCredentials,
  timeouts: StageTimeoutsMs,
  signal?: AbortSignal,
): Promise<DeliveryFailure | undefined> {
  const t = timeouts.helo;
  const send = async (line: string, show: string): Promise<SmtpReply> => {
    await ch.write(`${line}\r\n`, t, signal, [show]);
    return ch.readReply(t, signal);
  };
  let reply: SmtpReply;
  if (mech === 'PLAIN') {
    reply = await send(`AUTH PLAIN ${b64(`\0${creds.username}\0${creds.password}`)}`, `AUTH PLAIN ${MASK}`);
  } else if (mech === 'XOAUTH2') {
    const token = b64(`user=${creds.username}\x01auth=Bearer ${creds.password}\x01\x01`);
    reply = await send(`AUTH XOAUTH2 ${token}`, `AUTH XOAUTH2 ${MASK}`);
    if (reply.code === 334) reply = await send('', '');
  } else {
    reply = await send('AUTH LOGIN', 'AUTH LOGIN');
    if (reply.code === 334) reply = await send(b64(creds.username), MASK);
    if (reply.code === 334) reply = await send(b64(creds.password), MASK);
  }
  return reply.code >= 200 && reply.code < 300 ? undefined : authFailure(ep, reply);
}
