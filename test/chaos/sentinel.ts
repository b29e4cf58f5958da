/**
 * A Redis Sentinel set on loopback for the chaos suite: a primary, one replica and three sentinels
 * (`redis-server <conf> --sentinel`), quorum 2, down-after 1 s, failover timeout 5 s.
 *
 * Decides: the sentinel configuration and the `redis-sentinel://` URL mxq is given.
 * Never: binds beyond 127.0.0.1; leaves processes behind after stop().
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../support/net-util.ts';
import { type RedisHandle, startRedis } from '../support/redis.ts';
import { until } from '../support/wait.ts';

export interface SentinelSet {
  primary: RedisHandle;
  replica: RedisHandle;
  url: string;
  /** host:port of the primary the sentinels announce now. */
  currentPrimary(): Promise<string>;
  stop(): Promise<void>;
}

async function info(port: number, section: string): Promise<string> {
  const c = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  c.on('error', () => {});
  try {
    await c.connect();
    return await c.info(section);
  } catch {
    return '';
  } finally {
    c.disconnect();
  }
}

export async function startSentinelSet(name = 'mxqmaster'): Promise<SentinelSet> {
  const primary = await startRedis();
  const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
  await until(
    'replica in sync',
    async () =>
      (await info(replica.port, 'replication')).includes('master_link_status:up') ? true : undefined,
    20_000,
  );
  const dir = await mkdtemp(join(tmpdir(), 'mxq-sentinel-'));
  const sentinels: Array<{ port: number; proc: ChildProcess }> = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const conf = join(dir, `sentinel-${i}.conf`);
    await writeFile(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    );
    const proc = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    sentinels.push({ port, proc });
  }
  const ask = async (): Promise<string> => {
    for (const s of sentinels) {
      const c = new Redis({
        host: '127.0.0.1',
        port: s.port,
        lazyConnect: true,
        maxRetriesPerRequest: 1,
        retryStrategy: () => null,
      });
      c.on('error', () => {});
      try {
        await c.connect();
        const r = (await c.call('SENTINEL', 'get-master-addr-by-name', name)) as string[] | null;
        if (Array.isArray(r)) return `${r[0]}:${r[1]}`;
      } catch {
        // next sentinel
      } finally {
        c.disconnect();
      }
    }
    return '';
  };
  // every sentinel knows the replica (and the others) before we rely on a failover
  await until(
    'sentinels ready',
    async () => {
      for (const s of sentinels) {
        const text = await info(s.port, 'sentinel');
        if (!/slaves=1,sentinels=3/.test(text)) return undefined;
      }
      return true;
    },
    30_000,
  );
  return {
    primary,
    replica,
    url: `redis-sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${name}`,
    currentPrimary: ask,
    async stop() {
      for (const s of sentinels) {
        if (s.proc.exitCode === null) {
          const gone = new Promise((r) => s.proc.once('exit', r));
          s.proc.kill('SIGKILL');
          await gone;
        }
      }
      await replica.stop();
      await primary.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
