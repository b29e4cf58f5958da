/**
 * `mxq delete <queue-id|ALL>`: delete queued mail, like Postfix's postsuper -d.
 *
 * usage: mxq delete [--redis URL] [--prefix P] <queue-id ...|ALL>
 * Decides: the report ("Deleted: N messages"; messages with a job being delivered right now keep
 * that job and are listed). Never: interrupts an active delivery.
 * Exit: 0, 64 usage, 75 Redis trouble or some message was busy.
 */
import { parseArgs } from 'node:util';
import { CONNECTION_ARGS, withQueue } from './queue-connection.ts';

const USAGE = 'usage: mxq delete [--redis URL] [--prefix P] <queue-id ...|ALL>\n';

export async function run(argv: string[]): Promise<number> {
  let parsed: { values: { redis?: string; prefix?: string; config?: string }; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: CONNECTION_ARGS, allowPositionals: true });
  } catch (err) {
    process.stderr.write(`mxq delete: ${(err as Error).message}\n${USAGE}`);
    return 64;
  }
  const targets = parsed.positionals;
  if (targets.length === 0) {
    process.stderr.write(`mxq delete: no queue id given\n${USAGE}`);
    return 64;
  }
  return withQueue('delete', parsed.values, async (q) => {
    let deleted = 0;
    const busy: string[] = [];
    for (const t of targets) {
      const r = await q.removeReport(t);
      deleted += r.deleted;
      busy.push(...r.busy);
    }
    for (const id of busy) {
      process.stderr.write(
        `mxq delete: ${id}: being delivered; its other jobs were removed, the active one was left\n`,
      );
    }
    process.stdout.write(`mxq delete: Deleted: ${deleted} message${deleted === 1 ? '' : 's'}\n`);
    return busy.length > 0 ? 75 : 0;
  });
}
