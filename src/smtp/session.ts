/**
 * A greeted SMTP/LMTP session (SmtpSession): transactions, RSET, QUIT, usability, and resuming on
 * a socket handed over from another process without a new greeting or EHLO.
 *
 * Decides: reuse count and timestamps, when a session is usable (open, no stray byte or EOF while
 * idle, no broken transaction), whether QUIT's reply is awaited (deps.skipQuitResponse).
 * Never: caches itself (src/cache does); throws for protocol or I/O errors.
 */
import type { Socket } from 'node:net';
import type { SessionState, SmtpSession, TransactionRequest, TransactionResult } from '../core/ports.ts';
import { type Channel, createChannel } from './channel.ts';
import { createChatLog } from './chat-log.ts';
import { type EngineDeps, type EngineDepsInput, engineDeps, replyWarner } from './engine-deps.ts';
import { runTransaction } from './transaction.ts';

export type SessionTls = SessionState['tls'];

/** An engine session can hand its plaintext socket over (to another process) with its state. */
export interface DetachableSession extends SmtpSession {
  /**
   * Stop using the socket and return it with a state copy; undefined when not idle, or when TLS
   * is active in this process (a TLS session whose TLS lives in a TLS owner may travel).
   */
  detach(): { socket: Socket; state: SessionState } | undefined;
}

export function isDetachable(s: SmtpSession): s is DetachableSession {
  return typeof (s as Partial<DetachableSession>).detach === 'function';
}

export function createSession(ch: Channel, state: SessionState, deps: EngineDeps): DetachableSession {
  let broken = false;
  let busy = false;
  ch.setIdle(true);
  const session: DetachableSession = {
    state,
    async transaction(req: TransactionRequest): Promise<TransactionResult> {
      busy = true;
      ch.setIdle(false);
      try {
        const res = await runTransaction(ch, state, req);
        if (ch.history) for (const r of res.recipients) if (!r.ok) ch.history.markFailure(r.failure);
        state.lastUsedAt = deps.clock.now();
        if (res.completeSession) state.reuseCount += 1;
        if (!res.reusable) broken = true;
        else ch.setIdle(true);
        return res;
      } finally {
        busy = false;
      }
    },
    async reset(timeoutMs, signal) {
      if (!session.isUsable()) return false;
      ch.setIdle(false);
      try {
        await ch.write('RSET\r\n', timeoutMs, signal, ['RSET']);
        const r = await ch.readReply(timeoutMs, signal);
        const ok = r.code >= 200 && r.code < 300;
        if (ok) ch.setIdle(true);
        else broken = true;
        return ok;
      } catch {
        broken = true;
        ch.destroy();
        return false;
      }
    },
    async quit(timeoutMs) {
      broken = true;
      try {
        await ch.write('QUIT\r\n', timeoutMs, undefined, ['QUIT']);
        if (!deps.skipQuitResponse) await ch.readReply(timeoutMs);
      } catch {
        // A failure after the transaction is settled is not recorded (§5.6).
      }
      ch.socket.end();
      ch.destroy();
    },
    close() {
      broken = true;
      ch.destroy();
    },
    isUsable() {
      return !broken && !busy && ch.usable;
    },
    takeHistory: () => ch.history?.take(),
    detach() {
      const tlsHere = state.tls.active && deps.tlsStarter?.carries(ch.socket) !== true;
      if (tlsHere || !session.isUsable()) return undefined;
      broken = true;
      const socket = ch.detach();
      socket.on('error', () => undefined); // until the new owner listens
      socket.pause();
      return { socket, state: structuredClone(state) };
    },
  };
  return session;
}

/** Continue a session on a socket handed over from another process (no greeting, no EHLO). */
export function resumeSession(
  socket: Socket,
  state: SessionState,
  deps?: EngineDepsInput,
): DetachableSession {
  const d = engineDeps(deps);
  const history = d.chatLog ? createChatLog() : undefined;
  const ch = createChannel(socket, d.transcript, replyWarner(d, state.endpoint), history);
  socket.resume();
  return createSession(ch, state, d);
}
