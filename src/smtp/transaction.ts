/**
 * One mail transaction (Postfix smtp_loop): SIZE precheck, MAIL, RCPT×n, DATA or BDAT, with
 * pipelining when offered (4096-byte window of unacknowledged commands) and lock-step otherwise.
 *
 * Decides: the envelope parameters sent, how each reply settles recipients (§5.3), the course
 * corrections (MAIL rejected, no recipient accepted, DATA rejected → RSET; 354 with nothing to
 * send → a bare "."), and the stream failure for whatever is unsettled when the stream breaks.
 * Never: retries, or decides defer versus bounce (core/trouble.ts does).
 */
import type { SessionState, TransactionRequest, TransactionResult } from '../core/ports.ts';
import { namaddr } from '../core/types.ts';
import { type Channel, StreamError } from './channel.ts';
import { mailCommand, rcptCommand, SmtpInputError } from './commands.ts';
import { NUL_FAILURE, type PhaseCtx, STAGE_DOT, sendBdat, sendDataBody } from './data-phase.ts';
import { downgradeFor } from './downgrade-step.ts';
import { localFailure, replyFailure, streamFailure } from './failures.ts';
import { createLedger } from './ledger.ts';

const WINDOW = 4096;
type Cmd = { line: string; kind: 'mail' | 'rcpt' | 'data'; idx: number; stage: string; timeout: number };

function mailLine(s: SessionState, req: TransactionRequest): string {
  const caps = s.capabilities;
  const dsn = caps.DSN !== undefined;
  const requireTls = req.requireTls === true && s.tls.active && caps.REQUIRETLS !== undefined;
  const ret = req.requireTls && !requireTls && req.dsn?.ret ? 'HDRS' : req.dsn?.ret;
  return mailCommand({
    sender: req.sender,
    ...(caps.SIZE !== undefined ? { size: req.size } : {}),
    ...(req.eightBit && caps['8BITMIME'] !== undefined ? { body: '8BITMIME' as const } : {}),
    ...(req.smtputf8 && caps.SMTPUTF8 !== undefined ? { smtputf8: true } : {}),
    ...(requireTls ? { requireTls: true } : {}),
    ...(dsn && ret ? { ret } : {}),
    ...(dsn && req.dsn?.envid !== undefined ? { envid: req.dsn.envid } : {}),
  });
}

/** Builds every command before anything is written; bad recipients fail alone (5.1.3). */
function buildCommands(s: SessionState, req: TransactionRequest, c: PhaseCtx, bdat: boolean): Cmd[] {
  const t = req.timeouts;
  const cmds: Cmd[] = [
    { line: mailLine(s, req), kind: 'mail', idx: -1, stage: 'sending MAIL FROM', timeout: t.mail },
  ];
  const dsn = s.capabilities.DSN !== undefined;
  req.recipients.forEach((r, idx) => {
    try {
      const line = rcptCommand({
        address: r.address,
        ...(dsn && r.notify ? { notify: r.notify } : {}),
        ...(dsn && r.orcpt !== undefined ? { orcpt: r.orcpt } : {}),
      });
      cmds.push({ line, kind: 'rcpt', idx, stage: 'sending RCPT TO', timeout: t.rcpt });
    } catch (e) {
      if (!(e instanceof SmtpInputError)) throw e;
      c.ledger.fail(idx, localFailure('rcpt', '5.1.3', `bad recipient address syntax: ${e.message}`));
    }
  });
  if (!bdat)
    cmds.push({ line: 'DATA', kind: 'data', idx: -1, stage: 'sending DATA command', timeout: t.dataInit });
  return cmds;
}

type Flow = { mailFailed: boolean; dataOk: boolean };

async function readFor(c: PhaseCtx, cmd: Cmd, flow: Flow): Promise<void> {
  c.step.stage = cmd.stage;
  const r = await c.ch.readReply(cmd.timeout, c.req.signal);
  const ok = r.code >= 200 && r.code < 300;
  if (cmd.kind === 'mail') {
    if (!ok) {
      flow.mailFailed = true;
      c.ledger.failAll(replyFailure('mesg', c.ep, c.remoteMta, r, 'MAIL FROM'));
    }
  } else if (cmd.kind === 'rcpt') {
    if (flow.mailFailed) return;
    if (ok) c.ledger.accepted.push(cmd.idx);
    else c.ledger.fail(cmd.idx, replyFailure('rcpt', c.ep, c.remoteMta, r, 'RCPT TO'));
  } else if (r.code >= 300 && r.code < 400) flow.dataOk = true;
  else if (!flow.mailFailed && c.ledger.accepted.length > 0) {
    c.ledger.failAll(replyFailure('mesg', c.ep, c.remoteMta, r, 'DATA'), true);
  }
}

/** Writes the commands, pipelined in windows (one write per window) or lock-step, and reads every reply. */
async function exchange(c: PhaseCtx, cmds: Cmd[], pipelining: boolean, flow: Flow): Promise<void> {
  let batch: Cmd[] = [];
  let bytes = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const first = batch[0] as Cmd;
    c.step.stage = first.stage;
    const lines = batch.map((b) => b.line);
    await c.ch.write(`${lines.join('\r\n')}\r\n`, first.timeout, c.req.signal, lines);
    const sent = batch;
    batch = [];
    bytes = 0;
    for (const p of sent) await readFor(c, p, flow);
  };
  for (const cmd of cmds) {
    if (!pipelining && (flow.mailFailed || (cmd.kind === 'data' && c.ledger.accepted.length === 0))) return;
    const len = cmd.line.length + 2;
    if (batch.length > 0 && bytes + len > WINDOW) await flush();
    batch.push(cmd);
    bytes += len;
    if (!pipelining || cmd.kind === 'data') await flush();
  }
  await flush();
}

async function rset(c: PhaseCtx): Promise<boolean> {
  try {
    await c.ch.write('RSET\r\n', c.req.timeouts.rset, c.req.signal, ['RSET']);
    const r = await c.ch.readReply(c.req.timeouts.rset, c.req.signal);
    return r.code >= 200 && r.code < 300;
  } catch {
    c.ch.destroy();
    return false;
  }
}

async function content(c: PhaseCtx, flow: Flow, bdat: boolean): Promise<boolean> {
  const sendable = !flow.mailFailed && c.ledger.accepted.length > 0;
  if (bdat && sendable) return (await sendBdat(c)) === 'done' || rset(c);
  if (!bdat && flow.dataOk && sendable) return (await sendDataBody(c)) === 'done';
  if (flow.dataOk) {
    c.step.stage = STAGE_DOT;
    await c.ch.write('.\r\n', c.req.timeouts.dataDone, c.req.signal, ['.']);
    await c.ch.readReply(c.req.timeouts.dataDone, c.req.signal);
  }
  return rset(c);
}

export async function runTransaction(
  ch: Channel,
  s: SessionState,
  original: TransactionRequest,
): Promise<TransactionResult> {
  const ep = s.endpoint;
  // --- tls (issue 14): §5.4 8BITMIME downgrade for a server without 8BITMIME ---
  const down = await downgradeFor(s.capabilities, original, ep);
  const req = down.ok ? down.req : original;
  const c: PhaseCtx = {
    ch,
    ep,
    remoteMta: ep.host,
    protocol: s.protocol,
    req,
    ledger: createLedger(req.recipients.length),
    step: { stage: 'sending MAIL FROM' },
    pipelining: s.capabilities.PIPELINING !== undefined,
    quitSent: false,
  };
  const done = (completeSession: boolean, reusable: boolean): TransactionResult => ({
    recipients: c.ledger.final(
      localFailure('stream', '4.3.0', `local data error while talking to ${namaddr(ep)}`),
    ),
    completeSession,
    reusable: reusable && !c.quitSent && ch.usable && !ch.protocolError,
  });
  if (!down.ok) {
    c.ledger.failAll(down.failure);
    return done(true, true);
  }
  if (s.sizeLimit > 0 && req.size > s.sizeLimit) {
    c.ledger.failAll(
      localFailure(
        'mesg',
        '5.3.4',
        `message size ${req.size} exceeds size limit ${s.sizeLimit} of server ${namaddr(ep)}`,
      ),
    );
    return done(true, true);
  }
  if (Buffer.isBuffer(req.message) && req.message.includes(0)) {
    c.ledger.failAll(NUL_FAILURE());
    return done(false, true);
  }
  const bdat = s.capabilities.CHUNKING !== undefined && s.protocol === 'smtp';
  let cmds: Cmd[];
  try {
    cmds = buildCommands(s, req, c, bdat);
  } catch (e) {
    if (!(e instanceof SmtpInputError)) throw e;
    c.ledger.failAll(localFailure('mesg', '5.5.4', `invalid envelope refused before sending: ${e.message}`));
    return done(false, true);
  }
  if (!cmds.some((x) => x.kind === 'rcpt')) return done(false, true);
  try {
    const flow: Flow = { mailFailed: false, dataOk: false };
    await exchange(c, cmds, c.pipelining, flow);
    const clean = await content(c, flow, bdat);
    return done(true, clean);
  } catch (e) {
    ch.destroy();
    if (!(e instanceof StreamError)) {
      // The message source failed (e.g. the body store): §5.6 local data error, never a bounce.
      c.ledger.failAll(localFailure('stream', '4.3.0', `local data error while talking to ${namaddr(ep)}`));
      return done(false, false);
    }
    const f = streamFailure(ep, e.kind, c.step.stage);
    const retry = req.plaintextRetryAllowed && s.tls.active && s.tls.level === 'may' && e.kind !== 'abort';
    if (retry && c.ledger.unsettled().length > 0) f.retryAsPlaintext = true;
    c.ledger.failAll(f);
    return done(false, false);
  }
}
