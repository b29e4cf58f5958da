/**
 * `mxq queue`: list the queue like Postfix's mailq.
 *
 * usage: mxq queue [--json] [--redis URL] [--prefix P] [--config FILE]
 * Decides: the mailq layout (queue id with "*" when a job is active, size, arrival, sender, then
 * each pending recipient with its last deferral reason in parentheses) and the JSON shape.
 * Never: changes the queue. Exit: 0, 64 usage, 69 Redis unavailable, 77 password refused.
 */

import { parseDurationMs } from '../core/options.ts';
import type { QueueEntry } from '../queue/mail-queue.ts';
import { EXIT, parseCommand, usageError } from './cli-kit.ts';
import { CONNECTION_ARGS, CONNECTION_USAGE, withQueue } from './queue-connection.ts';

function ctime20(ms: number): string {
  const d = new Date(ms);
  const day = d.toLocaleString('en-US', { weekday: 'short' });
  const mon = d.toLocaleString('en-US', { month: 'short' });
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${day} ${mon} ${String(d.getDate()).padStart(2, ' ')} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

const PENDING = new Set(['queued', 'active', 'deferred', 'failed', 'held']);

/** mailq text for the given entries. */
export function formatMailq(entries: QueueEntry[]): string {
  if (entries.length === 0) return 'Mail queue is empty\n';
  const lines = ['-Queue ID-      --Size-- ----Arrival Time---- -Sender/Recipient-------'];
  let bytes = 0;
  for (const e of entries) {
    bytes += e.size;
    // mailq's marks: "*" a job is being delivered, "!" held (postsuper -h).
    const id = `${e.queueId}${e.active ? '*' : e.held === true ? '!' : ' '}`;
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

const USAGE = `usage: mxq queue [filters] [--json] [--redis URL] [--prefix P] [--config FILE]

List the queue like mailq: queue id ("*" while being delivered, "!" when held), size, arrival
time, sender, then each pending recipient with its last deferral reason in parentheses.

  --state S        only messages with a recipient in state S: queued, active, deferred, held, failed
  --destination D  only messages with a pending recipient at domain D (or a subdomain of it)
  --sender A       only messages from sender A ("" or MAILER-DAEMON for the null sender)
  --older-than T   only messages older than T (seconds, or "30m", "2h", "5d")
  --json           print the entries as JSON
${CONNECTION_USAGE}
exit: 0, 64 usage, 69 Redis unavailable, 77 Redis password refused (docs/cli.md)
`;

const SPEC = {
  name: 'queue',
  usage: USAGE,
  options: {
    ...CONNECTION_ARGS,
    json: { type: 'boolean' },
    state: { type: 'string' },
    destination: { type: 'string' },
    sender: { type: 'string' },
    'older-than': { type: 'string' },
  },
} as const;

const STATES = ['queued', 'active', 'deferred', 'held', 'failed'];

interface Filters {
  state?: string | undefined;
  destination?: string | undefined;
  sender?: string | undefined;
  'older-than'?: string | undefined;
}

/** The entry filter for the flags, or a usage problem text. */
export function entryFilter(v: Filters, now: number): ((e: QueueEntry) => boolean) | string {
  if (v.state !== undefined && !STATES.includes(v.state))
    return `--state: must be one of ${STATES.join(', ')}`;
  let maxArrival = Number.POSITIVE_INFINITY;
  if (v['older-than'] !== undefined) {
    try {
      maxArrival = now - parseDurationMs(v['older-than'], '--older-than');
    } catch (err) {
      return (err as Error).message;
    }
  }
  const dest = v.destination?.toLowerCase().replace(/^\./, '');
  const sender = v.sender === 'MAILER-DAEMON' ? '' : v.sender?.toLowerCase();
  return (e) => {
    if (e.arrivalTime > maxArrival) return false;
    if (sender !== undefined && e.sender.toLowerCase() !== sender) return false;
    const pending = e.recipients.filter((r) => PENDING.has(r.status));
    if (v.state !== undefined && !pending.some((r) => r.status === v.state)) return false;
    if (dest !== undefined) {
      const at = (a: string) => a.slice(a.lastIndexOf('@') + 1).toLowerCase();
      if (!pending.some((r) => at(r.address) === dest || at(r.address).endsWith(`.${dest}`))) return false;
    }
    return true;
  };
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(SPEC, argv);
  if (parsed.exit !== undefined) return parsed.exit;
  const values = parsed.values;
  const filter = entryFilter(values, Date.now());
  if (typeof filter === 'string') return usageError(SPEC, filter);
  return withQueue('queue', values, async (q) => {
    const entries = await q.list(filter);
    process.stdout.write(values.json ? `${JSON.stringify(entries, null, 2)}\n` : formatMailq(entries));
    return EXIT.OK;
  });
}
