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
  it('unknown facts are unsafe, named as unknown, and the message names the override and +info', () => {
    const v = judgeRedisSafety({});
    expect(v.safe).toBe(false);
    expect(v.problems).toHaveLength(2);
    expect(v.problems[0]).toContain('maxmemory-policy is unknown');
    expect(v.problems[1]).toContain('persistence is unknown');
    expect(unsafeRedisMessage(v)).toContain('--allow-unsafe-redis');
    expect(unsafeRedisMessage(v)).toContain('+info');
  });
  it('AOF off with `save` unknown (CONFIG refused) is unsafe and says the snapshots are unknown', () => {
    const v = judgeRedisSafety({ maxmemoryPolicy: 'noeviction', appendonly: 'no' });
    expect(v.safe).toBe(false);
    expect(v.problems).toHaveLength(1);
    expect(v.problems[0]).toContain('whether RDB snapshots are on is unknown');
    expect(unsafeRedisMessage(v)).not.toContain('+info');
  });
  it('AOF on is safe whatever `save` is, known or not', () => {
    expect(judgeRedisSafety({ maxmemoryPolicy: 'noeviction', appendonly: 'yes' }).safe).toBe(true);
  });
});
