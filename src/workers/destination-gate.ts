/**
 * Runs one routed attempt under a pool-wide lease of its destination (Postfix qmgr's per-
 * destination concurrency, §8.3), and the short wait of a job that found no free lease.
 *
 * Decides: the order acquire → attempt → release-with-feedback; renewal of the lease every third
 * of its TTL while the attempt runs (a dead process's lease expires by itself); that a suspended
 * destination defers every recipient without connecting, with Postfix's wording; that a busy
 * destination throws DestinationBusyError (the processor delays the job without counting an
 * attempt or a backoff step), unless this process holds a lease of it: then the attempt first
 * waits in place for a local release (local-lease-queue.ts), up to destinationLeaseWait, with at
 * most as many attempts waiting as the process holds leases of the destination. A release hands
 * the slots it frees (one, two after a success: the window's growth) to local waiters first, then
 * (queued jobs only) to the earliest jobs of the destination waiting in BullMQ's delayed set, which
 * the processor promotes so that a free worker slot takes them at once (Postfix's qmgr gives a
 * freed delivery agent to the next message of the destination); they ask for a lease again as
 * usual. A lease is held for the whole attempt (one delivery agent, one connection at a time) and
 * returned when the attempt ends; idle cached sessions hold no lease, as Postfix's scache sessions
 * are outside qmgr's concurrency count. Redis trouble while releasing is logged: the lease then
 * expires after its TTL.
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

export interface GateDeps {
  leases: DestinationLeases;
  /** The destination key when it is not the next-hop (destinationKey: 'mx-hosts'). */
  keyOf?: (req: AttemptRequest) => Promise<string | undefined>;
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
  promote(jobIds: string[]): void;
}

export async function runUnderLease(
  deps: GateDeps,
  req: AttemptRequest,
  run: () => Promise<AttemptResult>,
  waiter?: LeaseWaiter,
): Promise<AttemptResult> {
  const { leases, clock, logger } = deps;
  const dest = (await deps.keyOf?.(req)) ?? destinationKey(req);
  const params = destinationParams(dest, deps.opts);
  const leaseId = randomUUID();
  const waiterId = waiter?.id ?? `${req.queueId}/${req.recipients[0]?.address ?? ''}`;
  const askedAt = clock.now();
  let grant = await leases.acquire(dest, leaseId, params, askedAt, waiterId);
  // In place: a local holder of the destination will give its lease back soon (the backlog case);
  // being woken by it beats a round trip through BullMQ's delayed set.
  for (
    let tries = 0;
    grant.kind === 'busy' && deps.local !== undefined && tries < MAX_IN_PLACE_TRIES;
    tries++
  ) {
    const left = askedAt + params.busyWaitMs - clock.now();
    // At most one waiter per local holder: the rest go away at once, so that a saturated
    // destination does not keep every job slot of the process from other destinations.
    if (left <= 0 || deps.local.waiting(dest) >= deps.local.held(dest)) break;
    await deps.local.wait(dest, Math.min(left, grant.retryInMs), req.signal);
    if (req.signal?.aborted) break;
    grant = await leases.acquire(dest, leaseId, params, clock.now(), waiterId);
  }
  if (grant.kind === 'busy') {
    deps.meter?.busy(dest);
    throw new DestinationBusyError(dest, grant.retryInMs);
  }
  if (grant.kind === 'suspended') {
    logger.info(
      { event: 'destination-suspended', queueId: req.queueId, destination: dest, until: grant.until },
      suspendedText(grant.reason),
    );
    return deferEveryRecipient(req, softStatus(grant.status), suspendedText(grant.reason));
  }
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
  let feedback: DestinationFeedback = { kind: 'none' };
  try {
    const result = await run();
    feedback = attemptFeedback(result);
    return result;
  } finally {
    clearInterval(renew);
    const now = clock.now();
    // The freed lease, and after a success the window's growth (slow start), for local waiters
    // first. They ask again at once: their requests leave behind this release on the store's one
    // connection (commands keep their order: they are sent after this synchronous block), a round
    // trip sooner than after its reply; one that overtook it would only be told "busy" and wait
    // again. The slots no local waiter took go to the earliest jobs waiting in the delayed set.
    const wake = feedback.kind === 'ok' ? 2 : 1;
    const woken = deps.local?.released(dest, wake) ?? 0;
    const handoff = waiter !== undefined && woken < wake ? { max: wake - woken, reserved: woken } : undefined;
    const releasing = leases.release(dest, leaseId, params, feedback, now, now - startedAt, handoff);
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
    if (deps.releases === undefined) await settled;
    else {
      const tracked = deps.releases;
      tracked.add(settled);
      void settled.then(() => tracked.delete(settled));
    }
  }
}
