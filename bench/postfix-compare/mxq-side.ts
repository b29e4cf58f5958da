/**
 * Benchmark side "mxq": a redis-server and N `mxq worker` processes, for bench/postfix-compare.
 *
 * Decides: one fresh redis-server per round (AOF on, `appendfsync` as asked), the worker processes
 * (`node src/cli/main.ts worker`, or one `mxq pool -n N --sharing S` supervisor with its N
 * children; logs discarded as a user piping them elsewhere would), and the delivery-only
 * procedure: pause the BullMQ queue, enqueue with 64 send() calls in flight (the send() of the
 * checkout whose workers run: job options are set at enqueue), start the workers, wait for them
 * to register, resume, and report the pids to measure.
 * Never: talks to anything but its own loopback Redis and the sink given in the options.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { DeliveryOptionsInput } from '../../src/core/options.ts';
import type { createMailQueue, SendInput } from '../../src/queue/mail-queue.ts';
import { type RedisHandle, startRedis } from '../../test/support/redis.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

export interface MxqRound {
  redis: RedisHandle;
  admin: Redis;
  workers: ChildProcess[];
  resume(): Promise<void>;
  /** Redis commands executed so far (INFO commandstats, all commands, those inside Lua included). */
  commands(): Promise<number>;
  /** Journal `at` of every recipient recorded as sent (ms). */
  sentTimes(): Promise<number[]>;
  /** The same by queue id. */
  sentByQueueId(): Promise<Map<string, number[]>>;
  stop(): Promise<void>;
}

export async function commandCount(admin: Redis): Promise<number> {
  const info = await admin.info('commandstats');
  let n = 0;
  for (const m of info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) n += Number(m[1]);
  return n;
}

/** Calls by command name so far (INFO commandstats; commands inside Lua included). */
export async function commandStats(admin: Redis): Promise<Map<string, number>> {
  const info = await admin.info('commandstats');
  return new Map([...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1] ?? '', Number(m[2])]));
}

/** Calls per delivery by command name between two commandStats snapshots (the drain only). */
export function commandBreakdown(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
  deliveries: number,
): string {
  const rows = [...after]
    .map(([k, v]) => [k, (v - (before.get(k) ?? 0)) / deliveries] as const)
    .filter(([, v]) => v >= 0.005)
    .sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((n, [, v]) => n + v, 0);
  return [...rows.map(([k, v]) => `  ${k} ${v.toFixed(2)}`), `  total ${total.toFixed(2)}`].join('\n');
}

/** Enqueue `count` messages on a paused queue and start workers; `resume()` starts the drain. */
export async function prepareMxqRound(p: {
  tmpDir: string;
  fsync: 'everysec' | 'always';
  options: DeliveryOptionsInput;
  processes: number;
  concurrency: number;
  count: number;
  input: (i: number) => SendInput;
  nodeArgs?: string[];
  /** Another checkout whose send() fills the queue and whose src/cli/main.ts runs the workers. */
  workerRoot?: string;
  /** Run one `mxq pool -n processes --sharing S` instead of separate `mxq worker` processes. */
  pool?: { sharing: 'shared' | 'local' };
  /** Append the workers' log (stdout) to this file instead of discarding it (debugging). */
  logFile?: string;
}): Promise<MxqRound> {
  const redis = await startRedis({ args: ['--appendfsync', p.fsync] });
  const admin = new Redis(redis.url, { maxRetriesPerRequest: null });
  const prefix = '{mxq}';
  const bull = new Queue('deliver', { connection: admin, prefix });
  await bull.pause();
  // The jobs are enqueued by the same checkout as the workers: job options (retention) are set here.
  const root = p.workerRoot ?? REPO;
  const mod = (await import(pathToFileURL(join(root, 'src/queue/mail-queue.ts')).href)) as {
    createMailQueue: typeof createMailQueue;
  };
  const q = mod.createMailQueue({ redis: redis.url, options: p.options });
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < p.count) await q.send(p.input(next++));
    }),
  );
  await q.close();
  const cfg = join(p.tmpDir, `mxq-${process.pid}.json`);
  writeFileSync(cfg, JSON.stringify(p.options));
  const main = join(p.workerRoot ?? REPO, 'src/cli/main.ts');
  const common = ['--redis', redis.url, '--concurrency', String(p.concurrency), '--config', cfg];
  common.push('--drain-timeout', '10');
  const out = p.logFile === undefined ? 'ignore' : openSync(p.logFile, 'a');
  const spawnMxq = (args: string[]) =>
    spawn(process.execPath, [...(p.nodeArgs ?? []), main, ...args, ...common], {
      stdio: ['ignore', out, 'inherit'],
      cwd: p.workerRoot ?? REPO,
    });
  const workers =
    p.pool === undefined
      ? Array.from({ length: p.processes }, () => spawnMxq(['worker']))
      : [spawnMxq(['pool', '-n', String(p.processes), '--sharing', p.pool.sharing])];
  const deadline = Date.now() + 30_000;
  while ((await bull.getWorkers()).length < p.processes) {
    if (Date.now() > deadline) throw new Error('mxq workers did not register within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  async function sentByQueueId(): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    const journal = `${prefix}:journal:`;
    let cursor = '0';
    do {
      const [c, keys] = await admin.scan(cursor, 'MATCH', `${journal}*`, 'COUNT', 1000);
      cursor = c;
      const pipe = admin.pipeline();
      for (const k of keys) pipe.hvals(k);
      const replies = (await pipe.exec()) ?? [];
      keys.forEach((k, i) => {
        const at: number[] = [];
        for (const v of (replies[i]?.[1] ?? []) as string[]) {
          const e = JSON.parse(v) as { status?: string; at?: number };
          if (e.status === 'sent' && typeof e.at === 'number') at.push(e.at);
        }
        out.set(k.slice(journal.length), at);
      });
    } while (cursor !== '0');
    return out;
  }
  return {
    redis,
    admin,
    workers,
    resume: () => bull.resume(),
    commands: () => commandCount(admin),
    async sentTimes() {
      return [...(await sentByQueueId()).values()].flat();
    },
    sentByQueueId,
    async stop() {
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((done) => {
              if (w.exitCode !== null || w.signalCode !== null) return done();
              const t = setTimeout(() => w.kill('SIGKILL'), 15_000);
              w.once('exit', () => {
                clearTimeout(t);
                done();
              });
              w.kill('SIGTERM');
            }),
        ),
      );
      await bull.close();
      admin.disconnect();
      await redis.stop();
      rmSync(cfg, { force: true });
    },
  };
}
