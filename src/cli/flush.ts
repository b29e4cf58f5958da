/**
 * `mxq flush`: make every deferred delivery due now, like Postfix's postqueue -f.
 *
 * usage: mxq flush [--redis URL] [--prefix P]
 * Decides: the output line. Never: delivers anything itself. Exit: 0, 64 usage, 75 Redis trouble.
 */
import { parseArgs } from 'node:util';
import { CONNECTION_ARGS, withQueue } from './queue-connection.ts';

export async function run(argv: string[]): Promise<number> {
  let values: { redis?: string; prefix?: string; config?: string };
  try {
    values = parseArgs({ args: argv, options: CONNECTION_ARGS }).values;
  } catch (err) {
    process.stderr.write(
      `mxq flush: ${(err as Error).message}\nusage: mxq flush [--redis URL] [--prefix P]\n`,
    );
    return 64;
  }
  return withQueue('flush', values, async (q) => {
    const n = await q.flush();
    process.stdout.write(`mxq flush: ${n} deferred job${n === 1 ? '' : 's'} made due\n`);
    return 0;
  });
}
