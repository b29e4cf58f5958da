/**
 * `mxq suspend <destination> [--for TIME] [--reason TEXT]`: suspend a destination pool-wide, as
 * if it were dead: its jobs are deferred without connecting ("delivery temporarily suspended:
 * TEXT"); when the time runs out one probe goes first. `mxq resume` lifts it at once.
 *
 * usage: mxq suspend DESTINATION [--for TIME] [--reason TEXT] [--redis URL] [--prefix P] [--config FILE]
 * Decides: the defaults (--for 1h, reason "suspended by operator"). A destination is written as the
 * workers key it (`smtp:example.com`; a bare next-hop means smtp). Exit: 0, 64 usage, 69 Redis unreachable, 77 auth, 78 bad --config.
 */
import { parseDurationMs } from '../core/options.ts';
import { suspendDestination } from '../destinations/lease-store.ts';
import { parseCommand, usageError } from './cli-kit.ts';
import { destinationArg, withDestinations } from './destination-admin.ts';
import { CONNECTION_ARGS } from './queue-connection.ts';

const USAGE =
  'usage: mxq suspend DESTINATION [--for TIME] [--reason TEXT] [--redis URL] [--prefix P] [--config FILE]\n';

export async function run(argv: string[]): Promise<number> {
  const spec = {
    name: 'suspend',
    usage: USAGE,
    positionals: true,
    options: { ...CONNECTION_ARGS, for: { type: 'string' }, reason: { type: 'string' } },
  } as const;
  const parsed = parseCommand(spec, argv);
  if (parsed.exit !== undefined) return parsed.exit;
  let forMs: number;
  try {
    forMs = parseDurationMs(parsed.values.for ?? '1h', '--for');
    if (parsed.positionals.length !== 1) throw new Error('give exactly one destination');
  } catch (err) {
    return usageError(spec, (err as Error).message);
  }
  const dest = destinationArg(parsed.positionals[0] ?? '');
  const reason = parsed.values.reason ?? 'suspended by operator';
  return withDestinations('suspend', parsed.values, async ({ redis, prefix }) => {
    const now = Date.now();
    await suspendDestination(redis, prefix, dest, { until: now + forMs, reason, now });
    process.stdout.write(
      `mxq suspend: ${dest} suspended until ${new Date(now + forMs).toISOString()}: ${reason}\n`,
    );
    return 0;
  });
}
