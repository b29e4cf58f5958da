import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLocalSessionCache } from '../../../src/cache/local-session-cache.ts';
import type { SmtpSession } from '../../../src/core/ports.ts';

function fakeSession(name: string): SmtpSession & { closed: boolean; usable: boolean; name: string } {
  const s = {
    name,
    closed: false,
    usable: true,
    state: {} as SmtpSession['state'],
    transaction: async () => ({ recipients: [], completeSession: true, reusable: true }),
    reset: async () => true,
    quit: async () => {
      s.closed = true;
    },
    close: () => {
      s.closed = true;
    },
    isUsable: () => s.usable && !s.closed,
  };
  return s;
}

describe('local session cache', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('hands out a session stored under two labels once, by either label', async () => {
    const cache = createLocalSessionCache();
    const s = fakeSession('one');
    await cache.put(['dest', 'endpoint'], s, 2000);
    expect(cache.size()).toBe(1);
    expect(await cache.take('endpoint')).toBe(s);
    expect(await cache.take('dest')).toBeUndefined();
    expect(cache.size()).toBe(0);
    expect(s.closed).toBe(false);
  });

  it('misses on an unknown label', async () => {
    const cache = createLocalSessionCache();
    await cache.put(['a'], fakeSession('one'), 2000);
    expect(await cache.take('b')).toBeUndefined();
    await cache.close();
  });

  it('discards an idle session that is no longer usable (stray byte or EOF)', async () => {
    const cache = createLocalSessionCache();
    const s = fakeSession('one');
    await cache.put(['a'], s, 2000);
    s.usable = false;
    expect(await cache.take('a')).toBeUndefined();
    expect(s.closed).toBe(true);
    expect(cache.size()).toBe(0);
  });

  it('closes a session when its time limit passes', async () => {
    vi.useFakeTimers();
    const cache = createLocalSessionCache();
    const s = fakeSession('one');
    await cache.put(['a', 'b'], s, 2000);
    vi.advanceTimersByTime(1999);
    expect(s.closed).toBe(false);
    vi.advanceTimersByTime(2);
    expect(s.closed).toBe(true);
    expect(await cache.take('b')).toBeUndefined();
  });

  it('prefers the newest of several sessions under one label', async () => {
    const cache = createLocalSessionCache();
    const s1 = fakeSession('one');
    const s2 = fakeSession('two');
    await cache.put(['a'], s1, 2000);
    await cache.put(['a'], s2, 2000);
    expect(await cache.take('a')).toBe(s2);
    expect(await cache.take('a')).toBe(s1);
  });

  it('close() closes every idle session and refuses new ones', async () => {
    const cache = createLocalSessionCache();
    const s1 = fakeSession('one');
    await cache.put(['a'], s1, 2000);
    await cache.close();
    expect(s1.closed).toBe(true);
    const s2 = fakeSession('two');
    await cache.put(['a'], s2, 2000);
    expect(s2.closed).toBe(true);
    expect(cache.size()).toBe(0);
  });
});
