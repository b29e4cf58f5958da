/**
 * `mxq queue`: list the queue like Postfix's mailq.
 *
 * usage: mxq queue [--json] [--redis URL] [--prefix P] [--config FILE]
 * Decides: the mailq layout (queue id with "*" when a job is active, size, arrival, sender, then
 * each pending recipient with its last deferral reason in parentheses) and the JSON shape.
 * Never: changes the queue. Exit: 0, 64 usage, 69 Redis unavailable, 77 password refused.
 */
import type { QueueEntry } from '../queue/mail-queue.ts';
import { EXIT, parseCommand } from './cli-kit.ts';
import { CONNECTION_ARGS, CONNECTION_USAGE, withQueue } from './queue-connection.ts';

function ctime20(ms: number): string {
  const d = new Date(ms);
  const day = d.toLocaleString('en-US', { weekday: 'short' });
  const mon = d.toLocaleString('en-US', { month: 'short' });
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${day} ${mon} ${String(d.getDate()).padStart(2, ' ')} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

const PENDING = new Set(['queued', 'active', 'deferred', 'failed']);

/** mailq text for the given entries. */
export function formatMailq(entries: QueueEntry[]): string {
  if (entries.length === 0) return 'Mail queue is empty\n';
  const lines = ['-Queue ID-      --Size-- ----Arrival Time---- -Sender/Recipient-------'];
  let bytes = 0;
  for (const e of entries) {
    bytes += e.size;
    const id = `${e.queueId}${e.active ? '*' : ' '}`;
    lines.push(
      `${id.padEnd(15)} ${String(e.size).padStart(8)} ${ctime20(e.arrivalTime)}  ${e.sender || 'MAILER-DAEMON'}`,
    );
    let lastReason: string | undefined;
    for (const r of e.recipients.filter((x) => PENDING.has(x.status))) {
      if (r.reason !== undefined && r.reason !== lastReason) lines.push(`(${r.reason})`);
      lastReason = r.reason;
      lines.push(`${' '.repeat(45)}${r.address}`);
    }
    lines.push('');
  }
  const kbytes = Math.ceil(bytes / 1024);
  lines.push(`-- ${kbytes} Kbytes in ${entries.length} Request${entries.length === 1 ? '' : 's'}.`);
  return `${lines.join('\n')}\n`;
}

const USAGE = `usage: mxq queue [--json] [--redis URL] [--prefix P] [--config FILE]

List the queue like mailq: queue id ("*" while being delivered), size, arrival time, sender, then
each pending recipient with its last deferral reason in parentheses.

  --json           print the entries as JSON
${CONNECTION_USAGE}
exit: 0, 64 usage, 69 Redis unavailable, 77 Redis password refused (docs/cli.md)
`;

const SPEC = {
  name: 'queue',
  usage: USAGE,
  options: { ...CONNECTION_ARGS, json: { type: 'boolean' } },
} as const;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(SPEC, argv);
  if (parsed.exit !== undefined) return parsed.exit;
  const values = parsed.values;
  return withQueue('queue', values, async (q) => {
    const entries = await q.list();
    process.stdout.write(values.json ? `${JSON.stringify(entries, null, 2)}\n` : formatMailq(entries));
    return EXIT.OK;
  });
}
