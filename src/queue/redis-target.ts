/**
 * Where Redis is, from one string: a `redis://` / `rediss://` URL (ioredis parses it), or a
 * Sentinel set written `redis-sentinel://[[user]:password@]host:port[,host:port...]/masterName`
 * (`rediss-sentinel://` for TLS to the data nodes), which becomes ioredis Sentinel options so that
 * clients follow the primary across failovers; or a Redis Cluster written
 * `redis-cluster://[[user]:password@]host:port[,host:port...]` (`rediss-cluster://` for TLS), which
 * becomes ioredis Cluster startup nodes (connection.ts makes a `Cluster` of it).
 *
 * Every TLS form takes `?tls_ca_file=…&tls_cert_file=…&tls_key_file=…` (redis-tls.ts): the files are
 * read here, when the target is made, and become ioredis `tls: {ca, cert, key}`; any other query
 * parameter is refused.
 *
 * Decides: the Sentinel and Cluster URL syntax and its errors (naming what is wrong, never echoing
 * the password). Never: connects; reads the environment; reads files other than the named TLS files.
 */
import type { RedisOptions } from 'ioredis';
import { hasTlsFiles, type RedisTlsMaterial, readRedisTlsFiles, splitRedisUrlQuery } from './redis-tls.ts';

const SENTINEL = /^(rediss?)-sentinel:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/@]+)\/([^/?#@]+)\/?$/;

export function isSentinelUrl(url: string): boolean {
  return /^rediss?-sentinel:\/\//i.test(url);
}

/** What ioredis takes: a URL (without its query) plus options, or options alone (Sentinel). */
export interface RedisTarget {
  url?: string;
  options: RedisOptions;
}

/** Reads a file (readFileSync by default; tests pass their own). */
export type ReadFile = (path: string) => Buffer;

function tlsOf(files: ReturnType<typeof splitRedisUrlQuery>['files'], read?: ReadFile): RedisTlsMaterial {
  return read === undefined ? readRedisTlsFiles(files) : readRedisTlsFiles(files, read);
}

/** A Redis URL → what ioredis takes: the URL itself (and its TLS files), or Sentinel options. Throws RangeError. */
export function redisTarget(input: string, read?: ReadFile): RedisTarget {
  const { url, files } = splitRedisUrlQuery(input);
  if (!isSentinelUrl(url)) return { url, options: hasTlsFiles(files) ? { tls: tlsOf(files, read) } : {} };
  const m = SENTINEL.exec(url);
  if (m === null)
    throw new RangeError('bad Sentinel URL: want redis-sentinel://host:port[,host:port...]/masterName');
  const sentinels = hostPorts(m[4] ?? '', 26379, 'Sentinel');
  const opts: RedisOptions = { sentinels, name: decodeURIComponent(m[5] ?? '') };
  if (m[2]) opts.username = decodeURIComponent(m[2]);
  if (m[3]) opts.password = decodeURIComponent(m[3]);
  if (m[1] === 'rediss') opts.tls = tlsOf(files, read);
  return { options: opts };
}

export interface HostPort {
  host: string;
  port: number;
}

function hostPorts(list: string, defaultPort: number, what: string): HostPort[] {
  return list.split(',').map((hp) => {
    const at = hp.lastIndexOf(':');
    const bracketed = hp.startsWith('[') && !hp.slice(at).includes(']');
    const hasPort = at >= 0 && (bracketed || !hp.startsWith('['));
    const host = (hasPort ? hp.slice(0, at) : hp).replace(/^\[|\]$/g, '');
    const port = hasPort ? Number(hp.slice(at + 1)) : defaultPort;
    if (host === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RangeError(`bad ${what} address "${hp}" in the Redis URL`);
    }
    return { host, port };
  });
}

/** A Redis Cluster: its startup nodes and the options every node connection gets. */
export interface ClusterTarget {
  nodes: HostPort[];
  redisOptions: RedisOptions;
}

const CLUSTER = /^(rediss?)-cluster:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/@]+?)\/?$/;

export function isClusterUrl(url: string): boolean {
  return /^rediss?-cluster:\/\//i.test(url);
}

/** A `redis-cluster://` URL → startup nodes and node options; undefined for other URLs. Throws RangeError. */
export function clusterTarget(input: string, read?: ReadFile): ClusterTarget | undefined {
  if (!isClusterUrl(input)) return undefined;
  const { url, files } = splitRedisUrlQuery(input);
  const m = CLUSTER.exec(url);
  if (m === null) throw new RangeError('bad Cluster URL: want redis-cluster://host:port[,host:port...]');
  const redisOptions: RedisOptions = {};
  if (m[2]) redisOptions.username = decodeURIComponent(m[2]);
  if (m[3]) redisOptions.password = decodeURIComponent(m[3]);
  if (m[1] === 'rediss') redisOptions.tls = tlsOf(files, read);
  return { nodes: hostPorts(m[4] ?? '', 6379, 'Cluster'), redisOptions };
}

/**
 * Why a Redis URL cannot be used (bad Sentinel/Cluster syntax, an unknown query parameter, an
 * unreadable TLS file), or undefined: what commands check before connecting. Never echoes the password.
 */
export function redisUrlProblem(url: string, read?: ReadFile): string | undefined {
  try {
    if (clusterTarget(url, read) === undefined) redisTarget(url, read);
    return undefined;
  } catch (err) {
    if (err instanceof RangeError) return err.message;
    throw err;
  }
}
