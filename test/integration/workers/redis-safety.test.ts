/**
 * The worker's Redis safety check against real redis-servers, the CLI's refusal, and the
 * embedded default Redis (AOF under a directory, another port when the preferred one is taken).
 */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { findEmbeddedRedis, startEmbeddedRedis } from '../../../src/workers/embedded-redis.ts';
import { checkRedisSafety } from '../../../src/workers/redis-safety.ts';
import { startRedis } from '../../support/redis.ts';

const MAIN = resolve(import.meta.dirname, '../../../src/cli/main.ts');

function runCli(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.once('exit', (code) => done({ code, out }));
  });
}

it('AOF + noeviction is safe; no persistence or an evicting policy is not', async () => {
  const safe = await startRedis();
  const unsafe = await startRedis({ appendonly: false, args: ['--maxmemory-policy', 'allkeys-lru'] });
  const a = new Redis(safe.url);
  const b = new Redis(unsafe.url);
  try {
    expect(await checkRedisSafety(a)).toEqual({ safe: true, problems: [] });
    const v = await checkRedisSafety(b);
    expect(v.safe).toBe(false);
    expect(v.problems).toHaveLength(2);
  } finally {
    a.disconnect();
    b.disconnect();
    await safe.stop();
    await unsafe.stop();
  }
});

it('mxq worker refuses an unsafe Redis with a clear message (exit 78)', async () => {
  const unsafe = await startRedis({ appendonly: false });
  try {
    const r = await runCli(['worker', '--redis', unsafe.url, '--prefix', '{unsafe}']);
    expect(r.code).toBe(78);
    expect(r.out).toContain('refusing to start');
    expect(r.out).toContain('--allow-unsafe-redis');
  } finally {
    await unsafe.stop();
  }
});

it('the embedded Redis runs with AOF under its directory and moves off a taken port', async () => {
  const blocker = createServer();
  const taken = await new Promise<number>((done) =>
    blocker.listen(0, '127.0.0.1', () => {
      const addr = blocker.address();
      done(typeof addr === 'object' && addr !== null ? addr.port : 0);
    }),
  );
  const dir = join(await mkdtemp(join(tmpdir(), 'mxq-emb-')), 'var', 'redis');
  const emb = await startEmbeddedRedis({ dir, preferredPort: taken });
  const c = new Redis(emb.url);
  try {
    expect(emb.port).not.toBe(taken);
    expect(emb.dir).toBe(dir);
    expect(await c.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(await checkRedisSafety(c)).toEqual({ safe: true, problems: [] });
    // A second worker and the client commands find this server instead of starting another.
    expect(await findEmbeddedRedis(dir)).toBe(emb.url);
  } finally {
    c.disconnect();
    await emb.stop();
    expect(await findEmbeddedRedis(dir)).toBeUndefined();
    blocker.close();
  }
});
