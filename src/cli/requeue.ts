/**
 * `mxq requeue <queue-id ...|ALL>` (Postfix's postsuper -r): route messages again with the workers'
 * current configuration: deferred jobs are made due now and jobs stored in the old shape (the
 * next-hop chosen at enqueue) are migrated, so relayhost and transportMaps apply (queue/requeue.ts).
 *
 * Decides: the report ("Requeued: N messages (J jobs made due, M migrated)"), --json, a progress
 * bar for many targets (stderr, TTY only), and the exit code: 0, 64 usage, 66 a queue id matched no
 * message, 69/77 Redis trouble (docs/cli.md). A message being delivered right now counts as busy:
 * its next attempt routes afresh anyway.
 * Never: delivers, bounces, touches held messages (mxq release does).
 */
import { EXIT, parseCommand, progressBar } from './cli-kit.ts';
import { checkTargets, targetsOf } from './hold-release.ts';
import { CONNECTION_ARGS, CONNECTION_USAGE, withQueue } from './queue-connection.ts';

const USAGE = `usage: mxq requeue [--json] [--redis URL] [--prefix P] <queue-id ...|ALL>

Requeue messages (postsuper -r): their deferred jobs become due now, and jobs queued by an older
mxq (next-hop chosen at enqueue) are migrated, so the workers' current relayhost and transportMaps
apply. Held messages stay held (mxq release). A job being delivered right now is left to finish.

  --json           print {"requeued": N, "due": J, "migrated": M, "busy": [...], "missing": [...]}
${CONNECTION_USAGE}
exit: 0, 64 usage, 66 a queue id matched no message, 69 Redis unavailable, 77 Redis password
      refused (docs/cli.md)
`;

const SPEC = {
  name: 'requeue',
  usage: USAGE,
  options: { ...CONNECTION_ARGS, json: { type: 'boolean' } },
  positionals: true,
} as const;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(SPEC, argv);
  if (parsed.exit !== undefined) return parsed.exit;
  const bad = checkTargets(SPEC, parsed.positionals);
  if (bad !== undefined) return bad;
  const json = parsed.values.json === true;
  return withQueue('requeue', parsed.values, async (q) => {
    const ids = await targetsOf(parsed.positionals, q);
    const missing: string[] = [];
    const busy: string[] = [];
    let requeued = 0;
    let due = 0;
    let migrated = 0;
    const bar = progressBar('requeueing', ids.length);
    for (const id of ids) {
      const r = await q.requeue(id);
      bar.tick();
      if (r === 'absent') {
        missing.push(id);
        continue;
      }
      if (r.busy > 0) busy.push(id);
      if (r.due + r.migrated > 0) requeued++;
      due += r.due;
      migrated += r.migrated;
    }
    bar.done();
    for (const id of missing) process.stderr.write(`mxq requeue: ${id}: no such message in the queue\n`);
    for (const id of busy)
      process.stderr.write(`mxq requeue: ${id}: a job is being delivered; left to finish\n`);
    if (json) process.stdout.write(`${JSON.stringify({ requeued, due, migrated, busy, missing })}\n`);
    else {
      const s = (n: number) => (n === 1 ? '' : 's');
      process.stdout.write(
        `mxq requeue: Requeued: ${requeued} message${s(requeued)} (${due} job${s(due)} made due, ${migrated} migrated)\n`,
      );
    }
    return missing.length > 0 ? EXIT.NOINPUT : EXIT.OK;
  });
}
