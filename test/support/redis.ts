/**
 * A throw-away redis-server for integration tests: 127.0.0.1, a free port, its own temp dir.
 *
 * Decides: `appendonly yes` (unless opts.appendonly === false) and `--save ""` (no RDB snapshots)
 * unless opts.args passes its own `--save`; extra args are appended. Resolves once PING answers PONG.
 * stop() kills the process (SIGKILL after a short grace) and removes the dir.
 * Never: touches a shared Redis, binds beyond 127.0.0.1, or leaves the dir behind after stop().
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net-util.ts';

export interface RedisHandle {
  host: string;
  port: number;
  /** redis://127.0.0.1:PORT */
  url: string;
  dir: string;
  pid: number;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: HOST, port });
    let data = '';
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.on('error', () => done(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      data += d.toString();
      if (data.includes('\r\n')) done(data.startsWith('+PONG'));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitReady(proc: ChildProcess, port: number, stderr: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited (${proc.exitCode}): ${stderr()}`);
    if (await ping(port)) return;
    await sleep(25);
  }
  throw new Error(`redis-server on port ${port} did not answer PING: ${stderr()}`);
}

function killAndWait(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => proc.kill('SIGKILL'), 2000);
    proc.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

/** Start redis-server (from PATH). Retries a few ports if one is taken in between. */
export async function startRedis(opts: { appendonly?: boolean; args?: string[] } = {}): Promise<RedisHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'mxq-redis-'));
  const extra = opts.args ?? [];
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const args = ['--bind', HOST, '--port', String(port), '--dir', dir, '--daemonize', 'no'];
    args.push('--appendonly', opts.appendonly === false ? 'no' : 'yes');
    if (!extra.includes('--save')) args.push('--save', '');
    args.push(...extra);
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    proc.stdout?.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-4000);
    });
    proc.stderr?.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-4000);
    });
    try {
      await waitReady(proc, port, () => log);
    } catch (err) {
      await killAndWait(proc);
      if (attempt < 4 && /in use/i.test(log)) continue;
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return {
      host: HOST,
      port,
      url: `redis://${HOST}:${port}`,
      dir,
      pid: proc.pid ?? 0,
      async stop() {
        await killAndWait(proc);
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error('redis-server: no free port');
}
