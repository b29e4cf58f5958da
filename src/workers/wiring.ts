/**
 * The one composition root of a worker process: the real delivery agent (DNS, SMTP engine,
 * session cache, pool-wide destination leases in Redis) plugged into the BullMQ worker runtime.
 *
 * Decides: which adapters a production worker uses (the cluster tier in the worker's Redis, under
 * the queue's prefix); that a worker refuses to start with a malformed transport map or relayhost
 * (RoutingConfigError naming the key and value). Never: reads the environment or argv.
 */
import type { LocalSessionCache } from '../cache/local-session-cache.ts';
import { createRedisNexthopState } from '../cache/redis-nexthop-state.ts';
import { resolveOptions } from '../core/options.ts';
import { checkRoutingOptions } from '../core/route.ts';
import { createLeaseStore } from '../destinations/lease-store.ts';
import { createRedisStsStore } from '../mta-sts/store.ts';
import { createRedisClient } from '../queue/connection.ts';
import { DEFAULT_PREFIX } from '../queue/keys.ts';
import type { TlsStarter } from '../smtp/engine-deps.ts';
import { createRedisTlsRptStore } from '../tlsrpt/store.ts';
import { createDeliveryAgent } from './agent.ts';
import { createWorkerRuntime, type WorkerConfig, type WorkerRuntime } from './worker-runtime.ts';

export type RealWorkerConfig = Omit<WorkerConfig, 'agent'> & {
  /** The session cache (default: this process's own; `mxq pool` children pass a tiered one). */
  sessionCache?: LocalSessionCache;
  /** `mxq pool` children: TLS handshakes in the pool's TLS owner. */
  tlsStarter?: TlsStarter;
};

/** A worker's routing configuration is unusable; the message names each bad key and value. */
export class RoutingConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`bad routing configuration: ${problems.join('; ')}`);
    this.name = 'RoutingConfigError';
    this.problems = problems;
  }
}

/** A worker runtime with the real delivery agent. */
export function createWorker(cfg: RealWorkerConfig): WorkerRuntime {
  const { sessionCache, tlsStarter, ...rest } = cfg;
  const opts = resolveOptions(cfg.options ?? {});
  // --- route (issue 9) ---
  const problems = checkRoutingOptions(opts);
  if (problems.length > 0) throw new RoutingConfigError(problems);
  const leases = opts.destinationLeases ? leaseStore(cfg) : undefined;
  // --- cluster ---
  const nexthopState = createRedisNexthopState({
    redisUrl: cfg.redisUrl,
    prefix: cfg.prefix ?? DEFAULT_PREFIX,
    logger: cfg.logger,
    connect: createRedisClient,
  });
  // --- tls (issue 14): MTA-STS policies and TLSRPT counts in Redis, shared by the pool ---
  const tlsRedis =
    opts.mtaStsEnable || opts.smtpTlsrptEnable
      ? createRedisClient(cfg.redisUrl, { maxRetriesPerRequest: 2 })
      : undefined;
  const prefix = cfg.prefix ?? DEFAULT_PREFIX;
  const inner = createDeliveryAgent(opts, {
    logger: cfg.logger,
    ...(tlsRedis && opts.mtaStsEnable ? { stsStore: createRedisStsStore(tlsRedis, prefix, Date.now) } : {}),
    ...(tlsRedis && opts.smtpTlsrptEnable ? { tlsRptStore: createRedisTlsRptStore(tlsRedis, prefix) } : {}),
    nexthopState,
    ...(leases !== undefined ? { leases } : {}),
    // --- pool ---
    ...(sessionCache !== undefined ? { sessionCache } : {}),
    ...(tlsStarter !== undefined ? { tlsStarter } : {}),
    // --- metrics ---
    ...(cfg.metrics !== undefined ? { metrics: cfg.metrics } : {}),
  });
  const agent = {
    ...inner,
    close: async (): Promise<void> => {
      await inner.close();
      tlsRedis?.disconnect();
    },
  };
  return createWorkerRuntime({ ...rest, agent });
}

function leaseStore(cfg: RealWorkerConfig) {
  // Automatic pipelining: the acquires and releases of concurrent jobs issued in one tick leave
  // in one socket write (each is one script; nothing here uses MULTI).
  const redis = createRedisClient(cfg.redisUrl, { maxRetriesPerRequest: null, enableAutoPipelining: true });
  redis.on('error', (err: Error) =>
    cfg.logger.warn({ event: 'redis-error', err: err.message }, 'destination lease connection error'),
  );
  const store = createLeaseStore(redis, cfg.prefix ?? DEFAULT_PREFIX);
  return {
    ...store,
    async close() {
      redis.disconnect();
    },
  };
}
