/**
 * Runs one routed attempt under a pool-wide lease of its destination (Postfix qmgr's per-
 * destination concurrency, §8.3), and the short wait of a job that found no free lease.
 *
 * Decides: the order acquire → attempt → release-with-feedback. The acquire needs only the route
 * (destination key, recipients for the waiter id), not the body: `reserveLease` sends it at once
 * and returns a reservation, so the processor asks while it loads the message (one round trip
 * less between two messages); `run` then awaits the answer and runs the attempt, `cancel` ends a
 * reservation whose attempt will not run (message gone, every recipient already final, an error
 * before the attempt): a lease granted, before or after the cancel, goes back at once without
 * feedback and without a hold time, and an in-place wait ends. Every reservation ends in `run` or
 * `cancel` (the caller's duty; `cancel` after `run` does nothing). Renewal of the lease every
 * third of its TTL from its grant until its release (a dead process's lease expires by itself);
 * that a suspended destination defers every recipient without connecting, with Postfix's
 * wording; that a busy destination throws DestinationBusyError from `run` (the processor delays
 * the job without counting an attempt or a backoff step), unless this process holds a lease of
 * it: then the request first waits in place for a local release (local-lease-queue.ts), up to
 * destinationLeaseWait, with at most as many requests waiting as the process holds leases of the
 * destination. A release hands the slots it frees (one, two after a success: the window's growth)
 * to local waiters first, then (queued jobs, which name themselves by job id in the request's
 * `waiter`) to the earliest jobs of the destination waiting in BullMQ's delayed set, which the
 * processor promotes so that a free worker slot takes them at once (Postfix's qmgr gives a freed
 * delivery agent to the next message of the destination); they ask for a lease again as usual.
 * A lease is held for the whole attempt (one delivery agent, one connection at a
 * time) and returned when the attempt ends; idle cached sessions hold no lease, as Postfix's
 * scache sessions are outside qmgr's concurrency count. Redis trouble while releasing is logged:
 * the lease then expires after its TTL.
 * Never: decides limits or feedback (core/destination.ts), retries.
 */
import { randomUUID } from 'node:crypto';
import {
  attemptFeedback,
  destinationKey,
  destinationParams,
  softStatus,
  suspendedText,
} from '../core/destination.ts';
import type { ResolvedOptions } from '../core/options.ts';
import type { Clock, DestinationFeedback, DestinationLeases, Logger } from '../core/ports.ts';
import { deferEveryRecipient } from '../core/route.ts';
import type { AttemptRequest, AttemptResult } from '../core/types.ts';
import type { LeaseMeter } from '../metrics/lease-meter.ts';
import type { LocalLeaseQueue } from './local-lease-queue.ts';

/** Most lease requests of one attempt waiting in place (each needs a local release or a timeout). */
const MAX_IN_PLACE_TRIES = 1000;

/** No lease free for this destination now: ask again after `retryInMs`. */
export class DestinationBusyError extends Error {
  readonly destination: string;
  readonly retryInMs: number;
  constructor(destination: string, retryInMs: number) {
    super(`destination ${destination}: concurrency limit reached`);
    this.name = 'DestinationBusyError';
    this.destination = destination;
    this.retryInMs = retryInMs;
  }
}

/** What a lease is asked for: the routed destination of one request; its body is not needed. */
export type LeaseRequest = Pick<
  AttemptRequest,
  'queueId' | 'recipients' | 'nexthop' | 'protocol' | 'signal'
> & {
  /** The queued job asking (processor.ts): its name among waiting jobs, and their promotion. */
  waiter?: LeaseWaiter;
};

/** A lease asked for ahead of its attempt; it ends in exactly one of `run` and `cancel`. */
export interface LeaseReservation {
  /**
   * Await the answer, then: busy → DestinationBusyError; suspended → every recipient of `req`
   * deferred; granted → `attempt`, then the release with its feedback. Once only.
   */
  run(req: AttemptRequest, attempt: () => Promise<AttemptResult>): Promise<AttemptResult>;
  /** The attempt will not run: give a granted lease back at once (no feedback); after run: nothing. */
  cancel(): void;
}

export interface GateDeps {
  leases: DestinationLeases;
  /** The destination key when it is not the next-hop (destinationKey: 'mx-hosts'). */
  keyOf?: (req: LeaseRequest) => Promise<string | undefined>;
  opts: ResolvedOptions;
  clock: Clock;
  logger: Logger;
  /** Lease and suspension metrics (lease-meter.ts); none when metrics are off. */
  meter?: LeaseMeter;
  /**
   * This process's leases and in-place waiters (local-lease-queue.ts). With it, an attempt that
   * finds no free lease while this process holds one of the destination waits in place for a
   * local release, up to `destinationLeaseWait` in all (at most one waiter per local holder),
   * before the job is sent away to wait.
   */
  local?: LocalLeaseQueue;
  /**
   * Releases in flight: when given, an attempt returns as its release is sent, without waiting
   * for the reply (its outcome still goes to the meter, a failure to the log); whoever passes the
   * set waits for it before closing the lease store.
   */
  releases?: Set<Promise<void>>;
}

/**
 * The queued job running an attempt (the processor passes it): its id names it among the
 * destination's waiting jobs, and `promote` brings waiting jobs back from BullMQ's delayed set at
 * once (fire and forget: it never throws, and the attempt does not wait for it).
 */
export interface LeaseWaiter {
  id: string;
  /** Jobs queued to run now (BullMQ's wait list, an estimate): they take freed slots first. */
  queued(): number;
  promote(jobIds: string[]): void;
}

/** The store's answer for one reservation; a grant carries what its release needs. */
type Answer =
  | { kind: 'busy'; dest: string; retryInMs: number }
  | { kind: 'suspended'; dest: string; until: number; status: string; reason: string }
  | {
      kind: 'granted';
      give: (feedback: DestinationFeedback, heldMs: number) => Promise<void>;
      startedAt: number;
    };

/** Acquire → attempt → release in one call (the request is complete when the lease is asked). */
export function runUnderLease(
  deps: GateDeps,
  req: AttemptRequest & Pick<LeaseRequest, 'waiter'>,
  run: () => Promise<AttemptResult>,
): Promise<AttemptResult> {
  return reserveLease(deps, req).run(req, run);
}

/** Send the acquire now; the attempt's request (with its body) comes later, to `run`. */
export function reserveLease(deps: GateDeps, req: LeaseRequest): LeaseReservation {
  const { clock, logger } = deps;
  // Ends an in-place wait when the reservation is cancelled (and with the attempt's signal); the
  // combined signal is made only for a wait (most grants come at the first ask).
  const cancelled = new AbortController();
  const waitSignal = (): AbortSignal =>
    req.signal === undefined ? cancelled.signal : AbortSignal.any([req.signal, cancelled.signal]);
  const answer = ask(deps, req, waitSignal);
  // A cancelled reservation never reads a rejection; run() still gets it.
  answer.catch(() => undefined);
  let state: 'open' | 'running' | 'cancelled' = 'open';
  return {
    async run(attemptReq, attempt) {
      if (state !== 'open') throw new Error(`lease reservation of ${req.queueId} already ${state}`);
      state = 'running';
      const a = await answer;
      if (a.kind === 'busy') {
        deps.meter?.busy(a.dest);
        throw new DestinationBusyError(a.dest, a.retryInMs);
      }
      if (a.kind === 'suspended') {
        logger.info(
          { event: 'destination-suspended', queueId: req.queueId, destination: a.dest, until: a.until },
          suspendedText(a.reason),
        );
        return deferEveryRecipient(attemptReq, softStatus(a.status), suspendedText(a.reason));
      }
      let feedback: DestinationFeedback = { kind: 'none' };
      try {
        const result = await attempt();
        feedback = attemptFeedback(result);
        return result;
      } finally {
        const settled = a.give(feedback, clock.now() - a.startedAt);
        // Without a tracker of releases in flight, the result waits for the release's reply.
        if (deps.releases === undefined) await settled;
      }
    },
    cancel() {
      if (state !== 'open') return;
      state = 'cancelled';
      cancelled.abort();
      // No attempt ran: no feedback, and no hold time for the destination's average.
      void answer.then(
        (a) => {
          if (a.kind === 'granted') void a.give({ kind: 'none' }, -1);
        },
        () => undefined,
      );
    },
  };
}

/** Acquire (waiting in place while a local holder may free a lease); a grant starts renewing. */
async function ask(deps: GateDeps, req: LeaseRequest, waitSignal: () => AbortSignal): Promise<Answer> {
  const { leases, clock, logger } = deps;
  const dest = (await deps.keyOf?.(req)) ?? destinationKey(req);
  const params = destinationParams(dest, deps.opts);
  const leaseId = randomUUID();
  const { waiter } = req;
  const waiterId = waiter?.id ?? `${req.queueId}/${req.recipients[0]?.address ?? ''}`;
  const askedAt = clock.now();
  let grant = await leases.acquire(dest, leaseId, params, askedAt, waiterId);
  // In place: a local holder of the destination will give its lease back soon (the backlog case);
  // being woken by it beats a round trip through BullMQ's delayed set.
  let signal: AbortSignal | undefined;
  for (
    let tries = 0;
    grant.kind === 'busy' && deps.local !== undefined && tries < MAX_IN_PLACE_TRIES;
    tries++
  ) {
    const left = askedAt + params.busyWaitMs - clock.now();
    // At most one waiter per local holder: the rest go away at once, so that a saturated
    // destination does not keep every job slot of the process from other destinations.
    if (left <= 0 || deps.local.waiting(dest) >= deps.local.held(dest)) break;
    signal ??= waitSignal();
    await deps.local.wait(dest, Math.min(left, grant.retryInMs), signal);
    if (signal.aborted) break;
    grant = await leases.acquire(dest, leaseId, params, clock.now(), waiterId);
  }
  if (grant.kind === 'busy') return { kind: 'busy', dest, retryInMs: grant.retryInMs };
  if (grant.kind === 'suspended') return { ...grant, dest };
  const startedAt = clock.now();
  deps.local?.acquired(dest);
  deps.meter?.acquired(dest, grant.probe);
  if (grant.probe)
    logger.info(
      { event: 'destination-probe', queueId: req.queueId, destination: dest },
      `${dest}: probe after suspension`,
    );
  const renew = setInterval(
    () => {
      leases.renew(dest, leaseId, params, clock.now()).catch((err: unknown) => {
        logger.warn(
          { event: 'lease-renew-failed', destination: dest, err: String(err) },
          'could not renew a destination lease',
        );
      });
    },
    Math.max(100, Math.floor(params.leaseTtlMs / 3)),
  );
  renew.unref();
  const give = (feedback: DestinationFeedback, heldMs: number): Promise<void> => {
    clearInterval(renew);
    // The freed lease, and after a success the window's growth (slow start), for local waiters
    // first. They ask again at once: their requests leave behind this release on the store's one
    // connection (commands keep their order: they are sent after this synchronous block), a round
    // trip sooner than after its reply; one that overtook it would only be told "busy" and wait
    // again. The slots no local waiter took go to the earliest jobs waiting in the delayed set.
    const wake = feedback.kind === 'ok' ? 2 : 1;
    const woken = deps.local?.released(dest, wake) ?? 0;
    const handoff =
      waiter !== undefined && woken < wake
        ? { max: wake - woken, reserved: woken, queued: waiter.queued() }
        : undefined;
    const releasing = leases.release(dest, leaseId, params, feedback, clock.now(), heldMs, handoff);
    const settled = releasing.then(
      ({ outcome, handedTo }) => {
        deps.meter?.released(dest, outcome);
        if (handedTo.length > 0) waiter?.promote(handedTo);
      },
      (err: unknown) => {
        deps.meter?.released(dest, undefined);
        logger.warn(
          { event: 'lease-release-failed', destination: dest, err: String(err) },
          'could not return a destination lease; it expires by itself',
        );
      },
    );
    // With a tracker, the attempt's result does not wait for the release's reply (one round trip
    // less between two messages); the owner waits for what is in flight before it closes.
    const tracked = deps.releases;
    if (tracked !== undefined) {
      tracked.add(settled);
      void settled.then(() => tracked.delete(settled));
    }
    return settled;
  };
  return { kind: 'granted', give, startedAt };
}
