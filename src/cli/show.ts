/**
 * `mxq show <queue-id>`: one message like Postfix's postcat -q: envelope, headers, and each
 * recipient's state and history (deferrals, final outcome, held jobs with their error).
 *
 * Decides: the text layout (postcat's `*** ENVELOPE RECORDS ***` / `*** HEADER RECORDS ***`
 * sections, then `*** RECIPIENT HISTORY ***`), control bytes escaped, --json, and the exit code:
 * 0, 64 usage, 66 no such message, 69/77 Redis trouble (docs/cli.md).
 * Never: prints the body; changes anything.
 */
import type { ShowReport } from '../queue/mail-queue.ts';
import { isQueueId } from '../queue/queue-id.ts';
import { EXIT, escapeControls, fail, parseCommand, usageError } from './cli-kit.ts';
import { CONNECTION_ARGS, CONNECTION_USAGE, withQueue } from './queue-connection.ts';

const USAGE = `usage: mxq show [--json] [--redis URL] [--prefix P] <queue-id>

Show one queued message like postcat -q: the envelope, the header section, and per recipient its
state (queued, deferred, held, sent, bounced, ...) with every event still in the events stream.
A message that already left the queue shows its recipients' outcomes from the journal.

  --json           print the report as JSON
${CONNECTION_USAGE}
exit: 0, 64 usage, 66 no such message, 69 Redis unavailable, 77 Redis password refused (docs/cli.md)
`;

const SPEC = {
  name: 'show',
  usage: USAGE,
  options: { ...CONNECTION_ARGS, json: { type: 'boolean' } },
  positionals: true,
} as const;

const iso = (ms: number) => new Date(ms).toISOString();

function historyOf(r: ShowReport, address: string): string[] {
  return r.events
    .filter((x) => x.recipient === address)
    .map(
      (e) =>
        `  ${iso(e.at)} ${e.event} relay=${escapeControls(e.relay)}, dsn=${e.dsn} (${escapeControls(e.diagnostic)})`,
    );
}

/** The postcat-like text of a report. */
export function formatShow(r: ShowReport): string {
  const m = r.meta;
  if (m === undefined || r.state === undefined) {
    const out = [`*** ${r.queueId}: no longer queued; outcomes from the journal ***`];
    for (const e of r.journal) {
      out.push(`${escapeControls(e.recipient)}: ${e.status} (${escapeControls(e.diagnostic)})`);
      out.push(...historyOf(r, e.recipient));
    }
    return `${out.join('\n')}\n`;
  }
  const out = ['*** ENVELOPE RECORDS ***'];
  out.push(`message_size: ${m.size}`);
  out.push(`message_arrival_time: ${iso(m.arrivalTime)}`);
  out.push(`sender: ${escapeControls(m.sender)}`);
  if (m.dsn?.envid !== undefined) out.push(`dsn_envid: ${escapeControls(m.dsn.envid)}`);
  if (m.dsn?.ret !== undefined) out.push(`dsn_ret: ${m.dsn.ret}`);
  if (m.smtputf8) out.push('smtputf8: yes');
  if (m.requireTls) out.push('requiretls: yes');
  for (const rc of m.recipients) {
    const extra = [rc.notify ? `notify=${rc.notify.join(',')}` : '', rc.orcpt ? `orcpt=${rc.orcpt}` : '']
      .filter(Boolean)
      .join(' ');
    out.push(`recipient: ${escapeControls(rc.address)}${extra ? ` (${escapeControls(extra)})` : ''}`);
  }
  out.push('*** HEADER RECORDS ***');
  for (const line of r.headers.split(/\r?\n/)) out.push(escapeControls(line, 2000));
  out.push('*** RECIPIENT HISTORY ***');
  for (const rc of r.state.recipients) {
    out.push(
      `${escapeControls(rc.address)}: ${rc.status}${rc.reason ? ` (${escapeControls(rc.reason)})` : ''}`,
    );
    out.push(...historyOf(r, rc.address));
  }
  for (const h of r.held) {
    out.push(
      `held: job ${h.jobId} since ${iso(h.heldAt)}${h.errors ? ` after ${h.errors} errors` : ''}: ${escapeControls(h.reason)} (mxq release ${m.queueId})`,
    );
  }
  return `${out.join('\n')}\n`;
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(SPEC, argv);
  if (parsed.exit !== undefined) return parsed.exit;
  const [id, ...rest] = parsed.positionals;
  if (id === undefined || rest.length > 0) return usageError(SPEC, 'give exactly one queue id');
  if (!isQueueId(id))
    return usageError(SPEC, `"${escapeControls(id)}" is not a queue id (14 letters and digits)`);
  return withQueue('show', parsed.values, async (q) => {
    const report = await q.show(id);
    if (report === undefined) return fail('show', EXIT.NOINPUT, `${id}: no such message in the queue`);
    process.stdout.write(
      parsed.values.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatShow(report),
    );
    return EXIT.OK;
  });
}
