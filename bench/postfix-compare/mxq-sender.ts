/**
 * The end-to-end workload's sending application for bench/postfix-compare: a separate process
 * calling mxq's send() at full speed while the workers deliver.
 *
 * Decides: the procedure (connect, print "ready", wait for "go" on stdin, keep --inflight send()
 * calls in flight until --count messages are accepted, then write the result file and exit) and
 * what it reports (JSON: each message's queue id with the time its send() call started, ms since
 * the epoch; the process's own CPU ms from "go" to the last acceptance).
 * Never: talks to anything but the Redis given; sends more than --count messages.
 * Run (by main.ts): node bench/postfix-compare/mxq-sender.ts --redis URL --config FILE --count N
 *      --inflight K --body-bytes B --to ADDR --out FILE
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { DeliveryOptionsInput } from '../../src/core/options.ts';
import { createMailQueue } from '../../src/queue/mail-queue.ts';
import { messageOf } from './workloads.ts';

export interface SenderResult {
  sent: Array<[queueId: string, startedAt: number]>;
  cpuMs: number;
}

const { values } = parseArgs({
  options: {
    redis: { type: 'string' },
    config: { type: 'string' },
    count: { type: 'string' },
    inflight: { type: 'string', default: '20' },
    'body-bytes': { type: 'string', default: '2048' },
    to: { type: 'string' },
    out: { type: 'string' },
  },
});
if (values.redis === undefined || values.config === undefined || values.out === undefined)
  throw new Error('--redis, --config and --out are required');
const count = Number(values.count);
const options = JSON.parse(readFileSync(values.config, 'utf8')) as DeliveryOptionsInput;
const q = createMailQueue({ redis: values.redis, options });
const message = messageOf(Number(values['body-bytes']));
const to = [values.to ?? 'rcpt@relay.bench.test'];
// Only the Redis connection is made ready before the go: a warm-up send() would be delivered too.
await q.queueIds();
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line.trim() === 'go') break;
lines.close();
const cpu0 = process.cpuUsage();
const sent: SenderResult['sent'] = [];
let next = 0;
await Promise.all(
  Array.from({ length: Number(values.inflight) }, async () => {
    while (next < count) {
      next++;
      const startedAt = Date.now();
      const r = await q.send({ from: 'bench@source.bench.test', to, message });
      sent.push([r.queueId, startedAt]);
    }
  }),
);
const cpu = process.cpuUsage(cpu0);
const result: SenderResult = { sent, cpuMs: (cpu.user + cpu.system) / 1000 };
writeFileSync(values.out, JSON.stringify(result));
await q.close();
