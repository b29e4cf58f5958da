import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { startRedis } from '../../support/redis.ts';

describe('startRedis', () => {
  it('answers PING, keeps an AOF in its own dir and cleans up on stop', async () => {
    const r = await startRedis();
    const client = new Redis(r.url, { maxRetriesPerRequest: 1, lazyConnect: true });
    try {
      await client.connect();
      expect(await client.ping()).toBe('PONG');
      await client.set('k', 'v');
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await client.config('GET', 'save')).toEqual(['save', '']);
      // Redis 7 keeps the AOF in a directory (appendonlydir); older versions a single file.
      const names = readdirSync(r.dir);
      expect(names.some((n) => n.startsWith('appendonly'))).toBe(true);
      expect(r.pid).toBeGreaterThan(0);
    } finally {
      client.disconnect();
      await r.stop();
    }
    expect(existsSync(r.dir)).toBe(false);
    expect(existsSync(join(r.dir, 'appendonlydir'))).toBe(false);
  });

  it('honours appendonly=false and extra args', async () => {
    const r = await startRedis({ appendonly: false, args: ['--maxmemory-policy', 'noeviction'] });
    const client = new Redis(r.url, { maxRetriesPerRequest: 1 });
    try {
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
      expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    } finally {
      client.disconnect();
      await r.stop();
    }
  });
});
