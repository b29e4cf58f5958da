/**
 * Scrape-time metrics read from Redis: queue depth by state and Redis round-trip time.
 *
 * Decides: that these are read when Prometheus scrapes (one getJobCounts, one ZCARD, one timed
 * PING per scrape), never on a timer; the metric names mxq_queue_jobs{state},
 * mxq_queue_messages and mxq_redis_rtt_seconds.
 * Never: writes to Redis; fails a scrape when Redis is down (the gauges keep their last values and
 * mxq_redis_up drops to 0).
 */
import type { JobType, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Gauge, Histogram, type Registry } from 'prom-client';
import type { QueueKeys } from '../queue/keys.ts';
import { REDIS_RTT_BUCKETS } from './registry.ts';

export const JOB_STATES: readonly JobType[] = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'completed',
  'failed',
];

export interface QueueProbe {
  /** BullMQ job counts by state. */
  jobCounts(): Promise<Record<string, number>>;
  /** Messages in the queue (arrival index size). */
  messages(): Promise<number>;
  /** One PING, in seconds. */
  ping(): Promise<number>;
}

export function createQueueProbe(
  queue: Pick<Queue, 'getJobCounts'>,
  redis: Redis,
  keys: QueueKeys,
): QueueProbe {
  return {
    jobCounts: () => queue.getJobCounts(...JOB_STATES),
    messages: () => redis.zcard(keys.messageIndex),
    async ping() {
      const t0 = process.hrtime.bigint();
      await redis.ping();
      return Number(process.hrtime.bigint() - t0) / 1e9;
    },
  };
}

interface Scrape {
  counts: Record<string, number>;
  messages: number;
}

/**
 * Adds the scrape-time queue metrics to `registry`. In a pool, only the parent registers them.
 * prom-client starts every metric's collect() of one scrape in the same tick: they share one
 * Redis read (the promise in flight), so a scrape costs one PING, one ZCARD, one getJobCounts.
 */
export function registerQueueMetrics(registry: Registry, probe: QueueProbe): void {
  const registers = [registry];
  let inFlight: Promise<Scrape | undefined> | undefined;
  const scrape = (): Promise<Scrape | undefined> => {
    inFlight ??= (async () => {
      try {
        rtt.observe(await probe.ping());
        const [counts, messages] = await Promise.all([probe.jobCounts(), probe.messages()]);
        return { counts, messages };
      } catch {
        return undefined;
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };
  const rtt = new Histogram({
    name: 'mxq_redis_rtt_seconds',
    help: 'Redis round-trip time of a PING, measured at each scrape',
    buckets: REDIS_RTT_BUCKETS,
    registers,
    async collect() {
      await scrape();
    },
  });
  new Gauge({
    name: 'mxq_redis_up',
    help: '1 when the last scrape reached Redis',
    aggregator: 'max',
    registers,
    async collect() {
      this.set((await scrape()) === undefined ? 0 : 1);
    },
  });
  new Gauge({
    name: 'mxq_queue_messages',
    help: 'Messages in the queue (not yet final for every recipient)',
    aggregator: 'max',
    registers,
    async collect() {
      const s = await scrape();
      if (s !== undefined) this.set(s.messages);
    },
  });
  new Gauge({
    name: 'mxq_queue_jobs',
    help: 'Delivery jobs by BullMQ state',
    labelNames: ['state'] as const,
    aggregator: 'max',
    registers,
    async collect() {
      const s = await scrape();
      if (s !== undefined) for (const state of JOB_STATES) this.set({ state }, s.counts[state] ?? 0);
    },
  });
}
