/**
 * Where Redis is, from one string: a `redis://` / `rediss://` URL (ioredis parses it), or a
 * Sentinel set written `redis-sentinel://[[user]:password@]host:port[,host:port...]/masterName`
 * (`rediss-sentinel://` for TLS to the data nodes), which becomes ioredis Sentinel options so that
 * clients follow the primary across failovers.
 *
 * Decides: the Sentinel URL syntax and its errors (naming what is wrong, never echoing the
 * password). Never: connects; reads the environment.
 */
import type { RedisOptions } from 'ioredis';

const SENTINEL = /^(rediss?)-sentinel:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/@]+)\/([^/?#@]+)\/?$/;

export function isSentinelUrl(url: string): boolean {
  return /^rediss?-sentinel:\/\//i.test(url);
}

/** A Redis URL → what ioredis takes: the URL itself, or Sentinel options. Throws RangeError. */
export function redisTarget(url: string): string | RedisOptions {
  if (!isSentinelUrl(url)) return url;
  const m = SENTINEL.exec(url);
  if (m === null)
    throw new RangeError('bad Sentinel URL: want redis-sentinel://host:port[,host:port...]/masterName');
  const sentinels = (m[4] ?? '').split(',').map((hp) => {
    const at = hp.lastIndexOf(':');
    const host = (at < 0 ? hp : hp.slice(0, at)).replace(/^\[|\]$/g, '');
    const port = at < 0 ? 26379 : Number(hp.slice(at + 1));
    if (host === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RangeError(`bad Sentinel address "${hp}" in the Redis URL`);
    }
    return { host, port };
  });
  const opts: RedisOptions = { sentinels, name: decodeURIComponent(m[5] ?? '') };
  if (m[2]) opts.username = decodeURIComponent(m[2]);
  if (m[3]) opts.password = decodeURIComponent(m[3]);
  if (m[1] === 'rediss') opts.tls = {};
  return opts;
}
