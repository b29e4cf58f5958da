/**
 * What the engine's modules share from their creator: clock, logger, transcript hook, options
 * (including whether sessions keep a history for postmaster notices).
 *
 * Decides: defaults for the connector's dependencies, and where reply warnings go (the logger).
 * Never: holds mutable state.
 */
import type { Socket } from 'node:net';
import type { Clock, Logger, TlsSettings } from '../core/ports.ts';
import { type Endpoint, namaddrport } from '../core/types.ts';
import type { Transcript } from './channel.ts';
import type { TlsOutcome } from './tls-upgrade.ts';

/**
 * Who runs the TLS handshake over a connected socket (default: this process, tls-upgrade.ts).
 * `mxq pool` children use a TLS owner process instead (Postfix tlsproxy), except for a further
 * session of a server the child is busy with (cache/tls-placement.ts): the outcome's socket is
 * then a plaintext local link to the owner, which `carries` recognizes so that such a session
 * may be detached and handed to another process like a plaintext one.
 */
export interface TlsStarter {
  start(
    socket: Socket,
    settings: TlsSettings,
    host: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<TlsOutcome>;
  carries(socket: Socket): boolean;
}

export interface EngineDeps {
  logger?: Logger;
  clock: Clock;
  transcript?: Transcript;
  /** Postfix smtp_skip_quit_response (default true): QUIT's reply is not awaited. */
  skipQuitResponse: boolean;
  tlsStarter?: TlsStarter;
  /** --- notices: keep each session's bounded history for postmaster notices (chat-log.ts). */
  chatLog?: boolean;
}

export interface EngineDepsInput {
  logger?: Logger;
  clock?: Clock;
  transcript?: Transcript;
  skipQuitResponse?: boolean;
  tlsStarter?: TlsStarter;
  chatLog?: boolean;
}

/** Postfix's reply warnings ("<host[addr]:port>: response longer than 2048: ...") to the logger. */
export function replyWarner(d: EngineDeps, ep: Endpoint): ((text: string) => void) | undefined {
  const logger = d.logger;
  if (!logger) return undefined;
  const where = namaddrport(ep);
  return (text) => logger.warn({ endpoint: where }, `${where}: ${text}`);
}

export function engineDeps(d: EngineDepsInput = {}): EngineDeps {
  return {
    clock: d.clock ?? { now: () => Date.now() },
    skipQuitResponse: d.skipQuitResponse ?? true,
    ...(d.logger ? { logger: d.logger } : {}),
    ...(d.transcript ? { transcript: d.transcript } : {}),
    ...(d.tlsStarter ? { tlsStarter: d.tlsStarter } : {}),
    ...(d.chatLog ? { chatLog: true } : {}),
  };
}
