/**
 * Metrics of one `mxq worker` process: its registry, recorder and /metrics listener.
 *
 * Decides: the order: the listener is checked and bound before the worker starts (a refused bind
 * stops the worker from starting), the queue metrics are added once the runtime exists.
 * Never: delivers mail; is used by the pool parent (it aggregates instead: aggregate.ts).
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../queue/keys.ts';
import { ListenConfigError, parseListen } from '../runtime/listen-address.ts';
import { createQueueProbe, registerQueueMetrics } from './queue-probe.ts';
import type { MetricsRecorder } from './recorder.ts';
import { createMetrics } from './registry.ts';
import { type MetricsServer, startMetricsServer } from './server.ts';

export interface WorkerMetrics {
  recorder: MetricsRecorder;
  server: MetricsServer;
  /** Adds queue depth and Redis round-trip time, read from this runtime's connection. */
  attach(runtime: { queue: Queue; redis: Redis }, keys: QueueKeys): void;
  close(): Promise<void>;
}

export async function startWorkerMetrics(o: { listen: string; token?: string }): Promise<WorkerMetrics> {
  const listen = parseListen(o.listen, '--metrics');
  const { registry, recorder } = createMetrics();
  const server = await startMetricsServer({
    listen,
    ...(o.token !== undefined ? { token: o.token } : {}),
    render: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  });
  return {
    recorder,
    server,
    attach(runtime, keys) {
      registerQueueMetrics(registry, createQueueProbe(runtime.queue, runtime.redis, keys));
    },
    close: () => server.close(),
  };
}

/**
 * `mxq worker --metrics ADDR [--metrics-token T]`: the metrics of the worker, or the exit code when
 * the listener is refused (64: bad address or a non-loopback bind without a token) or cannot bind
 * (69). No address: undefined (metrics off).
 */
export async function openWorkerMetrics(a: {
  metricsListen?: string;
  metricsToken?: string;
  stderr: NodeJS.WritableStream;
}): Promise<WorkerMetrics | undefined | number> {
  if (a.metricsListen === undefined) return undefined;
  try {
    const m = await startWorkerMetrics({
      listen: a.metricsListen,
      ...(a.metricsToken !== undefined ? { token: a.metricsToken } : {}),
    });
    a.stderr.write(`mxq worker: metrics on ${m.server.url}\n`);
    return m;
  } catch (err) {
    a.stderr.write(`mxq worker: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof ListenConfigError ? 64 : 69;
  }
}
