/**
 * `mxq resume <destination>`: lift a destination's suspension now (an operator's or a dead
 * destination's); its window restarts at initialDestinationConcurrency.
 *
 * usage: mxq resume DESTINATION [--redis URL] [--prefix P] [--config FILE]
 * Decides: the output line (says when the destination was not suspended). Exit: 0, 64 usage, 75 Redis.
 */
import { parseArgs } from 'node:util';
import { destinationParams } from '../core/destination.ts';
import { resumeDestination } from '../destinations/lease-store.ts';
import { destinationArg, withDestinations } from './destination-admin.ts';
import { CONNECTION_ARGS } from './queue-connection.ts';

const USAGE = 'usage: mxq resume DESTINATION [--redis URL] [--prefix P] [--config FILE]\n';

export async function run(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
    if (parsed.positionals.length !== 1) throw new Error('give exactly one destination');
  } catch (err) {
    process.stderr.write(`mxq resume: ${(err as Error).message}\n${USAGE}`);
    return 64;
  }
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

function parse(argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, options: { ...CONNECTION_ARGS } });
}
