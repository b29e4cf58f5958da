/**
 * The one composition root of a worker process: the real delivery agent (DNS, SMTP engine,
 * session cache) plugged into the BullMQ worker runtime.
 *
 * Decides: which adapters a production worker uses (the cluster tier in the worker's Redis, under
 * the queue's prefix). Never: reads the environment or argv.
 */
import { createRedisNexthopState } from '../cache/redis-nexthop-state.ts';
import { resolveOptions } from '../core/options.ts';
import { DEFAULT_PREFIX } from '../queue/keys.ts';
import { createDeliveryAgent } from './agent.ts';
import { createWorkerRuntime, type WorkerConfig, type WorkerRuntime } from './worker-runtime.ts';

export type RealWorkerConfig = Omit<WorkerConfig, 'agent'>;

/** A worker runtime with the real delivery agent. */
export function createWorker(cfg: RealWorkerConfig): WorkerRuntime {
  const nexthopState = createRedisNexthopState({
    redisUrl: cfg.redisUrl,
    prefix: cfg.prefix ?? DEFAULT_PREFIX,
    logger: cfg.logger,
  });
  const agent = createDeliveryAgent(resolveOptions(cfg.options ?? {}), { logger: cfg.logger, nexthopState });
  return createWorkerRuntime({ ...cfg, agent });
}
