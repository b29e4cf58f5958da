/**
 * G5: `mxq worker` refuses, with exit 78 and a message naming the problem, a Redis that could lose
 * queued mail: (a) no AOF and no snapshots, (b) an evicting maxmemory-policy, (c) RDB snapshots
 * only. --allow-unsafe-redis is the only way past it. (The maxStalledCount guard of the research
 * note does not apply: mxq fixes it at 10 and puts stall-failed jobs back; plain redis:// when TLS
 * is required is not configurable in mxq.)
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';
import { startRedis } from '../support/redis.ts';

const MAIN = resolve(import.meta.dirname, '../../src/cli/main.ts');

function worker(args: string[], untilText?: string): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, [MAIN, 'worker', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const take = (d: Buffer) => {
      out += d.toString();
      if (untilText !== undefined && out.includes(untilText)) p.kill('SIGTERM');
    };
    p.stdout.on('data', take);
    p.stderr.on('data', take);
    p.once('exit', (code) => done({ code, out }));
  });
}

const CASES: Array<[string, { appendonly?: boolean; args?: string[] }, RegExp]> = [
  ['no persistence', { appendonly: false }, /no persistence/],
  ['allkeys-lru', { args: ['--maxmemory-policy', 'allkeys-lru'] }, /maxmemory-policy is "allkeys-lru"/],
  ['RDB only', { appendonly: false, args: ['--save', '3600 1'] }, /RDB snapshots only/],
];

it.each(CASES)(
  'G5: %s is refused (exit 78); --allow-unsafe-redis starts anyway',
  async (_name, cfg, why) => {
    const redis = await startRedis(cfg);
    try {
      const refused = await worker(['--redis', redis.url, '--prefix', '{g5}']);
      expect(refused.code).toBe(78);
      expect(refused.out).toContain('refusing to start');
      expect(refused.out).toMatch(why);
      const allowed = await worker(
        ['--redis', redis.url, '--prefix', '{g5}', '--allow-unsafe-redis'],
        '"worker-started"',
      );
      expect(allowed.out).toContain('"unsafe-redis-allowed"');
      expect(allowed.out).toContain('"worker-started"');
    } finally {
      await redis.stop();
    }
  },
  60_000,
);
