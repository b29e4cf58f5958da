/**
 * `mxq hold` and `mxq release` (Postfix's postsuper -h / -H): take messages out of delivery and
 * put them back.
 *
 * Decides: the targets (queue ids, or ALL in capitals), the report ("Placed on hold: N messages",
 * "Released from hold: N messages"), a progress bar for many targets (stderr, TTY only), --json,
 * and the exit code: 0, 66 a queue id matched no message, 75 a message was being delivered (hold
 * only), 64 usage, 69/77 Redis trouble (docs/cli.md).
 * Never: interrupts an active delivery; bounces anything.
 */
import type { MailQueue } from '../queue/mail-queue.ts';
import { isQueueId } from '../queue/queue-id.ts';
import { EXIT, escapeControls, parseCommand, progressBar, usageError } from './cli-kit.ts';
import { CONNECTION_ARGS, CONNECTION_USAGE, withQueue } from './queue-connection.ts';

type Verb = 'hold' | 'release';

const usage = (verb: Verb) => `usage: mxq ${verb} [--json] [--redis URL] [--prefix P] <queue-id ...|ALL>

${
  verb === 'hold'
    ? 'Put messages on hold (postsuper -h): their waiting and deferred jobs leave delivery until\n`mxq release`. A job being delivered right now finishes first. mxq queue marks them with "!".'
    : 'Release held messages (postsuper -H): their jobs go back to delivery, due now. This also\nreleases jobs the worker held because they kept failing with an error (see mxq show).'
}

  --json           print {"${verb === 'hold' ? 'held' : 'released'}": N, "missing": [...]${verb === 'hold' ? ', "busy": [...]' : ''}}
${CONNECTION_USAGE}
exit: 0, 64 usage, 66 a queue id matched no message, 69 Redis unavailable,${verb === 'hold' ? '\n      75 a message was being delivered,' : ''} 77 Redis password refused (docs/cli.md)
`;

/** Queue ids from the positionals (ALL expands to every queued message). */
export async function targetsOf(positionals: string[], q: MailQueue): Promise<string[]> {
  return positionals.includes('ALL') ? q.queueIds() : positionals;
}

export function checkTargets(
  spec: { name: string; usage: string },
  positionals: string[],
): number | undefined {
  if (positionals.length === 0) return usageError(spec, 'no queue id given (or ALL)');
  for (const t of positionals) {
    if (t === 'ALL') continue;
    if (t.toUpperCase() === 'ALL') return usageError(spec, `"${t}": write ALL in capitals for every message`);
    if (!isQueueId(t))
      return usageError(spec, `"${escapeControls(t)}" is not a queue id (14 letters and digits)`);
  }
  return undefined;
}

export async function runVerb(verb: Verb, argv: string[]): Promise<number> {
  const spec = {
    name: verb,
    usage: usage(verb),
    options: { ...CONNECTION_ARGS, json: { type: 'boolean' } },
    positionals: true,
  } as const;
  const parsed = parseCommand(spec, argv);
  if (parsed.exit !== undefined) return parsed.exit;
  const bad = checkTargets(spec, parsed.positionals);
  if (bad !== undefined) return bad;
  const json = parsed.values.json === true;
  return withQueue(verb, parsed.values, async (q) => {
    const ids = await targetsOf(parsed.positionals, q);
    const missing: string[] = [];
    const busy: string[] = [];
    let done = 0;
    const bar = progressBar(verb === 'hold' ? 'holding' : 'releasing', ids.length);
    for (const id of ids) {
      if (verb === 'hold') {
        const r = await q.hold(id);
        if (r === 'absent') missing.push(id);
        else if (r === 'busy') busy.push(id);
        else if (r === 'held') done++;
      } else {
        const r = await q.release(id);
        if (r === 'absent') missing.push(id);
        else if (r > 0) done++;
      }
      bar.tick();
    }
    bar.done();
    for (const id of missing) process.stderr.write(`mxq ${verb}: ${id}: no such message in the queue\n`);
    for (const id of busy) process.stderr.write(`mxq ${verb}: ${id}: being delivered; not held\n`);
    const what = verb === 'hold' ? 'Placed on hold' : 'Released from hold';
    if (json) {
      const key = verb === 'hold' ? 'held' : 'released';
      process.stdout.write(
        `${JSON.stringify({ [key]: done, missing, ...(verb === 'hold' ? { busy } : {}) })}\n`,
      );
    } else process.stdout.write(`mxq ${verb}: ${what}: ${done} message${done === 1 ? '' : 's'}\n`);
    if (missing.length > 0) return EXIT.NOINPUT;
    return busy.length > 0 ? EXIT.TEMPFAIL : EXIT.OK;
  });
}
