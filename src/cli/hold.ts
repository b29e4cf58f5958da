/**
 * `mxq hold <queue-id ...|ALL>`: postsuper -h (hold-release.ts does the work).
 * Decides: nothing of its own. Never: interrupts an active delivery.
 */
import { runVerb } from './hold-release.ts';

export const run = (argv: string[]): Promise<number> => runVerb('hold', argv);
