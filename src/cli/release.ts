/**
 * `mxq release <queue-id ...|ALL>`: postsuper -H (hold-release.ts does the work).
 * Decides: nothing of its own. Never: delivers anything itself.
 */
import { runVerb } from './hold-release.ts';

export const run = (argv: string[]): Promise<number> => runVerb('release', argv);
