/**
 * `mxq qshape`: Postfix's qshape: pending recipients by destination domain and age.
 *
 * Decides: the age buckets (qshape's: a column N counts ages below N minutes and at least the
 * previous column's; 5 10 20 40 80 160 320 640 1280 1280+),
 * counting pending recipients (queued, deferred, held, active) by recipient domain, the T column
 * and the TOTAL row, rows sorted by total (largest first), --top N, --json.
 * Exit: 0, 64 usage, 69/77 Redis trouble (docs/cli.md). Never: changes the queue.
 */
import type { QueueEntry } from '../queue/mail-queue.ts';
import { EXIT, parseCommand, usageError } from './cli-kit.ts';
import { CONNECTION_ARGS, CONNECTION_USAGE, withQueue } from './queue-connection.ts';

const USAGE = `usage: mxq qshape [--top N] [--json] [--redis URL] [--prefix P]

The shape of the queue like Postfix's qshape: pending recipients per destination domain in age
buckets (column N: less than N minutes old; 5 10 20 40 80 160 320 640 1280 1280+), largest first.

  --top N          only the N largest destinations (default all)
  --json           print { buckets, rows: [{ domain, total, counts }] }
${CONNECTION_USAGE}
exit: 0, 64 usage, 69 Redis unavailable, 77 Redis password refused (docs/cli.md)
`;

const SPEC = {
  name: 'qshape',
  usage: USAGE,
  options: { ...CONNECTION_ARGS, json: { type: 'boolean' }, top: { type: 'string' } },
} as const;

export const BUCKETS_MIN = [5, 10, 20, 40, 80, 160, 320, 640, 1280];
const PENDING = new Set(['queued', 'active', 'deferred', 'held', 'failed']);

export interface ShapeRow {
  domain: string;
  total: number;
  counts: number[];
}

/** Rows (plus TOTAL first) for the entries at time `now`. */
export function queueShape(entries: QueueEntry[], now: number): ShapeRow[] {
  const rows = new Map<string, ShapeRow>();
  const total: ShapeRow = { domain: 'TOTAL', total: 0, counts: new Array(BUCKETS_MIN.length + 1).fill(0) };
  for (const e of entries) {
    const ageMin = Math.max(0, (now - e.arrivalTime) / 60_000);
    let b = BUCKETS_MIN.findIndex((limit) => ageMin < limit);
    if (b < 0) b = BUCKETS_MIN.length;
    for (const r of e.recipients) {
      if (!PENDING.has(r.status)) continue;
      const domain = (r.address.slice(r.address.lastIndexOf('@') + 1) || r.address).toLowerCase();
      let row = rows.get(domain);
      if (row === undefined) {
        row = { domain, total: 0, counts: new Array(BUCKETS_MIN.length + 1).fill(0) };
        rows.set(domain, row);
      }
      for (const x of [row, total]) {
        x.total++;
        x.counts[b] = (x.counts[b] ?? 0) + 1;
      }
    }
  }
  const sorted = [...rows.values()].sort((a, b) => b.total - a.total || a.domain.localeCompare(b.domain));
  return [total, ...sorted];
}

export function formatShape(rows: ShapeRow[]): string {
  const heads = ['T', ...BUCKETS_MIN.map(String), `${BUCKETS_MIN.at(-1)}+`];
  const width = Math.max(6, ...rows.map((r) => r.domain.length));
  const line = (name: string, cells: Array<string | number>) =>
    `${name.padStart(width)} ${cells.map((c) => String(c).padStart(5)).join(' ')}`;
  return `${[line('', heads), ...rows.map((r) => line(r.domain, [r.total, ...r.counts]))].join('\n')}\n`;
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(SPEC, argv);
  if (parsed.exit !== undefined) return parsed.exit;
  let top = Number.POSITIVE_INFINITY;
  if (parsed.values.top !== undefined) {
    top = Number(parsed.values.top);
    if (!Number.isInteger(top) || top < 1)
      return usageError(SPEC, `--top: not a positive integer: ${parsed.values.top}`);
  }
  return withQueue('qshape', parsed.values, async (q) => {
    const rows = queueShape(await q.list(), Date.now());
    const shown = [rows[0] ?? { domain: 'TOTAL', total: 0, counts: [] }, ...rows.slice(1, 1 + top)];
    process.stdout.write(
      parsed.values.json === true
        ? `${JSON.stringify({ buckets: BUCKETS_MIN, rows: shown })}\n`
        : formatShape(shown),
    );
    return EXIT.OK;
  });
}
