/**
 * queue/redis-target.ts and redis-tls.ts: redis:// stays a URL; redis-sentinel:// becomes ioredis
 * Sentinel options; the TLS query parameters become `tls: {ca, cert, key}`, anything else is refused.
 */
import { describe, expect, it } from 'vitest';
import {
  clusterTarget,
  isClusterUrl,
  isSentinelUrl,
  redisTarget,
  redisUrlProblem,
} from '../../../src/queue/redis-target.ts';
import { readRedisTlsFiles, splitRedisUrlQuery } from '../../../src/queue/redis-tls.ts';

/** A fake file system: path → content; other paths fail like a missing file. */
function files(map: Record<string, string>): (path: string) => Buffer {
  return (path) => {
    const text = map[path];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return Buffer.from(text);
  };
}
const FS = files({ '/c/ca.pem': 'CA', '/c/client.crt': 'CERT', '/c/client.key': 'KEY', '/c/empty': '' });

describe('redisTarget', () => {
  it('keeps redis:// and rediss:// URLs', () => {
    expect(redisTarget('redis://127.0.0.1:6379/0')).toEqual({ url: 'redis://127.0.0.1:6379/0', options: {} });
    expect(redisTarget('rediss://:pw@h:6380')).toEqual({ url: 'rediss://:pw@h:6380', options: {} });
    expect(isSentinelUrl('redis://h')).toBe(false);
  });

  it('parses a Sentinel set, with credentials and TLS', () => {
    expect(redisTarget('redis-sentinel://127.0.0.1:26379,127.0.0.2:26380/mymaster').options).toEqual({
      sentinels: [
        { host: '127.0.0.1', port: 26379 },
        { host: '127.0.0.2', port: 26380 },
      ],
      name: 'mymaster',
    });
    expect(redisTarget('rediss-sentinel://mxq:s%40cret@[::1]:26379,s2/m')).toEqual({
      options: {
        sentinels: [
          { host: '::1', port: 26379 },
          { host: 's2', port: 26379 },
        ],
        name: 'm',
        username: 'mxq',
        password: 's@cret',
        tls: {},
      },
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

describe('TLS files in the URL', () => {
  it('rediss:// with a CA, and with a client certificate: the files become tls options', () => {
    expect(redisTarget('rediss://mxq:pw@127.0.0.1:6380/0?tls_ca_file=/c/ca.pem', FS)).toEqual({
      url: 'rediss://mxq:pw@127.0.0.1:6380/0',
      options: { tls: { ca: Buffer.from('CA') } },
    });
    const q = 'tls_ca_file=%2Fc%2Fca.pem&tls_cert_file=/c/client.crt&tls_key_file=/c/client.key';
    expect(redisTarget(`rediss://h:6380?${q}`, FS).options.tls).toEqual({
      ca: Buffer.from('CA'),
      cert: Buffer.from('CERT'),
      key: Buffer.from('KEY'),
    });
  });

  it('rediss-sentinel:// and rediss-cluster:// take the same parameters', () => {
    expect(redisTarget('rediss-sentinel://s1:26379/m?tls_ca_file=/c/ca.pem', FS).options.tls).toEqual({
      ca: Buffer.from('CA'),
    });
    expect(clusterTarget('rediss-cluster://:pw@h1:7000,h2:7001?tls_ca_file=/c/ca.pem', FS)).toEqual({
      nodes: [
        { host: 'h1', port: 7000 },
        { host: 'h2', port: 7001 },
      ],
      redisOptions: { password: 'pw', tls: { ca: Buffer.from('CA') } },
    });
  });

  it('refuses an unknown parameter, a repeated one, an empty one, cert without key, and plain redis://', () => {
    const problem = (url: string) => redisUrlProblem(url, FS);
    expect(problem('rediss://h?tls_ca_file=/c/ca.pem')).toBeUndefined();
    expect(problem('rediss://h?db=2')).toMatch(/unknown query parameter "db"/);
    expect(problem('rediss://h?tls_ca_file=/c/ca.pem&tls_ca_file=/c/ca.pem')).toMatch(
      /tls_ca_file is given twice/,
    );
    expect(problem('rediss://h?tls_ca_file=')).toMatch(/tls_ca_file in the Redis URL names no file/);
    expect(problem('rediss://h?tls_cert_file=/c/client.crt')).toMatch(
      /tls_cert_file and tls_key_file go together/,
    );
    expect(problem('redis://h?tls_ca_file=/c/ca.pem')).toMatch(/need a rediss:\/\/ URL/);
    expect(problem('redis-cluster://h:7000?tls_ca_file=/c/ca.pem')).toMatch(/need a rediss:\/\/ URL/);
  });

  it('names an unreadable or empty file and its parameter, never the content', () => {
    expect(redisUrlProblem('rediss://h?tls_ca_file=/c/nope.pem', FS)).toBe(
      'cannot read tls_ca_file "/c/nope.pem" of the Redis URL (ENOENT)',
    );
    expect(
      redisUrlProblem(
        'rediss://h?tls_ca_file=/c/ca.pem&tls_cert_file=/c/empty&tls_key_file=/c/client.key',
        FS,
      ),
    ).toBe('tls_cert_file "/c/empty" of the Redis URL is empty');
    expect(() => readRedisTlsFiles({ key: '/c/missing.key' }, FS)).toThrow(/tls_key_file "\/c\/missing.key"/);
  });

  it('never echoes the password, even when a raw "?" in it looks like a query', () => {
    for (const url of ['rediss://:se?cret@h:6380', 'rediss://u:se?cret=1@h:6380', 'rediss://u:12?cret@h']) {
      const text = redisUrlProblem(url, FS) ?? '';
      expect(text).not.toBe('');
      expect(text).not.toContain('cret');
    }
    expect(redisUrlProblem('rediss://:pw@h?se%3Fcret=1', FS)).toMatch(/\(name not shown\)/);
    expect(splitRedisUrlQuery('rediss://:p%3Fw@h:1').url).toBe('rediss://:p%3Fw@h:1');
  });
});
