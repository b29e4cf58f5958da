/**
 * The one composition root of a worker process: the real delivery agent (DNS, SMTP engine,
 * session cache) plugged into the BullMQ worker runtime.
 *
 * Decides: which adapters a production worker uses. Never: reads the environment or argv.
 */
import { resolveOptions } from '../core/options.ts';
import { createDeliveryAgent } from './agent.ts';
import { createWorkerRuntime, type WorkerConfig, type WorkerRuntime } from './worker-runtime.ts';

export type RealWorkerConfig = Omit<WorkerConfig, 'agent'>;

/** A worker runtime with the real delivery agent. */
export function createWorker(cfg: RealWorkerConfig): WorkerRuntime {
  const agent = createDeliveryAgent(resolveOptions(cfg.options ?? {}), {
    logger: cfg.logger,
    ...(cfg.metrics !== undefined ? { metrics: cfg.metrics } : {}),
  });
  return createWorkerRuntime({ ...cfg, agent });
}
