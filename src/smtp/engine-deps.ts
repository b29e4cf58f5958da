/**
 * What the engine's modules share from their creator: clock, logger, transcript hook, options.
 *
 * Decides: defaults for the connector's dependencies.
 * Never: holds mutable state.
 */
import type { Clock, Logger } from '../core/ports.ts';
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

export function engineDeps(d: EngineDepsInput = {}): EngineDeps {
  return {
    clock: d.clock ?? { now: () => Date.now() },
    skipQuitResponse: d.skipQuitResponse ?? true,
    ...(d.logger ? { logger: d.logger } : {}),
    ...(d.transcript ? { transcript: d.transcript } : {}),
  };
}
