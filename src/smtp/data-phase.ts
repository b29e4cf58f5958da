/**
 * The content phase of a transaction: DATA body (dot-stuffed, one terminator) or BDAT chunks,
 * then the end-of-data reply(ies): one for SMTP, one per accepted recipient for LMTP.
 *
 * Decides: how end-of-data replies settle recipients, what a NUL in a streamed body does (abort
 * without the terminator: 5.6.0 for the accepted recipients, connection dropped), that an
 * early reply after a broken body write is still read, and QUIT right behind the final "." when
 * the caller asks for it (quitAfterData) and the server pipelines.
 * Never: sends MAIL/RCPT; words stream failures (transaction.ts maps StreamError).
 */

import { escapeControls } from '../core/escape.ts';
import type { TransactionRequest } from '../core/ports.ts';
import { type Endpoint, namaddr, type Protocol } from '../core/types.ts';
import { BodyNulError, encodeBody, rechunk } from './body-writer.ts';
import { type Channel, StreamError } from './channel.ts';
import { localFailure, replyFailure } from './failures.ts';
import type { Ledger } from './ledger.ts';

export const STAGE_BODY = 'sending message body';
export const STAGE_DOT = 'sending end of data -- message may be sent more than once';
const BDAT_CHUNK = 1 << 17;

export interface PhaseCtx {
  ch: Channel;
  ep: Endpoint;
  remoteMta: string;
  protocol: Protocol;
  req: TransactionRequest;
  ledger: Ledger;
  step: { stage: string };
  /** The server offered PIPELINING. */
  pipelining: boolean;
  /** QUIT went out behind the final "." (req.quitAfterData with PIPELINING). */
  quitSent: boolean;
}

/** §5.3: with PIPELINING and a session that will not be cached, QUIT follows "." at once. */
async function quitBehindDot(c: PhaseCtx): Promise<void> {
  if (!c.req.quitAfterData || !c.pipelining) return;
  c.quitSent = true;
  await c.ch.write('QUIT\r\n', c.req.timeouts.dataXfer, c.req.signal, ['QUIT']);
}

export const NUL_FAILURE = (): ReturnType<typeof localFailure> =>
  localFailure('mesg', '5.6.0', 'message content rejected: the message contains a NUL byte');

/** Reads the end-of-data reply(ies) and settles the accepted recipients. */
export async function readEndOfData(c: PhaseCtx): Promise<void> {
  const t = c.req.timeouts.dataDone;
  c.step.stage = STAGE_DOT;
  if (c.protocol === 'lmtp') {
    for (const i of [...c.ledger.accepted]) {
      const r = await c.ch.readReply(t, c.req.signal);
      if (r.code >= 200 && r.code < 300) c.ledger.ok(i, r);
      else c.ledger.fail(i, replyFailure('rcpt', c.ep, c.remoteMta, r, 'end of DATA'));
    }
    return;
  }
  const r = await c.ch.readReply(t, c.req.signal);
  const garbage = r.lines.filter((l) => !REPLY_LINE.test(l));
  if (garbage.length > 0) {
    // Postfix (smtp_chat_resp) warns "non-ESMTP response" and takes the next well-formed reply.
    // With QUIT pipelined behind the dot, that reply may be QUIT's (221, or Haraka's 503), so it
    // is never a delivery result: defer (a possible duplicate, never a loss or a false bounce).
    c.ch.info(`warning: non-ESMTP response: ${escapeControls(garbage[0] ?? '', 200)}`);
    if (c.quitSent) {
      c.ledger.failAll(
        localFailure(
          'mesg',
          '4.5.0',
          `host ${namaddr(c.ep)} sent a malformed reply to end of DATA: ${escapeControls(r.lines.join(' '), 200)} (QUIT was pipelined; delivery state unknown)`,
          { remoteMta: c.remoteMta, command: 'end of DATA' },
        ),
        true,
      );
      return;
    }
  }
  if (r.code >= 200 && r.code < 300) for (const i of c.ledger.accepted) c.ledger.ok(i, r);
  else c.ledger.failAll(replyFailure('mesg', c.ep, c.remoteMta, r, 'end of DATA'), true);
}

/** A well-formed reply line: three digits, then space, hyphen or the end. */
const REPLY_LINE = /^\d{3}([ -]|$)/;

/** After a write failed mid-body: a reply the server sent before closing still counts. */
async function earlyReply(c: PhaseCtx, e: StreamError): Promise<never | undefined> {
  if (e.kind !== 'eof') throw e;
  const r = await c.ch.readReply(1, c.req.signal).catch(() => undefined);
  if (!r || r.code < 400) throw e;
  c.ledger.failAll(replyFailure('mesg', c.ep, c.remoteMta, r, 'end of DATA'), true);
  return undefined;
}

/** DATA accepted (354): stream the body and the terminator, then read the reply(ies). */
export async function sendDataBody(c: PhaseCtx): Promise<'done' | 'aborted'> {
  c.step.stage = STAGE_BODY;
  let bytes = 0;
  try {
    for await (const chunk of encodeBody(c.req.message, true)) {
      bytes += chunk.length;
      await c.ch.write(chunk, c.req.timeouts.dataXfer, c.req.signal);
    }
    await quitBehindDot(c);
  } catch (e) {
    if (e instanceof BodyNulError) return abortBody(c);
    if (e instanceof StreamError) return (await earlyReply(c, e)) ?? 'aborted';
    throw e;
  }
  c.ch.info(`message body sent: ${bytes} bytes, then "."${c.quitSent ? ' and QUIT' : ''}`);
  await readEndOfData(c);
  return 'done';
}

function abortBody(c: PhaseCtx): 'aborted' {
  c.ledger.failAll(NUL_FAILURE(), true);
  c.ch.info('message body aborted: NUL byte');
  c.ch.destroy();
  return 'aborted';
}

/** BDAT: chunks of normalized (not stuffed) content, the last one with LAST. */
export async function sendBdat(c: PhaseCtx): Promise<'done' | 'aborted' | 'rejected'> {
  c.step.stage = STAGE_BODY;
  const t = c.req.timeouts.dataXfer;
  let held: Buffer | undefined;
  const send = async (chunk: Buffer, last: boolean): Promise<boolean> => {
    const cmd = `BDAT ${chunk.length}${last ? ' LAST' : ''}`;
    await c.ch.write(Buffer.concat([Buffer.from(`${cmd}\r\n`), chunk]), t, c.req.signal, [cmd]);
    if (last) return true;
    const r = await c.ch.readReply(t, c.req.signal);
    if (r.code >= 200 && r.code < 300) return true;
    c.ledger.failAll(replyFailure('mesg', c.ep, c.remoteMta, r, 'BDAT'), true);
    return false;
  };
  try {
    for await (const chunk of rechunk(encodeBody(c.req.message, false), BDAT_CHUNK)) {
      if (held && !(await send(held, false))) return 'rejected';
      held = chunk;
    }
  } catch (e) {
    if (e instanceof BodyNulError) return abortBody(c);
    throw e;
  }
  await send(held ?? Buffer.alloc(0), true);
  await quitBehindDot(c);
  await readEndOfData(c);
  return 'done';
}
