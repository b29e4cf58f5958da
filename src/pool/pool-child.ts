/**
 * The composition of a worker process forked by `mxq pool` (`mxq worker --pool-child shared|local`):
 * the ordinary worker, plus the IPC side: with `shared`, a tiered session cache whose host tier is
 * the supervisor's and TLS handshakes in the supervisor's TLS owner (tlsproxy), except a further
 * TLS session of a server this process is busy with (cache/tls-placement.ts); always
 * reports of which jobs this process holds (for fast recovery when it dies), answers to status
 * queries, and a drain when the supervisor goes away.
 *
 * Decides: what the child tells its supervisor and when (job-start at BullMQ's `active`, job-end
 * at `completed`/`failed`); that a lost IPC channel stops the worker (drain, like SIGTERM).
 * Never: decides delivery, restarts itself, or touches another process's jobs.
 */
import type { Socket } from 'node:net';
import { createHostCacheClient, type IpcChannel } from '../cache/host-cache-client.ts';
import { createLocalSessionCache } from '../cache/local-session-cache.ts';
import { type ChildMsg, isSupervisorMsg } from '../cache/pool-ipc.ts';
import { createTieredSessionCache } from '../cache/tiered-session-cache.ts';
import { createTlsProxyClient } from '../cache/tls-proxy-client.ts';
import type { Logger } from '../core/ports.ts';
import { keepsSessionHistory } from '../core/session-notice.ts';
import { answerMetricsRequests } from '../metrics/aggregate.ts';
import { createMetrics } from '../metrics/registry.ts';
import { systemClock } from '../runtime/clock.ts';
import { resumeSession } from '../smtp/session.ts';
import type { WorkerMainArgs } from '../workers/worker-main.ts';
import type { WorkerRuntime } from '../workers/worker-runtime.ts';

/** The process's IPC channel to its parent, or undefined when there is none. */
export function parentChannel(proc: NodeJS.Process): IpcChannel | undefined {
  if (typeof proc.send !== 'function') return undefined;
  return {
    send(msg: ChildMsg, handle?: Socket): boolean {
      if (!proc.connected || proc.send === undefined) return false;
      // false from send() only means a backlog; a failure arrives in the callback.
      proc.send(msg, handle, {}, (err: Error | null) => {
        if (err !== null && handle !== undefined) handle.destroy();
      });
      return true;
    },
  };
}

function prefixed(prefix: string, c: Record<string, number> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(c ?? {})) out[`${prefix}${k[0]?.toUpperCase() ?? ''}${k.slice(1)}`] = v;
  return out;
}

/** Report held jobs from a runtime's BullMQ events. */
function reportJobs(runtime: WorkerRuntime, ipc: IpcChannel, held: Set<string>): void {
  runtime.worker.on('active', (job) => {
    if (job.id === undefined || job.token === undefined) return;
    held.add(job.id);
    ipc.send({ t: 'job-start', jobId: job.id, token: job.token });
  });
  const end = (job: { id?: string | undefined } | undefined): void => {
    if (job?.id === undefined) return;
    held.delete(job.id);
    ipc.send({ t: 'job-end', jobId: job.id });
  };
  runtime.worker.on('completed', (job) => end(job));
  runtime.worker.on('failed', (job) => end(job));
}

/**
 * Worker arguments for a pool child: the tiered cache and the IPC hooks. `stopNow` is called when
 * the supervisor is gone (the CLI aborts its stop signal).
 */
export function poolChildArgs(
  a: WorkerMainArgs,
  p: { proc: NodeJS.Process; logger: Logger; stopNow: () => void; sharing: 'shared' | 'local' },
): WorkerMainArgs {
  const ipc = parentChannel(p.proc);
  if (ipc === undefined) throw new Error('--pool-child: no IPC channel (started by mxq pool only)');
  const clock = systemClock();
  const shared = p.sharing === 'shared';
  const tls = shared ? createTlsProxyClient({ ipc }) : undefined;
  const engine = {
    logger: p.logger,
    clock,
    ...(tls !== undefined ? { tlsStarter: tls } : {}),
    // --- notices: resumed sessions keep a history too when notifyClasses asks for transcripts ---
    ...(keepsSessionHistory({ notifyClasses: a.options?.notifyClasses ?? [] }) ? { chatLog: true } : {}),
  };
  const host = shared
    ? createHostCacheClient({
        ipc,
        resume: (socket, state) => {
          // a TLS session travels only as a link to the TLS owner
          if (state.tls.active) {
            const { host, port } = state.endpoint;
            tls?.adopt(socket, { host, port, level: state.tls.level });
          }
          return resumeSession(socket, state, engine);
        },
        handedOver: (socket) => tls?.handedOver(socket),
      })
    : undefined;
  // Its metrics are the pool's /metrics (summed there): the supervisor asks over the channel.
  const metrics = a.metricsRecorder === undefined ? createMetrics() : undefined;
  if (metrics !== undefined) answerMetricsRequests(metrics.registry, p.proc);
  const recorder = a.metricsRecorder ?? metrics?.recorder;
  const cache = createTieredSessionCache({
    local: createLocalSessionCache(),
    ...(host !== undefined ? { host } : {}),
    ...(recorder !== undefined ? { recorder } : {}),
  });
  const held = new Set<string>();
  p.proc.on('message', (msg: unknown, handle: unknown) => {
    if (host?.onMessage(msg, handle) === true || tls?.onMessage(msg, handle) === true) return;
    if (isSupervisorMsg(msg) && msg.t === 'status-query') {
      const counters = { ...cache.counters(), ...prefixed('tls', tls?.counters()) };
      ipc.send({ t: 'status', reqId: msg.reqId, activeJobs: held.size, cache: counters });
    }
  });
  // The channel must not keep the process alive once the worker has drained.
  p.proc.channel?.unref();
  p.proc.once('disconnect', () => {
    p.logger.warn({ event: 'pool-supervisor-gone' }, 'supervisor gone: draining');
    host?.close();
    tls?.close();
    p.stopNow();
  });
  return {
    ...a,
    sessionCache: cache,
    ...(recorder !== undefined ? { metricsRecorder: recorder } : {}),
    ...(tls !== undefined ? { tlsStarter: tls } : {}),
    onRuntime: (runtime) => {
      reportJobs(runtime, ipc, held);
      ipc.send({ t: 'ready', pid: p.proc.pid });
      a.onRuntime?.(runtime);
    },
  };
}
