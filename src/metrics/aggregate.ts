/**
 * Metrics of a process tree (the pool): children send their registry's getMetricsAsJSON() to the
 * parent over the IPC channel on request; the parent sums them with prom-client's
 * AggregatorRegistry.aggregate() (each metric's `aggregator`: sum, or max for shared state).
 * prom-client's own AggregatorRegistry.clusterMetrics() works with node:cluster only; this works
 * with any forked child (child_process.fork).
 *
 * Decides: the IPC message shapes ({ type: 'mxq:metrics?', id } → { type: 'mxq:metrics', id,
 * metrics }), that a child which does not answer within the timeout is left out of that scrape
 * (mxq_pool_children_scraped says how many answered), and that the parent's own registry is
 * part of the aggregate.
 * Never: forks or supervises children (the pool does), holds module-level state.
 */
import { randomUUID } from 'node:crypto';
import {
  AggregatorRegistry,
  Gauge,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from 'prom-client';

export const METRICS_REQUEST = 'mxq:metrics?';
export const METRICS_REPLY = 'mxq:metrics';

type Snapshot = MetricObjectWithValues<MetricValue<string>>[];

/** The IPC end of a child as the parent sees it (a ChildProcess satisfies it). */
export interface ChildChannel {
  send(message: unknown): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
  readonly connected: boolean;
}

/** The IPC end of the current process as a child (process satisfies it when forked). */
export interface ParentChannel {
  send?(message: unknown): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

function isRequest(m: unknown): m is { type: string; id: string } {
  return typeof m === 'object' && m !== null && 'type' in m && m.type === METRICS_REQUEST && 'id' in m;
}

/** Child side: answer the parent's metrics requests with this registry. Returns a stop function. */
export function answerMetricsRequests(registry: Registry, channel: ParentChannel): () => void {
  const onMessage = (m: unknown) => {
    if (!isRequest(m)) return;
    registry.getMetricsAsJSON().then(
      (metrics) => channel.send?.({ type: METRICS_REPLY, id: m.id, metrics }),
      () => channel.send?.({ type: METRICS_REPLY, id: m.id, metrics: [] }),
    );
  };
  channel.on('message', onMessage);
  return () => channel.off('message', onMessage);
}

/** Parent side: one child's snapshot, or undefined when it does not answer within `timeoutMs`. */
export function requestChildMetrics(child: ChildChannel, timeoutMs: number): Promise<Snapshot | undefined> {
  if (!child.connected) return Promise.resolve(undefined);
  const id = randomUUID();
  return new Promise((done) => {
    const finish = (v: Snapshot | undefined) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      done(v);
    };
    const onMessage = (m: unknown) => {
      if (typeof m !== 'object' || m === null || !('type' in m) || m.type !== METRICS_REPLY) return;
      if (!('id' in m) || m.id !== id || !('metrics' in m) || !Array.isArray(m.metrics)) return;
      finish(m.metrics as Snapshot);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    child.on('message', onMessage);
    try {
      if (!child.send({ type: METRICS_REQUEST, id })) finish(undefined);
    } catch {
      finish(undefined);
    }
  });
}

/**
 * The pool's /metrics: the parent's registry plus every child that answers, aggregated.
 * Returns the text exposition and its content type (for startMetricsServer's `render`).
 */
export async function aggregateMetrics(
  parent: Registry,
  children: readonly ChildChannel[],
  timeoutMs = 2000,
): Promise<{ contentType: string; body: string; answered: number }> {
  const snapshots = await Promise.all(children.map((c) => requestChildMetrics(c, timeoutMs)));
  const got = snapshots.filter((s): s is Snapshot => s !== undefined);
  const own = (await parent.getMetricsAsJSON()) as Snapshot;
  const extra = new Registry();
  new Gauge({
    name: 'mxq_pool_children_scraped',
    help: 'Children that answered the last metrics request',
    registers: [extra],
  }).set(got.length);
  const scraped = (await extra.getMetricsAsJSON()) as Snapshot;
  const merged = AggregatorRegistry.aggregate([own, scraped, ...got]);
  return { contentType: merged.contentType, body: await merged.metrics(), answered: got.length };
}
