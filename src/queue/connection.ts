/**
 * Redis connections of the queue client.
 *
 * Decides: how a `redis://` / `rediss://` URL (with its TLS files: `?tls_ca_file=…`), a
 * `redis-sentinel://` URL, a `redis-cluster://` URL (redis-target.ts) or ioredis options (Sentinel: `{ sentinels, name }`) become an ioredis client;
 * producer connections keep ioredis's fail-fast retry default.
 * Never: logs the URL (it may carry a password); reads the environment.
 *
 * A Cluster is returned typed as `Redis` (the one cast of this module): mxq only uses what both
 * share (commands, multi, eval, duplicate, status, quit, events), and every mxq and BullMQ key
 * carries the hash tag of the prefix (`{mxq}`), so each command and script lands on the one primary
 * owning that slot. Node-level commands (INFO, CONFIG, WAIT) go through `primariesOf`.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { clusterTarget, redisTarget } from './redis-target.ts';

export type RedisConnectionInput = string | RedisOptions;

function createCluster(url: string, extra: RedisOptions): Cluster | undefined {
  const target = clusterTarget(url);
  if (target === undefined) return undefined;
  // Cluster-level options are lifted out; the rest applies to every node connection.
  const { enableAutoPipelining, lazyConnect, enableOfflineQueue, retryStrategy, ...nodeOptions } = extra;
  const { port: _p, host: _h, path: _path, sentinels: _s, readOnly: _r, ...redisOptions } = nodeOptions;
  return new Cluster(target.nodes, {
    redisOptions: { ...target.redisOptions, ...redisOptions },
    ...(enableAutoPipelining !== undefined ? { enableAutoPipelining } : {}),
    ...(lazyConnect !== undefined ? { lazyConnect } : {}),
    ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
    ...(retryStrategy !== undefined ? { clusterRetryStrategy: retryStrategy } : {}),
  });
}

/** A new ioredis client. Connection errors surface on commands; the 'error' event is observed. */
export function createRedisClient(input: RedisConnectionInput, extra: RedisOptions = {}): Redis {
  const cluster = typeof input === 'string' ? createCluster(input, extra) : undefined;
  const target = typeof input === 'string' ? redisTarget(input) : { options: input };
  const client =
    cluster !== undefined
      ? (cluster as unknown as Redis)
      : target.url !== undefined
        ? new Redis(target.url, { ...target.options, ...extra })
        : new Redis({ ...target.options, ...extra });
  client.on('error', () => {
    // ioredis retries by itself; a failing command rejects with the cause.
  });
  return client;
}

/** The primaries behind a client: the Cluster's master nodes (once connected), else the client itself. */
export function primariesOf(client: Redis): Redis[] {
  return client.isCluster ? (client as unknown as Cluster).nodes('master') : [client];
}

/**
 * Redis WAIT: how many replicas have this connection's writes. A Cluster asks every primary over
 * the very connections that carried the writes and answers the smallest count (a bound that never
 * overstates the primary owning mxq's slot).
 */
export async function waitReplicas(client: Redis, replicas: number, timeoutMs: number): Promise<number> {
  if (!client.isCluster) return client.wait(replicas, timeoutMs);
  const counts = await Promise.all(primariesOf(client).map((n) => n.wait(replicas, timeoutMs)));
  return counts.length === 0 ? 0 : Math.min(...counts);
}

/** Closes a client: QUIT when connected, else disconnect. Never throws. */
export async function closeRedisClient(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  try {
    if (client.status === 'ready') await client.quit();
    else client.disconnect();
  } catch {
    client.disconnect();
  }
}
