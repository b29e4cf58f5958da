/**
 * Enqueue throughput and Redis memory per queued message.
 *
 * usage: node bench/enqueue-throughput.ts [--count N] [--seconds S] [--concurrency C]
 * Starts its own redis-server (test/support/redis.ts; no persistence), then for 2 KB messages with
 * 1 recipient, 10 recipients at one domain (1 job) and 10 recipients at 10 domains (10 jobs):
 * messages/s with sequential `await send()` and with C concurrent sends, and the INFO memory
 * used_memory delta per queued message. Every run is bounded by count and time.
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { createMailQueue, type MailQueue, type SendInput } from '../src/queue/mail-queue.ts';
import { startRedis } from '../test/support/redis.ts';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '3000' },
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '64' },
  },
});
const MAX_COUNT = Number(values.count);
const MAX_MS = Number(values.seconds) * 1000;
const CONCURRENCY = Number(values.concurrency);

const body = Buffer.from(
  `Subject: bench\r\nFrom: a@bench.test\r\n\r\n${'x'.repeat(76)}\r\n`.padEnd(2048, 'y'),
);
const shapes: Array<{ name: string; to: string[] }> = [
  { name: '1 rcpt', to: ['r0@d0.test'] },
  { name: '10 rcpt, 1 domain', to: Array.from({ length: 10 }, (_, i) => `r${i}@d0.test`) },
  { name: '10 rcpt, 10 domains', to: Array.from({ length: 10 }, (_, i) => `r${i}@d${i}.test`) },
];

async function usedMemory(admin: Redis): Promise<number> {
  const info = await admin.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

async function sequential(q: MailQueue, input: SendInput): Promise<{ n: number; ms: number }> {
  const t0 = performance.now();
  let n = 0;
  while (n < MAX_COUNT && performance.now() - t0 < MAX_MS) {
    await q.send(input);
    n++;
  }
  return { n, ms: performance.now() - t0 };
}

async function concurrent(q: MailQueue, input: SendInput): Promise<{ n: number; ms: number }> {
  const t0 = performance.now();
  let n = 0;
  while (n < MAX_COUNT && performance.now() - t0 < MAX_MS) {
    const batch = Math.min(CONCURRENCY, MAX_COUNT - n);
    await Promise.all(Array.from({ length: batch }, () => q.send(input)));
    n += batch;
  }
  return { n, ms: performance.now() - t0 };
}

async function main(): Promise<void> {
  const redis = await startRedis({ appendonly: false });
  const admin = new Redis(redis.url);
  const q = createMailQueue({ redis: redis.url });
  const rows: string[][] = [];
  try {
    for (const shape of shapes) {
      const input: SendInput = { from: 'a@bench.test', to: shape.to, message: body };
      await admin.flushall();
      const seq = await sequential(q, input);
      await admin.flushall();
      const before = await usedMemory(admin);
      const con = await concurrent(q, input);
      const perMsg = ((await usedMemory(admin)) - before) / con.n;
      rows.push([
        shape.name,
        `${Math.round((seq.n / seq.ms) * 1000)}`,
        `${Math.round((con.n / con.ms) * 1000)}`,
        `${(perMsg / 1024).toFixed(1)} KiB`,
        `${seq.n}/${con.n}`,
      ]);
    }
  } finally {
    await q.close();
    admin.disconnect();
    await redis.stop();
  }
  const head = [
    'message (2 KB)',
    'msg/s sequential',
    `msg/s ${CONCURRENCY} concurrent`,
    'Redis mem/msg',
    'count seq/conc',
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  console.log(
    `node ${process.version}, ${(await import('node:os')).cpus().length} CPUs; bounds: ${MAX_COUNT} msgs or ${MAX_MS / 1000} s per run`,
  );
}

await main();
