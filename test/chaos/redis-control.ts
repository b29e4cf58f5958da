/**
 * Redis faults for the chaos suite: kill -9 and restart the same redis-server (same port, same
 * dir, AOF on) and freeze/thaw it with SIGSTOP/SIGCONT.
 *
 * Decides: how a restarted server is started (the same arguments as test/support/redis.ts).
 * Never: touches a Redis it did not start.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import type { RedisHandle } from '../support/redis.ts';
import { until } from '../support/wait.ts';

export interface RedisControl {
  pid(): number;
  kill9(): Promise<void>;
  restart(): Promise<void>;
  freeze(): void;
  thaw(): void;
  /** Kill whatever server this control started (the original is stopped by its handle). */
  stop(): Promise<void>;
}

export function redisControl(h: RedisHandle, extraArgs: string[] = []): RedisControl {
  let current: ChildProcess | undefined;
  let pid = h.pid;
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  return {
    pid: () => pid,
    async kill9() {
      process.kill(pid, 'SIGKILL');
      await until('redis-server gone', async () => (alive() ? undefined : true), 10_000);
    },
    async restart() {
      const args = ['--bind', h.host, '--port', String(h.port), '--dir', h.dir, '--daemonize', 'no'];
      args.push('--appendonly', 'yes', '--save', '', ...extraArgs);
      current = spawn('redis-server', args, { stdio: 'ignore' });
      pid = current.pid ?? 0;
      const probe = new Redis(h.url, {
        lazyConnect: true,
        maxRetriesPerRequest: 1,
        retryStrategy: () => null,
      });
      probe.on('error', () => {});
      try {
        await until(
          'restarted redis answers',
          async () => {
            try {
              if (probe.status !== 'ready') await probe.connect();
              return (await probe.ping()) === 'PONG' ? true : undefined;
            } catch {
              probe.disconnect();
              return undefined;
            }
          },
          15_000,
        );
      } finally {
        probe.disconnect();
      }
    },
    freeze() {
      process.kill(pid, 'SIGSTOP');
    },
    thaw() {
      process.kill(pid, 'SIGCONT');
    },
    async stop() {
      const p = current;
      if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
      await new Promise<void>((done) => {
        p.once('exit', () => done());
        p.kill('SIGKILL');
      });
    },
  };
}
