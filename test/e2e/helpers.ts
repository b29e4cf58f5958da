/**
 * Helpers of the end-to-end scenarios: real `mxq worker` processes, a config file, polling.
 *
 * Decides: how a scenario starts a worker (node src/cli/main.ts worker --config ... --redis ...).
 * Never: mocks anything; every loop is bounded.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import type { DeliveryOptionsInput } from '../../src/core/options.ts';
import { type DeliveryEvent, decodeDeliveryEvent } from '../../src/queue/job-schema.ts';
import { until } from '../support/wait.ts';

export { until };

const MAIN = resolve(import.meta.dirname, '../../src/cli/main.ts');

export async function writeConfig(options: DeliveryOptionsInput): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mxq-e2e-'));
  const path = join(dir, 'config.json');
  await writeFile(path, JSON.stringify(options));
  return path;
}

export interface WorkerProcess {
  proc: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** Start `mxq worker` as its own process. */
export function spawnWorker(p: {
  config: string;
  redis: string;
  prefix: string;
  extra?: string[];
}): WorkerProcess {
  const args = [MAIN, 'worker', '--config', p.config, '--redis', p.redis, '--prefix', p.prefix];
  args.push('--lock-duration', '2', '--stalled-interval', '1', ...(p.extra ?? []));
  const proc = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MXQ_LOG_LEVEL: 'info' },
  });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-200_000);
  });
  proc.stderr?.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-200_000);
  });
  const exited = new Promise<number | null>((done) => proc.once('exit', (code) => done(code)));
  return { proc, output: () => out, exited };
}

/** Wait until the worker logged that it started. */
export function workerReady(w: WorkerProcess): Promise<true> {
  return until(
    'worker started',
    async () => (w.output().includes('"worker-started"') ? true : undefined),
    15_000,
  );
}

export async function stopWorker(w: WorkerProcess): Promise<void> {
  if (w.proc.exitCode !== null || w.proc.signalCode !== null) return;
  w.proc.kill('SIGKILL');
  await w.exited;
}

export async function eventsOf(redis: Redis, key: string, queueId: string): Promise<DeliveryEvent[]> {
  const entries = await redis.xrange(key, '-', '+');
  return entries.map(([, f]) => decodeDeliveryEvent(f)).filter((e) => e.queueId === queueId);
}
