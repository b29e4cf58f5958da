/** queue/redis-target.ts: redis:// stays a URL; redis-sentinel:// becomes ioredis Sentinel options. */
import { describe, expect, it } from 'vitest';
import { clusterTarget, isClusterUrl, isSentinelUrl, redisTarget } from '../../../src/queue/redis-target.ts';

describe('redisTarget', () => {
  it('keeps redis:// and rediss:// URLs', () => {
    expect(redisTarget('redis://127.0.0.1:6379/0')).toBe('redis://127.0.0.1:6379/0');
    expect(redisTarget('rediss://:pw@h:6380')).toBe('rediss://:pw@h:6380');
    expect(isSentinelUrl('redis://h')).toBe(false);
  });

  it('parses a Sentinel set, with credentials and TLS', () => {
    expect(redisTarget('redis-sentinel://127.0.0.1:26379,127.0.0.2:26380/mymaster')).toEqual({
      sentinels: [
        { host: '127.0.0.1', port: 26379 },
        { host: '127.0.0.2', port: 26380 },
      ],
      name: 'mymaster',
    });
    expect(redisTarget('rediss-sentinel://mxq:s%40cret@[::1]:26379,s2/m')).toEqual({
      sentinels: [
        { host: '::1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      name: 'm',
      username: 'mxq',
      password: 's@cret',
      tls: {},
    });
  });

  it('names what is wrong without echoing the password', () => {
    expect(() => redisTarget('redis-sentinel://h:1')).toThrow(/want redis-sentinel:\/\/host:port/);
    expect(() => redisTarget('redis-sentinel://:secret@h:99999/m')).toThrow(/bad Sentinel address "h:99999"/);
    try {
      redisTarget('redis-sentinel://:secret@/m');
    } catch (e) {
      expect(String(e)).not.toContain('secret');
    }
  });
});

describe('clusterTarget', () => {
  it('parses startup nodes, credentials and TLS; other URLs are not a Cluster', () => {
    expect(clusterTarget('redis://127.0.0.1:6379')).toBeUndefined();
    expect(isClusterUrl('redis-cluster://h:1')).toBe(true);
    expect(clusterTarget('redis-cluster://127.0.0.1:7001,127.0.0.1:7002')).toEqual({
      nodes: [
        { host: '127.0.0.1', port: 7001 },
        { host: '127.0.0.1', port: 7002 },
      ],
      redisOptions: {},
    });
    expect(clusterTarget('rediss-cluster://u:p%40w@[::1]:7000,h2/')).toEqual({
      nodes: [
        { host: '::1', port: 7000 },
        { host: 'h2', port: 6379 },
      ],
      redisOptions: { username: 'u', password: 'p@w', tls: {} },
    });
  });

  it('names what is wrong without echoing the password', () => {
    expect(() => clusterTarget('redis-cluster://h:1/x')).toThrow(/want redis-cluster:\/\/host:port/);
    let text = '';
    try {
      clusterTarget('redis-cluster://:secret@h:70000');
    } catch (e) {
      text = String(e);
    }
    expect(text).toMatch(/bad Cluster address "h:70000"/);
    expect(text).not.toContain('secret');
  });
});
