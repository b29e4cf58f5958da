import { describe, expect, it } from 'vitest';
import { judgeRedisSafety, unsafeRedisMessage } from '../../../src/workers/redis-safety.ts';

describe('judgeRedisSafety', () => {
  it('noeviction with AOF is safe, with or without RDB', () => {
    expect(judgeRedisSafety({ maxmemoryPolicy: 'noeviction', appendonly: 'yes', save: '' }).safe).toBe(true);
    expect(judgeRedisSafety({ maxmemoryPolicy: 'noeviction', appendonly: 'yes', save: '3600 1' }).safe).toBe(
      true,
    );
  });
  it('RDB snapshots without AOF are unsafe (acknowledged mail since the snapshot would be lost)', () => {
    const v = judgeRedisSafety({ maxmemoryPolicy: 'noeviction', appendonly: 'no', save: '3600 1' });
    expect(v.safe).toBe(false);
    expect(v.problems.join()).toContain('RDB snapshots only');
    expect(v.problems.join()).toContain('appendonly yes');
  });
  it('an evicting policy is unsafe', () => {
    const v = judgeRedisSafety({ maxmemoryPolicy: 'allkeys-lru', appendonly: 'yes', save: '' });
    expect(v.safe).toBe(false);
    expect(v.problems.join()).toContain('allkeys-lru');
  });
  it('no persistence is unsafe', () => {
    const v = judgeRedisSafety({ maxmemoryPolicy: 'noeviction', appendonly: 'no', save: '' });
    expect(v.safe).toBe(false);
    expect(v.problems.join()).toContain('no persistence');
  });
  it('unknown facts are unsafe, and the message names the override', () => {
    const v = judgeRedisSafety({});
    expect(v.safe).toBe(false);
    expect(v.problems).toHaveLength(2);
    expect(unsafeRedisMessage(v)).toContain('--allow-unsafe-redis');
  });
});
