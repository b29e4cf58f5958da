/**
 * The real Random: uniform floats in [0, 1) from the platform PRNG.
 *
 * Decides: nothing. Never: used for secrets (it is not cryptographic).
 */
import type { Random } from '../core/ports.ts';

export function systemRandom(): Random {
  return { next: () => Math.random() };
}
