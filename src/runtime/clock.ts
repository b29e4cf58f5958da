/**
 * The real Clock: wall-clock milliseconds since the epoch.
 *
 * Decides: nothing. Never: caches or adjusts time.
 */
import type { Clock } from '../core/ports.ts';

export function systemClock(): Clock {
  return { now: () => Date.now() };
}
