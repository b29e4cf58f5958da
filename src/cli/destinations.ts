/**
 * `mxq destinations [--json]`: the pool-wide state of every destination used in the last 7 days:
 * leases in use, concurrency limit and current window, rate delay, suspended until and why.
 *
 * usage: mxq destinations [--json] [--redis URL] [--prefix P] [--config FILE]
 * Decides: the table layout and JSON shape (one object per destination). Limits and rate come from
 * the options in --config (the workers' configuration file), else Postfix's defaults.
 * Never: changes anything. Exit: 0, 64 usage, 69 Redis unreachable, 77 auth, 78 bad --config.
 */
import { destinationParams } from '../core/destination.ts';
import { listDestinations } from '../destinations/lease-store.ts';
import { parseCommand } from './cli-kit.ts';
import { withDestinations } from './destination-admin.ts';
import { CONNECTION_ARGS } from './queue-connection.ts';

const USAGE = 'usage: mxq destinations [--json] [--redis URL] [--prefix P] [--config FILE]\n';

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(
    { name: 'destinations', usage: USAGE, options: { ...CONNECTION_ARGS, json: { type: 'boolean' } } },
    argv,
  );
  if (parsed.exit !== undefined) return parsed.exit;
  const values = parsed.values;
  return withDestinations('destinations', values, async ({ redis, prefix, opts }) => {
    const now = Date.now();
    const rows = (await listDestinations(redis, prefix, now)).map((s) => {
      const p = destinationParams(s.destination, opts);
      return {
        destination: s.destination,
        leasesInUse: s.leasesInUse,
        limit: p.concurrencyLimit,
        window: s.window,
        rateDelayMs: p.rateDelayMs,
        suspendedUntil: s.suspendedUntil === undefined ? null : new Date(s.suspendedUntil).toISOString(),
        reason: s.reason ?? null,
        lastUsedAt: new Date(s.lastUsedAt).toISOString(),
      };
    });
    if (values.json === true) {
      process.stdout.write(`${JSON.stringify(rows)}\n`);
      return 0;
    }
    if (rows.length === 0) {
      process.stdout.write('mxq destinations: no destination used in the last 7 days\n');
      return 0;
    }
    const head = ['DESTINATION', 'LEASES', 'LIMIT', 'WINDOW', 'RATE-DELAY', 'SUSPENDED-UNTIL', 'REASON'];
    const lines = rows.map((r) => [
      r.destination,
      String(r.leasesInUse),
      String(r.limit),
      String(Math.round(r.window * 100) / 100),
      `${r.rateDelayMs / 1000}s`,
      r.suspendedUntil ?? '-',
      r.reason ?? '',
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
    for (const l of [head, ...lines]) {
      process.stdout.write(
        `${l
          .map((c, i) => (i === l.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
          .join('  ')
          .trimEnd()}\n`,
      );
    }
    return 0;
  });
}
