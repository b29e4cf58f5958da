/**
 * The one /metrics of `mxq pool --metrics [HOST:]PORT`: the supervisor's own metrics (children by
 * state, restarts, the host session cache, the TLS owner, scrape misses), the queue metrics read
 * from Redis, and every live child's registry, asked over the IPC channel and summed
 * (aggregate.ts).
 *
 * Decides: the supervisor's metric names (mxq_pool_*, mxq_host_session_cache_*, mxq_tls_owner_*),
 * that they are read from the supervisor at scrape time (no timer), that a child which does not
 * answer within `childTimeoutMs` is left out of that scrape and counted in
 * mxq_pool_scrape_misses_total; the bind policy is server.ts's (loopback unless a token is given).
 * Never: forks or supervises children, keeps module-level state.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { QueueKeys } from '../queue/keys.ts';
import { checkBindPolicy, ListenConfigError, parseListen } from '../runtime/listen-address.ts';
import { aggregateMetrics, type ChildChannel } from './aggregate.ts';
import { createQueueProbe, registerQueueMetrics } from './queue-probe.ts';
import { type MetricsServer, startMetricsServer } from './server.ts';

export const POOL_CHILD_STATES = ['starting', 'running', 'draining', 'restarting', 'exited'] as const;

/** What the supervisor tells the metrics at scrape time (supervisor.ts's metricsSnapshot()). */
export interface PoolSnapshot {
  childrenByState: Record<string, number>;
  restarts: number;
  hostCache: {
    idle: number;
    stores: number;
    hitsDest: number;
    hitsEndpoint: number;
    misses: number;
    expiries: number;
    discards: number;
    handovers: number;
  };
  tlsOwner?: { handshakes: number; failures: number; linksOpen: number };
}

/** A counter whose value is a running total kept elsewhere (set at scrape time). */
function totalOf(c: Counter<string>, labels: Record<string, string>, v: number): void {
  if (Object.keys(labels).length === 0) c.reset();
  else c.remove(labels);
  c.inc(labels, Math.max(0, v));
}

/** Adds the supervisor's metrics to `registry`; `misses` is counted by the caller at each scrape. */
export function registerPoolMetrics(registry: Registry, snapshot: () => PoolSnapshot): Counter<string> {
  const registers = [registry];
  new Gauge({
    name: 'mxq_pool_children',
    help: 'Worker processes of the pool by state (starting, running, draining, restarting, exited)',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const s = snapshot();
      for (const state of POOL_CHILD_STATES) this.set({ state }, s.childrenByState[state] ?? 0);
    },
  });
  new Counter({
    name: 'mxq_pool_child_restarts_total',
    help: 'Worker processes restarted by the pool after they died',
    registers,
    collect() {
      totalOf(this, {}, snapshot().restarts);
    },
  });
  const misses = new Counter({
    name: 'mxq_pool_scrape_misses_total',
    help: 'Live children that did not answer a metrics request in time (left out of that scrape)',
    registers,
  });
  new Gauge({
    name: 'mxq_host_session_cache_idle',
    help: 'Idle sessions held by the host session cache of the pool',
    registers,
    collect() {
      this.set(snapshot().hostCache.idle);
    },
  });
  const hostCounter = (name: string, help: string, value: (h: PoolSnapshot['hostCache']) => number): void => {
    new Counter({
      name,
      help,
      registers,
      collect() {
        totalOf(this, {}, value(snapshot().hostCache));
      },
    });
  };
  hostCounter('mxq_host_session_cache_stores_total', 'Sessions stored in the host cache', (h) => h.stores);
  new Counter({
    name: 'mxq_host_session_cache_hits_total',
    help: 'Host cache takes that found a session, by label kind (dest, endpoint)',
    labelNames: ['label_kind'] as const,
    registers,
    collect() {
      const h = snapshot().hostCache;
      totalOf(this, { label_kind: 'dest' }, h.hitsDest);
      totalOf(this, { label_kind: 'endpoint' }, h.hitsEndpoint);
    },
  });
  hostCounter('mxq_host_session_cache_misses_total', 'Host cache takes that found none', (h) => h.misses);
  hostCounter(
    'mxq_host_session_cache_expiries_total',
    'Host cache sessions not taken within their ttl (closed)',
    (h) => h.expiries,
  );
  hostCounter(
    'mxq_host_session_cache_discards_total',
    'Host cache sessions closed when stored (full, or unusable)',
    (h) => h.discards,
  );
  hostCounter(
    'mxq_host_session_cache_handovers_total',
    'Sockets handed between processes through the host cache',
    (h) => h.handovers,
  );
  new Counter({
    name: 'mxq_tls_owner_handshakes_total',
    help: 'TLS handshakes done by the pool TLS owner, by result (ok, failed)',
    labelNames: ['result'] as const,
    registers,
    collect() {
      const t = snapshot().tlsOwner;
      totalOf(this, { result: 'ok' }, t?.handshakes ?? 0);
      totalOf(this, { result: 'failed' }, t?.failures ?? 0);
    },
  });
  new Gauge({
    name: 'mxq_tls_owner_links',
    help: 'TLS sessions the pool TLS owner holds for its children',
    registers,
    collect() {
      this.set(snapshot().tlsOwner?.linksOpen ?? 0);
    },
  });
  return misses;
}

export interface PoolMetricsSource {
  snapshot(): PoolSnapshot;
  /** The IPC channels of the live children. */
  children(): ChildChannel[];
  queue: Pick<Queue, 'getJobCounts'>;
  redis: Redis;
  keys: QueueKeys;
}

/** Checks the bind, then serves the pool's aggregate. Throws ListenConfigError (exit 64) when refused. */
export async function startPoolMetrics(o: {
  listen: string;
  token?: string;
  source: PoolMetricsSource;
  childTimeoutMs?: number;
}): Promise<MetricsServer> {
  const listen = parseListen(o.listen, '--metrics');
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const misses = registerPoolMetrics(registry, () => o.source.snapshot());
  registerQueueMetrics(registry, createQueueProbe(o.source.queue, o.source.redis, o.source.keys));
  return startMetricsServer({
    listen,
    ...(o.token !== undefined ? { token: o.token } : {}),
    async render() {
      const children = o.source.children();
      const m = await aggregateMetrics(registry, children, o.childTimeoutMs ?? 2000);
      const missed = children.length - m.answered;
      if (missed > 0) misses.inc(missed);
      return { contentType: m.contentType, body: m.body };
    },
  });
}

/** Refuses a bad --metrics address, or a non-loopback one without a token (ListenConfigError: 64). */
export function checkPoolMetricsListen(listen: string | undefined, token: string | undefined): void {
  if (listen === undefined) return;
  checkBindPolicy(parseListen(listen, '--metrics'), token, '--metrics', '--metrics-token');
}

/**
 * `mxq pool --metrics ADDR [--metrics-token T]`: the pool's metrics server, or the exit code when
 * it is refused (64) or cannot bind (69). No address: undefined (metrics off).
 */
export async function openPoolMetrics(a: {
  listen: string | undefined;
  token: string | undefined;
  stderr: NodeJS.WritableStream;
  source: {
    supervisor: { metricsSnapshot(): PoolSnapshot; liveChildren(): ChildChannel[] };
    queue: Pick<Queue, 'getJobCounts'>;
    redis: Redis;
    keys: QueueKeys;
  };
}): Promise<MetricsServer | undefined | number> {
  if (a.listen === undefined) return undefined;
  const { supervisor, ...rest } = a.source;
  try {
    const server = await startPoolMetrics({
      listen: a.listen,
      ...(a.token !== undefined ? { token: a.token } : {}),
      source: {
        ...rest,
        snapshot: () => supervisor.metricsSnapshot(),
        children: () => supervisor.liveChildren(),
      },
    });
    a.stderr.write(`mxq pool: metrics on ${server.url}\n`);
    return server;
  } catch (err) {
    a.stderr.write(`mxq pool: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof ListenConfigError ? 64 : 69;
  }
}
