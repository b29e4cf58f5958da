/**
 * The one composition root of a worker process: the real delivery agent (DNS, SMTP engine,
 * session cache) plugged into the BullMQ worker runtime.
 *
 * Decides: which adapters a production worker uses. Never: reads the environment or argv.
 */
import type { LocalSessionCache } from '../cache/local-session-cache.ts';
import { resolveOptions } from '../core/options.ts';
import type { TlsStarter } from '../smtp/engine-deps.ts';
import { createDeliveryAgent } from './agent.ts';
import { createWorkerRuntime, type WorkerConfig, type WorkerRuntime } from './worker-runtime.ts';

export type RealWorkerConfig = Omit<WorkerConfig, 'agent'> & {
  /** The session cache (default: this process's own; `mxq pool` children pass a tiered one). */
  sessionCache?: LocalSessionCache;
  /** `mxq pool` children: TLS handshakes in the pool's TLS owner. */
  tlsStarter?: TlsStarter;
};

/** A worker runtime with the real delivery agent. */
export function createWorker(cfg: RealWorkerConfig): WorkerRuntime {
  const { sessionCache, tlsStarter, ...rest } = cfg;
  const agent = createDeliveryAgent(resolveOptions(cfg.options ?? {}), {
    logger: cfg.logger,
    ...(sessionCache !== undefined ? { sessionCache } : {}),
    ...(tlsStarter !== undefined ? { tlsStarter } : {}),
  });
  return createWorkerRuntime({ ...rest, agent });
}
