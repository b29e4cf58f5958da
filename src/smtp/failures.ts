/**
 * DeliveryFailure builders with Postfix's wording (spec §5.6, §9.1, §9.2).
 *
 * Decides: the text, status, handler and throttle flag of each kind of engine failure.
 * Never: decides what happens to recipients (core/trouble.ts does).
 */
import type { DeliveryFailure, Endpoint, FailureHandler, SmtpReply } from '../core/types.ts';
import { namaddr } from '../core/types.ts';
import { protocolErrorCode } from './chat-log.ts';

const THROTTLES: Record<FailureHandler, boolean> = {
  sess: true,
  site: true,
  mesg: false,
  misc: false,
  rcpt: false,
  stream: true,
};

/** Postfix smtp_trouble: a status not starting with 4/5 becomes 5.5.0 "Protocol error: ...". */
function fixStatus(status: string, text: string): { status: string; text: string } {
  if (status.startsWith('4') || status.startsWith('5')) return { status, text };
  return { status: '5.5.0', text: `Protocol error: ${text}` };
}

/** "host H[A] said: <reply> (in reply to <command> command)". */
export function replyFailure(
  handler: FailureHandler,
  ep: Endpoint,
  serverHost: string,
  reply: SmtpReply,
  command: string,
): DeliveryFailure {
  const raw = `host ${namaddr(ep)} said: ${reply.text} (in reply to ${command} command)`;
  const fixed = fixStatus(reply.status, raw);
  const protocolError = protocolErrorCode(reply.code);
  return {
    handler,
    ...fixed,
    reply,
    command,
    remoteMta: serverHost,
    throttle: THROTTLES[handler],
    ...(protocolError ? { dontCache: true } : {}),
  };
}

/** Site failure from a greeting/EHLO/HELO/LHLO reply: "host H[A] refused to talk to me: <reply>". */
export function refusedFailure(
  ep: Endpoint,
  reply: SmtpReply,
  soften: boolean,
  command: string,
): DeliveryFailure {
  let status = reply.status;
  // smtp_skip_5xx_greeting looks at the reply code: a 3xx or garbage greeting keeps its 5.5.0.
  if (soften && reply.code >= 500 && reply.code <= 599) status = `4${status.slice(1)}`;
  const fixed = fixStatus(status, `host ${namaddr(ep)} refused to talk to me: ${reply.text}`);
  return { handler: 'site', ...fixed, reply, command, remoteMta: ep.host, throttle: true };
}

/** A failure without a server reply. */
export function localFailure(
  handler: FailureHandler,
  status: string,
  text: string,
  extra: Partial<DeliveryFailure> = {},
): DeliveryFailure {
  return { handler, status, text, throttle: THROTTLES[handler], ...extra };
}

export type StreamErrorKind = 'eof' | 'timeout' | 'overflow' | 'abort';

/** §5.6: 4.4.2 lost connection / timed out while <stage>. */
export function streamFailure(ep: Endpoint, kind: StreamErrorKind, stage: string): DeliveryFailure {
  const who = namaddr(ep);
  switch (kind) {
    case 'eof':
      return localFailure('stream', '4.4.2', `lost connection with ${who} while ${stage}`);
    case 'timeout':
      return localFailure('stream', '4.4.2', `conversation with ${who} timed out while ${stage}`);
    case 'overflow':
      return localFailure(
        'stream',
        '4.4.2',
        `conversation with ${who} ended: reply too long while ${stage}`,
        {
          dontCache: true,
        },
      );
    case 'abort':
      return localFailure('stream', '4.4.2', `conversation with ${who} interrupted while ${stage}`, {
        throttle: false,
        dontCache: true,
      });
  }
}
