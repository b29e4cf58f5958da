/**
 * createSmtpConnector: the SmtpConnector port over node:net / node:tls.
 *
 * Decides: wiring only — connect (connect.ts), then a connection whose handshake (handshake.ts)
 * yields a session (session.ts). The transcript hook sees every line sent ('C'), received ('S')
 * and info lines ('I'); AUTH payloads appear as *****. With deps.chatLog each connection keeps
 * its own bounded history (chat-log.ts) for postmaster notices.
 * Never: decides delivery policy; logs credentials.
 */
import type { ConnectParams, ConnectResult, HandshakeParams, SmtpConnector } from '../core/ports.ts';
import { namaddrport } from '../core/types.ts';
import { createChannel } from './channel.ts';
import { createChatLog } from './chat-log.ts';
import { chooseBindAddress, openSocket } from './connect.ts';
import { type EngineDepsInput, engineDeps, replyWarner } from './engine-deps.ts';
import { handshake } from './handshake.ts';

export type SmtpConnectorDeps = EngineDepsInput;

export function createSmtpConnector(deps?: SmtpConnectorDeps): SmtpConnector {
  const d = engineDeps(deps);
  return {
    async connect(p: ConnectParams): Promise<ConnectResult> {
      const warn = (msg: string): void => d.logger?.warn({ endpoint: namaddrport(p.endpoint) }, msg);
      const bind = chooseBindAddress(p, warn);
      if (!bind.ok) return bind;
      const opened = await openSocket(p, bind.address);
      if (!opened.ok) {
        d.transcript?.('I', opened.failure.text);
        return opened;
      }
      d.transcript?.('I', `connected to ${namaddrport(p.endpoint)}`);
      const history = d.chatLog ? createChatLog() : undefined;
      const ch = createChannel(opened.socket, d.transcript, replyWarner(d, p.endpoint), history);
      let used = false;
      return {
        ok: true,
        connection: {
          endpoint: p.endpoint,
          handshake(hp: HandshakeParams) {
            if (used) throw new Error('SmtpConnection.handshake may run once');
            used = true;
            return handshake(ch, hp, p.endpoint, d).then((r) => {
              if (!r.ok) history?.markFailure(r.failure);
              return r;
            });
          },
          close() {
            ch.destroy();
          },
          takeHistory: () => history?.take(),
        },
      };
    },
  };
}
