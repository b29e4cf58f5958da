/**
 * `mxq delete <queue-id ...|ALL>`: delete queued mail, like Postfix's postsuper -d.
 *
 * Decides: the report ("Deleted: N messages"; each queue id that matched nothing is named, and
 * messages with a job being delivered right now keep that job and are listed), that only the
 * exact word ALL means everything (`all` is refused, not taken for a queue id), and the exit code:
 * 0 every target deleted, 66 some queue id matched no message, 75 some message was busy,
 * 64 usage, 69/77 Redis trouble (docs/cli.md).
 * Never: interrupts an active delivery.
 */
import { isQueueId } from '../queue/queue-id.ts';
import { EXIT, escapeControls, parseCommand, progressBar, usageError } from './cli-kit.ts';
import { CONNECTION_ARGS, CONNECTION_USAGE, withQueue } from './queue-connection.ts';

const USAGE = `usage: mxq delete [--json] [--redis URL] [--prefix P] <queue-id ...|ALL>

Delete queued messages by queue id (as mxq queue shows them), or every message with ALL
(upper case, as postsuper -d ALL). A job being delivered right now is left to finish.

  --json           print {"deleted": N, "missing": [...], "busy": [...]}
${CONNECTION_USAGE}
exit: 0 deleted, 64 usage, 66 a queue id matched no message, 69 Redis unavailable,
      75 a message was being delivered, 77 Redis password refused (docs/cli.md)
`;

const SPEC = {
  name: 'delete',
  usage: USAGE,
  options: { ...CONNECTION_ARGS, json: { type: 'boolean' } },
  positionals: true,
} as const;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(SPEC, argv);
  if (parsed.exit !== undefined) return parsed.exit;
  const targets = parsed.positionals;
  const json = parsed.values.json === true;
  if (targets.length === 0) return usageError(SPEC, 'no queue id given (or ALL)');
  for (const t of targets) {
    if (t === 'ALL') continue;
    if (t.toUpperCase() === 'ALL')
      return usageError(SPEC, `"${t}": write ALL in capitals to delete every message`);
    if (!isQueueId(t))
      return usageError(SPEC, `"${escapeControls(t)}" is not a queue id (14 letters and digits)`);
  }
  return withQueue('delete', parsed.values, async (q) => {
    let deleted = 0;
    const busy: string[] = [];
    const missing: string[] = [];
    const bar = progressBar('deleting', targets.length);
    for (const t of targets) {
      const r = await q.removeReport(t);
      deleted += r.deleted;
      busy.push(...r.busy);
      if (t !== 'ALL' && r.deleted === 0 && !r.busy.includes(t)) missing.push(t);
      bar.tick();
    }
    bar.done();
    if (json) process.stdout.write(`${JSON.stringify({ deleted, missing, busy })}\n`);
    for (const id of missing) process.stderr.write(`mxq delete: ${id}: no such message in the queue\n`);
    for (const id of busy) {
      process.stderr.write(
        `mxq delete: ${id}: being delivered; its other jobs were removed, the active one was left\n`,
      );
    }
    if (!json) process.stdout.write(`mxq delete: Deleted: ${deleted} message${deleted === 1 ? '' : 's'}\n`);
    if (busy.length > 0) return EXIT.TEMPFAIL;
    return missing.length > 0 ? EXIT.NOINPUT : EXIT.OK;
  });
}
