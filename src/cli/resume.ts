/**
 * `mxq resume <destination>`: lift a destination's suspension now (an operator's or a dead
 * destination's); its window restarts at initialDestinationConcurrency.
 *
 * usage: mxq resume DESTINATION [--redis URL] [--prefix P] [--config FILE]
 * Decides: the output line (says when the destination was not suspended). Exit: 0, 64 usage, 69 Redis unreachable, 77 auth, 78 bad --config.
 */
import { destinationParams } from '../core/destination.ts';
import { resumeDestination } from '../destinations/lease-store.ts';
import { parseCommand, usageError } from './cli-kit.ts';
import { destinationArg, withDestinations } from './destination-admin.ts';
import { CONNECTION_ARGS } from './queue-connection.ts';

const USAGE = 'usage: mxq resume DESTINATION [--redis URL] [--prefix P] [--config FILE]\n';

export async function run(argv: string[]): Promise<number> {
  const spec = { name: 'resume', usage: USAGE, positionals: true, options: { ...CONNECTION_ARGS } } as const;
  const parsed = parseCommand(spec, argv);
  if (parsed.exit !== undefined) return parsed.exit;
  if (parsed.positionals.length !== 1) return usageError(spec, 'give exactly one destination');
  const dest = destinationArg(parsed.positionals[0] ?? '');
  return withDestinations('resume', parsed.values, async ({ redis, prefix, opts }) => {
    const was = await resumeDestination(
      redis,
      prefix,
      dest,
      destinationParams(dest, opts).initialConcurrency,
    );
    process.stdout.write(`mxq resume: ${dest} ${was ? 'resumed' : 'was not suspended'}\n`);
    return 0;
  });
}
