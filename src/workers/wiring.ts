/**
 * The one composition root of a worker process: the real delivery agent (DNS, SMTP engine,
 * session cache) plugged into the BullMQ worker runtime.
 *
 * Decides: which adapters a production worker uses. Never: reads the environment or argv.
 */
import { Redis } from 'ioredis';
import { resolveOptions } from '../core/options.ts';
import { createRedisStsStore } from '../mta-sts/store.ts';
import { DEFAULT_PREFIX } from '../queue/keys.ts';
import { createRedisTlsRptStore } from '../tlsrpt/store.ts';
import { createDeliveryAgent } from './agent.ts';
import { createWorkerRuntime, type WorkerConfig, type WorkerRuntime } from './worker-runtime.ts';

export type RealWorkerConfig = Omit<WorkerConfig, 'agent'>;

/** A worker runtime with the real delivery agent. */
export function createWorker(cfg: RealWorkerConfig): WorkerRuntime {
  const options = resolveOptions(cfg.options ?? {});
  // --- tls (issue 14): MTA-STS policies and TLSRPT counts in Redis, shared by the pool ---
  const tlsRedis =
    options.mtaStsEnable || options.smtpTlsrptEnable
      ? new Redis(cfg.redisUrl, { maxRetriesPerRequest: 2 })
      : undefined;
  const prefix = cfg.prefix ?? DEFAULT_PREFIX;
  const stores = {
    ...(tlsRedis && options.mtaStsEnable
      ? { stsStore: createRedisStsStore(tlsRedis, prefix, Date.now) }
      : {}),
    ...(tlsRedis && options.smtpTlsrptEnable
      ? { tlsRptStore: createRedisTlsRptStore(tlsRedis, prefix) }
      : {}),
  };
  const inner = createDeliveryAgent(options, { logger: cfg.logger, ...stores });
  const agent = {
    deliver: inner.deliver,
    close: async (): Promise<void> => {
      await inner.close();
      tlsRedis?.disconnect();
    },
  };
  return createWorkerRuntime({ ...cfg, agent });
}
