/**
 * Cost of the pool-wide destination lease per message.
 *
 * usage: node bench/destination-lease.ts [--count N] [--seconds S] [--rounds R]
 * Starts its own redis-server (no persistence) and a loopback SMTP sink, then:
 *  1. the lease alone: acquire + release pairs (2 Redis round trips, Lua), sequential and with 20
 *     holders in flight on one destination: µs per pair and pairs/s;
 *  2. in context: one in-process worker (concurrency 20, relayhost = the sink) delivers N queued
 *     one-recipient messages with destinationLeases on and off (limit = initial window = 20, so
 *     slow start does not differ); rounds interleaved, median reported, ms per message.
 * Every run is bounded by count and time; traffic stays on loopback.
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { destinationParams } from '../src/core/destination.ts';
import { resolveOptions } from '../src/core/options.ts';
import { createLeaseStore } from '../src/destinations/lease-store.ts';
import { createMailQueue } from '../src/queue/mail-queue.ts';
import { createLogger } from '../src/runtime/logger.ts';
import { createWorker } from '../src/workers/wiring.ts';
import { startCountingSink } from '../test/support/counting-sink.ts';
import { startRedis } from '../test/support/redis.ts';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '60' },
    rounds: { type: 'string', default: '3' },
  },
});
const COUNT = Number(values.count);
const MAX_MS = Number(values.seconds) * 1000;
const ROUNDS = Number(values.rounds);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function leaseAlone(url: string): Promise<void> {
  const redis = new Redis(url);
  const store = createLeaseStore(redis, '{bench}');
  const p = destinationParams('smtp:bench.test', resolveOptions({ initialDestinationConcurrency: 20 }));
  let id = 0;
  const pair = async () => {
    const lease = `l${id++}`;
    const g = await store.acquire('smtp:bench.test', lease, p, Date.now());
    if (g.kind === 'granted') await store.release('smtp:bench.test', lease, p, { kind: 'ok' }, Date.now());
  };
  for (let i = 0; i < 500; i++) await pair();
  let t0 = performance.now();
  let n = 0;
  while (n < COUNT * 5 && performance.now() - t0 < MAX_MS / 4) {
    await pair();
    n++;
  }
  const seqMs = performance.now() - t0;
  console.log(
    `lease alone, sequential: ${n} pairs, ${((seqMs * 1000) / n).toFixed(0)} µs/pair, ${((n * 1000) / seqMs).toFixed(0)} pairs/s`,
  );
  t0 = performance.now();
  n = 0;
  while (n < COUNT * 5 && performance.now() - t0 < MAX_MS / 4) {
    await Promise.all(Array.from({ length: 20 }, pair));
    n += 20;
  }
  const parMs = performance.now() - t0;
  console.log(`lease alone, 20 in flight: ${n} pairs, ${((n * 1000) / parMs).toFixed(0)} pairs/s`);
  redis.disconnect();
}

async function deliverRun(url: string, sinkPort: number, leases: boolean, round: number): Promise<number> {
  const prefix = `{b${round}${leases ? 'l' : 'n'}}`;
  const options = {
    myhostname: 'bench.test',
    relayhost: `[127.0.0.1]:${sinkPort}`,
    smtpTlsSecurityLevel: 'none' as const,
    dnsServers: ['127.0.0.1:9'],
    destinationLeases: leases,
    defaultDestinationConcurrencyLimit: 20,
    initialDestinationConcurrency: 20,
  };
  const mq = createMailQueue({ redis: url, prefix });
  for (let i = 0; i < COUNT; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, COUNT - i) }, (_, j) =>
        mq.send({ from: 'a@bench.test', to: [`r${i + j}@far.invalid`], message: 'Subject: b\r\n\r\nx\r\n' }),
      ),
    );
  }
  const admin = new Redis(url);
  const w = createWorker({
    redisUrl: url,
    prefix,
    concurrency: 20,
    options,
    logger: createLogger({ level: 'silent' }),
  });
  const t0 = performance.now();
  w.start();
  const deadline = t0 + MAX_MS;
  for (;;) {
    const left = await admin.zcard(`${prefix}:index`);
    if (left === 0 || performance.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const ms = performance.now() - t0;
  await w.close();
  await mq.close();
  admin.disconnect();
  return ms / COUNT;
}

async function main(): Promise<void> {
  const redis = await startRedis({ appendonly: false });
  const sink = await startCountingSink({ host: '127.0.0.1' });
  try {
    await leaseAlone(redis.url);
    const on: number[] = [];
    const off: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      off.push(await deliverRun(redis.url, sink.port, false, r));
      on.push(await deliverRun(redis.url, sink.port, true, r));
    }
    const mOn = median(on);
    const mOff = median(off);
    console.log(
      `delivered, leases off: ${mOff.toFixed(3)} ms/msg (${(1000 / mOff).toFixed(0)} msg/s) rounds ${off.map((x) => x.toFixed(3)).join(' ')}`,
    );
    console.log(
      `delivered, leases on:  ${mOn.toFixed(3)} ms/msg (${(1000 / mOn).toFixed(0)} msg/s) rounds ${on.map((x) => x.toFixed(3)).join(' ')}`,
    );
    console.log(
      `lease cost per message: ${(mOn - mOff).toFixed(3)} ms (${(((mOn - mOff) / mOff) * 100).toFixed(1)}%)`,
    );
  } finally {
    await sink.stop();
    await redis.stop();
  }
}

await main();
