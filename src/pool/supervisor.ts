/**
 * The `mxq pool` supervisor (Postfix master for the smtp service): forks N worker processes,
 * restarts one that dies with backoff, drains all on request, knows which jobs each holds, and
 * owns the host tier of the session cache and the TLS owner (when the pool shares sessions).
 *
 * Decides: child states (starting → running → draining → exited; restarting in between), the
 * restart backoff (minRestartDelayMs doubling to maxRestartDelayMs; reset after a child ran
 * stableAfterMs), that a child which exits with a configuration code (64, 69, 78) before it was
 * ready stops the pool with that code, that a dead child's held jobs go back to the queue at once
 * (job-recovery.ts), and the drain: SIGTERM to every child, wait up to drainTimeoutMs plus a
 * grace, then SIGKILL and return what they held.
 * Never: delivers mail, parses argv (src/cli/pool.ts does), or reads the environment.
 */
import { type ChildProcess, fork } from 'node:child_process';
import type { Queue } from 'bullmq';
import type { Logger } from '../core/ports.ts';
import type { PoolSnapshot } from '../metrics/pool-metrics.ts';
import { routeChildMessage } from './child-messages.ts';
import {
  createHostSessionCache,
  type HostCacheCounters,
  type HostSessionCache,
} from './host-session-cache.ts';
import { returnHeldJobs } from './job-recovery.ts';
import { createTlsOwner, type TlsOwnerCounters } from './tls-owner.ts';

export type ChildState = 'starting' | 'running' | 'draining' | 'restarting' | 'exited';

export interface ChildSlot {
  index: number;
  state: ChildState;
  proc: ChildProcess | undefined;
  pid: number | undefined;
  /** jobId → lock token, as the child reported. */
  held: Map<string, string>;
  restarts: number;
  crashesInRow: number;
  startedAt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export interface SupervisorConfig {
  processes: number;
  /** The module to fork (src/cli/main.ts) and its arguments (worker ... --pool-child). */
  modulePath: string;
  childArgs: string[];
  queue: Queue;
  logger: Logger;
  drainTimeoutMs: number;
  minRestartDelayMs?: number;
  maxRestartDelayMs?: number;
  stableAfterMs?: number;
  /** Status query reply timeout (ms). */
  statusTimeoutMs?: number;
  /** The children share sessions (host cache and TLS owner): they run with --pool-child shared. */
  shared: boolean;
}

export interface ChildStatus {
  index: number;
  pid: number | undefined;
  state: ChildState;
  heldJobs: number;
  restarts: number;
  cache?: Record<string, number>;
}

export interface PoolStatus {
  children: ChildStatus[];
  hostCache: HostCacheCounters & { idle: number };
  tlsOwner?: TlsOwnerCounters;
}

export interface Supervisor {
  start(): void;
  /** Resolves with the exit code when the pool stopped (after drain() or a fatal child exit). */
  done: Promise<number>;
  drain(): Promise<void>;
  status(): Promise<PoolStatus>;
  /** Counters for the pool's /metrics, read synchronously at scrape time. */
  metricsSnapshot(): PoolSnapshot;
  /** The live children's processes (their IPC channel answers metrics requests). */
  liveChildren(): ChildProcess[];
  readonly cache: HostSessionCache;
}

const FATAL_CODES = new Set([64, 69, 78]);
const DRAIN_GRACE_MS = 5000;

export function createSupervisor(cfg: SupervisorConfig): Supervisor {
  const log = cfg.logger;
  const minDelay = cfg.minRestartDelayMs ?? 1000;
  const maxDelay = cfg.maxRestartDelayMs ?? 30_000;
  const stableAfter = cfg.stableAfterMs ?? 30_000;
  const cache = createHostSessionCache();
  const tlsOwner = cfg.shared ? createTlsOwner() : undefined;
  const slots: ChildSlot[] = [];
  const statusWaiters = new Map<number, (s: { activeJobs: number; cache: Record<string, number> }) => void>();
  let nextStatusId = 1;
  let draining = false;
  const recoveries = new Set<Promise<void>>();
  let finish: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => {
    finish = resolve;
  });

  const setState = (slot: ChildSlot, state: ChildState, extra: Record<string, unknown> = {}): void => {
    slot.state = state;
    log.info(
      {
        event: 'pool-child-state',
        child: slot.index,
        pid: slot.pid,
        state,
        heldJobs: slot.held.size,
        ...extra,
      },
      `child ${slot.index} ${state}`,
    );
  };

  const spawnChild = (slot: ChildSlot): void => {
    slot.timer = undefined;
    if (draining) return;
    const args = [...cfg.childArgs, '--pool-child', cfg.shared ? 'shared' : 'local'];
    const proc = fork(cfg.modulePath, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    slot.proc = proc;
    slot.pid = proc.pid;
    slot.held = new Map();
    slot.startedAt = Date.now();
    setState(slot, 'starting');
    proc.on('message', (msg: unknown, handle: unknown) => {
      routeChildMessage(msg, handle, {
        slot,
        cache,
        tls: tlsOwner,
        send: (m, h) => {
          if (!proc.connected) {
            h?.destroy();
            return;
          }
          proc.send(m, h, {}, (err) => {
            if (err !== null) h?.destroy();
          });
        },
        onReady: () => {
          if (slot.state === 'starting') setState(slot, 'running');
        },
        onStatus: (reqId, s) => statusWaiters.get(reqId)?.(s),
      });
    });
    proc.on('error', (err) => log.warn({ event: 'pool-child-error', child: slot.index, err: err.message }));
    proc.once('exit', (code, signal) => void onExit(slot, proc, code, signal));
  };

  const onExit = async (
    slot: ChildSlot,
    proc: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): Promise<void> => {
    if (slot.proc !== proc) return;
    const wasReady = slot.state !== 'starting';
    const held = slot.held;
    slot.held = new Map();
    slot.proc = undefined;
    setState(slot, 'exited', { code, signal, heldJobs: held.size });
    if (held.size > 0) {
      const recovery = returnHeldJobs(cfg.queue, held, log).then((r) => {
        log.info(
          { event: 'pool-jobs-returned', child: slot.index, returned: r.returned, leftAlone: r.leftAlone },
          `returned ${r.returned.length} job(s) of child ${slot.index} to the queue`,
        );
      });
      recoveries.add(recovery);
      await recovery.finally(() => recoveries.delete(recovery));
    }
    if (draining) return;
    if (!wasReady && code !== null && FATAL_CODES.has(code)) {
      log.error(
        { event: 'pool-child-fatal', child: slot.index, code },
        'child cannot start: stopping the pool',
      );
      void stopAll().then(() => finish(code));
      return;
    }
    slot.crashesInRow = Date.now() - slot.startedAt >= stableAfter ? 1 : slot.crashesInRow + 1;
    const delay = Math.min(maxDelay, minDelay * 2 ** (slot.crashesInRow - 1));
    slot.restarts++;
    setState(slot, 'restarting', { delayMs: delay });
    slot.timer = setTimeout(() => spawnChild(slot), delay);
  };

  const stopAll = async (): Promise<void> => {
    draining = true;
    for (const slot of slots) {
      if (slot.timer !== undefined) clearTimeout(slot.timer);
      slot.timer = undefined;
      if (slot.proc === undefined) continue;
      setState(slot, 'draining');
      slot.proc.kill('SIGTERM');
    }
    const live = slots.map((s) => s.proc).filter((p): p is ChildProcess => p !== undefined);
    const exited = (p: ChildProcess): Promise<void> =>
      p.exitCode !== null || p.signalCode !== null
        ? Promise.resolve()
        : new Promise((resolve) => p.once('exit', () => resolve()));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), cfg.drainTimeoutMs + DRAIN_GRACE_MS);
    });
    const how = await Promise.race([Promise.all(live.map(exited)).then(() => 'ok' as const), deadline]);
    clearTimeout(timer);
    if (how === 'late') {
      for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      await Promise.all(live.map(exited));
    }
    await Promise.all([...recoveries]);
    cache.close();
    tlsOwner?.close();
  };

  const queryChild = (slot: ChildSlot): Promise<ChildStatus> => {
    const base: ChildStatus = {
      index: slot.index,
      pid: slot.pid,
      state: slot.state,
      heldJobs: slot.held.size,
      restarts: slot.restarts,
    };
    const proc = slot.proc;
    if (proc === undefined || !proc.connected) return Promise.resolve(base);
    const reqId = nextStatusId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        statusWaiters.delete(reqId);
        resolve(base);
      }, cfg.statusTimeoutMs ?? 1000);
      statusWaiters.set(reqId, (s) => {
        clearTimeout(timer);
        statusWaiters.delete(reqId);
        resolve({ ...base, cache: s.cache });
      });
      proc.send({ t: 'status-query', reqId }, undefined, {}, () => undefined);
    });
  };

  return {
    cache,
    done,
    start() {
      for (let i = 0; i < cfg.processes; i++) {
        const slot: ChildSlot = {
          index: i,
          state: 'starting',
          proc: undefined,
          pid: undefined,
          held: new Map(),
          restarts: 0,
          crashesInRow: 0,
          startedAt: 0,
          timer: undefined,
        };
        slots.push(slot);
        spawnChild(slot);
      }
    },
    async drain() {
      if (draining) return;
      log.info({ event: 'pool-draining' }, 'draining: children finish their sessions');
      await stopAll();
      finish(0);
    },
    metricsSnapshot() {
      const childrenByState: Record<string, number> = {};
      for (const s of slots) childrenByState[s.state] = (childrenByState[s.state] ?? 0) + 1;
      const restarts = slots.reduce((n, s) => n + s.restarts, 0);
      const hostCache = { ...cache.counters(), idle: cache.size() };
      return {
        childrenByState,
        restarts,
        hostCache,
        ...(tlsOwner !== undefined ? { tlsOwner: tlsOwner.counters() } : {}),
      };
    },
    liveChildren() {
      return slots.flatMap((s) => (s.proc?.connected === true && s.state !== 'exited' ? [s.proc] : []));
    },
    async status() {
      const children = await Promise.all(slots.map(queryChild));
      const hostCache = { ...cache.counters(), idle: cache.size() };
      return { children, hostCache, ...(tlsOwner !== undefined ? { tlsOwner: tlsOwner.counters() } : {}) };
    },
  };
}
