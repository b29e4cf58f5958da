/**
 * mxq's Prometheus metrics (prom-client): one Registry per process, and the recorder that feeds it.
 *
 * Decides: metric names, labels, buckets and each metric's aggregator when a pool sums its
 * children (counters and histograms sum; state shared through Redis, such as queue depth and
 * suspensions, takes the max so N children do not count it N times). docs/metrics.md lists them.
 * Never: serves HTTP (server.ts), reads Redis by itself (queue-probe.ts gives the scrape-time
 * values), keeps module-level state: every registry is created by the caller.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { dsnClass, type MetricsRecorder } from './recorder.ts';

export const ATTEMPT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
export const REDIS_RTT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export interface MxqMetrics {
  registry: Registry;
  recorder: MetricsRecorder;
}

/** A fresh registry with mxq's metrics and (unless `processMetrics: false`) Node's process metrics. */
export function createMetrics(opts: { processMetrics?: boolean; labels?: Record<string, string> } = {}) {
  const registry = new Registry();
  if (opts.labels !== undefined) registry.setDefaultLabels(opts.labels);
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const deliveries = new Counter({
    name: 'mxq_deliveries_total',
    help: 'Recipient delivery events by status (sent, deferred, bounced, expired, delayed) and DSN class',
    labelNames: ['status', 'dsn_class'] as const,
    registers,
  });
  const attempts = new Histogram({
    name: 'mxq_attempt_duration_seconds',
    help: 'Duration of one delivery attempt (all sessions of one job run), by transport and outcome',
    labelNames: ['transport', 'outcome'] as const,
    buckets: ATTEMPT_BUCKETS,
    registers,
  });
  const cache = new Counter({
    name: 'mxq_session_cache_lookups_total',
    help: 'Session cache lookups by tier (local, host, cluster) and result (hit, miss)',
    labelNames: ['tier', 'result'] as const,
    registers,
  });
  const leases = new Gauge({
    name: 'mxq_destination_leases',
    help: 'Destination leases in use (held for an attempt), by destination',
    labelNames: ['destination'] as const,
    registers,
  });
  const leaseEvents = {
    acquired: new Counter({
      name: 'mxq_destination_leases_acquired_total',
      help: 'Destination leases granted, by destination',
      labelNames: ['destination'] as const,
      registers,
    }),
    busy: new Counter({
      name: 'mxq_destination_lease_busy_total',
      help: 'Attempts that found no free lease of their destination (the job waits), by destination',
      labelNames: ['destination'] as const,
      registers,
    }),
  };
  const suspended = new Gauge({
    name: 'mxq_destination_suspended',
    help: '1 while a destination is suspended',
    labelNames: ['destination'] as const,
    aggregator: 'max',
    registers,
  });
  const suspensions = new Counter({
    name: 'mxq_destination_suspensions_total',
    help: 'Times a destination was suspended',
    labelNames: ['destination'] as const,
    registers,
  });
  const recorder: MetricsRecorder = {
    deliveryEvent: (event, dsn) => deliveries.inc({ status: event, dsn_class: dsnClass(dsn) }),
    attempt: (seconds, labels) => attempts.observe(labels, Math.max(0, seconds)),
    sessionCacheLookup: (tier, result) => cache.inc({ tier, result }),
    destinationLease: (destination, event) => leaseEvents[event].inc({ destination }),
    destinationLeases: (destination, held) => {
      if (held > 0) leases.set({ destination }, held);
      else leases.remove({ destination });
    },
    destinationSuspended: (destination, on) => {
      if (on) {
        suspended.set({ destination }, 1);
        suspensions.inc({ destination });
      } else suspended.remove({ destination });
    },
  };
  return { registry, recorder } satisfies MxqMetrics;
}
