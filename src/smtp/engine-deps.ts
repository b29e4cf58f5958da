/**
 * What the engine's modules share from their creator: clock, logger, transcript hook, options.
 *
 * Decides: defaults for the connector's dependencies, and where reply warnings go (the logger).
 * Never: holds mutable state.
 */
import type { Clock, Logger } from '../core/ports.ts';
import { type Endpoint, namaddrport } from '../core/types.ts';
import type { Transcript } from './channel.ts';

export interface EngineDeps {
  logger?: Logger;
  clock: Clock;
  transcript?: Transcript;
  /** Postfix smtp_skip_quit_response (default true): QUIT's reply is not awaited. */
  skipQuitResponse: boolean;
}

export interface EngineDepsInput {
  logger?: Logger;
  clock?: Clock;
  transcript?: Transcript;
  skipQuitResponse?: boolean;
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
  };
}
