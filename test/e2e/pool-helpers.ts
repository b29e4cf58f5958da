/**
 * Helpers of the `mxq pool` scenarios: a real pool process (supervisor + forked children), its
 * JSON log lines, its status (SIGUSR2 → pool-status line).
 *
 * Decides: how a scenario starts a pool (node src/cli/main.ts pool -n N --config ... --redis ...).
 * Never: mocks anything; every wait is bounded.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { until } from '../support/wait.ts';

const MAIN = resolve(import.meta.dirname, '../../src/cli/main.ts');

export interface PoolProcess {
  proc: ChildProcess;
  output(): string;
  /** Every JSON log line so far. */
  lines(): Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

export function spawnPool(p: {
  config: string;
  redis: string;
  prefix: string;
  processes: number;
  extra?: string[];
}): PoolProcess {
  const args = [MAIN, 'pool', '-n', String(p.processes), '--config', p.config, '--redis', p.redis];
  args.push('--prefix', p.prefix, ...(p.extra ?? []));
  const proc = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MXQ_LOG_LEVEL: 'info' },
  });
  let out = '';
  const take = (d: Buffer) => {
    out += d.toString();
  };
  proc.stdout?.on('data', take);
  proc.stderr?.on('data', take);
  const exited = new Promise<number | null>((done) => proc.once('exit', (code) => done(code)));
  return {
    proc,
    output: () => out,
    lines: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    exited,
  };
}

/** Wait until every child of the pool reported running. */
export function poolReady(pool: PoolProcess, processes: number): Promise<true> {
  return until(
    'pool children running',
    async () => {
      const running = new Set(
        pool
          .lines()
          .filter((l) => l.event === 'pool-child-state' && l.state === 'running')
          .map((l) => l.child),
      );
      return running.size >= processes ? true : undefined;
    },
    150_000, // a loaded machine boots node children slowly
  );
}

export interface PoolStatusLine {
  children: Array<{
    index: number;
    pid: number;
    state: string;
    heldJobs: number;
    restarts: number;
    cache?: Record<string, number>;
  }>;
  hostCache: Record<string, number>;
  tlsOwner?: Record<string, number>;
}

/** Ask the pool for its status (SIGUSR2) and return the pool-status line it logs. */
export async function poolStatus(pool: PoolProcess): Promise<PoolStatusLine> {
  const before = pool.lines().filter((l) => l.event === 'pool-status').length;
  pool.proc.kill('SIGUSR2');
  return until(
    'pool-status line',
    async () => {
      const all = pool.lines().filter((l) => l.event === 'pool-status');
      return all.length > before ? (all[all.length - 1] as unknown as PoolStatusLine) : undefined;
    },
    10_000,
  );
}

export async function stopPool(pool: PoolProcess): Promise<number | null> {
  if (pool.proc.exitCode !== null || pool.proc.signalCode !== null) return pool.exited;
  pool.proc.kill('SIGTERM');
  const timer = setTimeout(() => pool.proc.kill('SIGKILL'), 20_000);
  const code = await pool.exited;
  clearTimeout(timer);
  return code;
}
