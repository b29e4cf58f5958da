/**
 * `mxq flush`: make every deferred delivery due now, like Postfix's postqueue -f.
 *
 * Decides: the output line. Never: delivers anything itself.
 * Exit: 0, 64 usage, 69 Redis unavailable, 77 Redis password refused (docs/cli.md).
 */
import { EXIT, parseCommand } from './cli-kit.ts';
import { CONNECTION_ARGS, CONNECTION_USAGE, withQueue } from './queue-connection.ts';

const USAGE = `usage: mxq flush [--json] [--redis URL] [--prefix P]

Make every deferred job due now (postqueue -f); workers pick them up at once.

  --json           print {"flushed": N}
${CONNECTION_USAGE}
exit: 0, 64 usage, 69 Redis unavailable, 77 Redis password refused (docs/cli.md)
`;

const SPEC = {
  name: 'flush',
  usage: USAGE,
  options: { ...CONNECTION_ARGS, json: { type: 'boolean' } },
} as const;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(SPEC, argv);
  if (parsed.exit !== undefined) return parsed.exit;
  const json = parsed.values.json === true;
  return withQueue('flush', parsed.values, async (q) => {
    const n = await q.flush();
    process.stdout.write(
      json
        ? `${JSON.stringify({ flushed: n })}\n`
        : `mxq flush: ${n} deferred job${n === 1 ? '' : 's'} made due\n`,
    );
    return EXIT.OK;
  });
}
