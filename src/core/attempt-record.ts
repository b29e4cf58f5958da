/**
 * Recording recipient outcomes during an attempt: classify a failure (trouble.ts), mark the
 * ledger, build the RecipientResult, write the Postfix-style log line and note the hop status.
 *
 * Decides: the result fields (status, dsn, relay, diagnostic, reply, command, Remote-MTA,
 * conn_use, soft_bounce), the log line's tls= field as given by the session, the delays a/b/c/d of §11.1 (a = active − arrival, b = 0, c = attempt
 * start → setup done, d = setup done → now), one info line `<qid>: <reason>` per KEEP'd failure,
 * and the hop status: a throttling failure that deferred a recipient while no session completed.
 * Every settled recipient is reported once to the request's onRecipientFinal, right away.
 * Never: decides which server is final (attempt.ts does) or talks to servers.
 */
import { formatDelaySeconds, formatRecipientLogLine, logStatusWord } from './log-line.ts';
import type { Clock, Logger } from './ports.ts';
import type { RecipientLedger } from './recipients.ts';
import { classifyFailure } from './trouble.ts';
import type { AttemptRequest, DeliveryFailure, RecipientResult, ServerTrace, SmtpReply } from './types.ts';

/** The per-attempt state shared by the loop and the recorder. */
export interface AttemptLog {
  req: AttemptRequest;
  ledger: RecipientLedger;
  log: Logger;
  clock: Clock;
  softBounce: boolean;
  startedAt: number;
  activeTime: number;
  /** Postfix `why`: the last failure seen. */
  why?: DeliveryFailure;
  completeSession: boolean;
  hopStatus?: DeliveryFailure;
  servers: ServerTrace[];
  /** Failures already logged as KEEP info lines (a bulk failure logs once). */
  keptLogged: Set<DeliveryFailure>;
}

export interface MarkContext {
  finalServer: boolean;
  /** "host[addr]:port" of the session, or "none". */
  relay: string;
  /** When MAIL FROM was composed; undefined for failures before it (c = now, d = 0). */
  setupDoneAt?: number;
  connUse?: number;
  /** The tls= feature status of the session (log-line.ts tlsFeatureStatus), when logged. */
  tls?: string;
}

function logResult(a: AttemptLog, result: RecipientResult, ctx: MarkContext): void {
  const now = a.clock.now();
  const setup = ctx.setupDoneAt ?? now;
  const sec = (ms: number) => Math.max(0, ms) / 1000;
  const delaySeconds = sec(now - a.req.arrivalTime);
  const delays: [number, number, number, number] = [
    sec(a.activeTime - a.req.arrivalTime),
    0,
    sec(setup - a.startedAt),
    sec(now - setup),
  ];
  const line = formatRecipientLogLine({
    queueId: a.req.queueId,
    result,
    delaySeconds,
    delays,
    ...(ctx.tls !== undefined ? { tls: ctx.tls } : {}),
  });
  // Postfix's field names (to, relay, delay, delays, dsn, status), as in the text line.
  a.log.info(
    {
      event: 'recipient',
      to: result.recipient.address,
      relay: result.relay,
      delay: formatDelaySeconds(delaySeconds),
      delays: delays.map(formatDelaySeconds).join('/'),
      dsn: result.dsn,
      status: logStatusWord(result),
    },
    line,
  );
}

export function markSent(
  a: AttemptLog,
  index: number,
  reply: SmtpReply,
  ctx: MarkContext & { remoteMta: string; successAction?: 'relayed' | 'delivered' },
): void {
  const result: RecipientResult = {
    recipient: a.ledger.recipient(index),
    status: 'sent',
    dsn: reply.status,
    relay: ctx.relay,
    diagnostic: reply.text,
    reply,
    remoteMta: ctx.remoteMta,
    ...(ctx.connUse !== undefined ? { connUse: ctx.connUse } : {}),
    ...(ctx.successAction !== undefined ? { successAction: ctx.successAction } : {}),
  };
  settle(a, index, result, ctx);
}

/** Mark a recipient DROP with its result: ledger, log line, and the caller's callback. */
function settle(a: AttemptLog, index: number, result: RecipientResult, ctx: MarkContext): void {
  a.ledger.drop(index, result);
  logResult(a, result, ctx);
  a.req.onRecipientFinal?.(result);
}

/** One recipient, one failure: KEEP, defer or bounce (§9.1). */
export function markFailed(a: AttemptLog, index: number, failure: DeliveryFailure, ctx: MarkContext): void {
  a.why = failure;
  const outcome = classifyFailure(failure, { finalServer: ctx.finalServer, softBounce: a.softBounce });
  if (outcome.disposition === 'keep') {
    a.ledger.keep(index);
    if (!a.keptLogged.has(failure)) {
      a.keptLogged.add(failure);
      a.log.info({ event: 'keep', dsn: failure.status }, `${a.req.queueId}: ${failure.text}`);
    }
    return;
  }
  const result: RecipientResult = {
    recipient: a.ledger.recipient(index),
    status: outcome.disposition === 'defer' ? 'deferred' : 'bounced',
    dsn: outcome.status,
    relay: ctx.relay,
    diagnostic: failure.text,
    ...(failure.reply !== undefined ? { reply: failure.reply } : {}),
    ...(failure.command !== undefined ? { command: failure.command } : {}),
    ...(failure.remoteMta !== undefined ? { remoteMta: failure.remoteMta } : {}),
    ...(ctx.connUse !== undefined ? { connUse: ctx.connUse } : {}),
    ...(outcome.softBounced ? { softBounce: true } : {}),
  };
  if (
    outcome.disposition === 'defer' &&
    failure.throttle &&
    !a.completeSession &&
    a.hopStatus === undefined
  ) {
    a.hopStatus = { ...failure, status: outcome.status };
  }
  settle(a, index, result, ctx);
}

/** A bulk failure (sess/site/mesg/misc/stream) for every recipient not yet marked. */
export function markAllUnmarked(a: AttemptLog, failure: DeliveryFailure, ctx: MarkContext): void {
  for (const index of a.ledger.unmarked()) markFailed(a, index, failure, ctx);
}

export function trace(
  a: AttemptLog,
  ep: { host: string; address: string; port: number },
  outcome: string,
): void {
  a.servers.push({ host: ep.host, addr: ep.address, port: ep.port, outcome });
}
