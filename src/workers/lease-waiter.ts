/**
 * A queued job as a waiter for its destination's lease (destination-gate.ts LeaseWaiter): its
 * name among the destination's waiting jobs (the BullMQ job id), the jobs queued to run now that a
 * release weighs before it hands freed slots on, and the promotion of the jobs it hands them to.
 *
 * Decides: that a promotion runs off the attempt's path and a job no longer delayed is only a debug
 * line; that the queued count is an estimate refreshed in the background (at most every 0.5 s, one
 * count in flight), so a release never waits for it.
 * Never: decides who gets a slot (the release script does, lease-scripts.ts) or talks to BullMQ
 * itself (the worker runtime passes `promote` and the count).
 */
import type { Clock, Logger } from '../core/ports.ts';
import type { LeaseWaiter } from './destination-gate.ts';

/**
 * This job among its destination's waiting jobs, and the promotion of the ones a lease release
 * hands its slots to: off the attempt's path; a job that is no longer delayed (it came back by
 * itself, or was removed) is no harm, only a debug line. A promoted job joins the back of BullMQ's
 * `wait` list, so with jobs already waiting there a free job slot takes those first and the
 * promoted one would meet a full window again (the one-destination backlog: the waiting jobs are
 * that destination's own): a release reports that list's length (`queued`, an estimate) and the
 * release script hands on only the slots those jobs cannot fill while other leases of the
 * destination are held; the rest of the delayed jobs stay in the destination's waiting list for
 * the releases after the backlog has drained (lease-scripts.ts).
 */
export function leaseWaiter(
  jobId: string,
  log: Logger,
  promote: (jobId: string) => Promise<void>,
  waiting: () => number,
): LeaseWaiter {
  return {
    id: jobId,
    queued: waiting,
    promote(jobIds) {
      for (const id of jobIds)
        promote(id).then(
          () => log.debug({ event: 'waiter-promoted', promoted: id }, `job ${id} promoted`),
          (err: unknown) =>
            log.debug(
              { event: 'waiter-not-promoted', promoted: id, err: String(err) },
              `job ${id} not promoted (no longer delayed)`,
            ),
        );
    },
  };
}

/**
 * The length of BullMQ's `wait` list as last counted: a count older than `maxAgeMs` is refreshed
 * in the background (at most one in flight), so asking costs no round trip on a release's path;
 * before the first count, and without a counter, it is 0 (every freed slot may be handed on).
 */
export function waitingEstimate(
  count: (() => Promise<number>) | undefined,
  clock: Clock,
  maxAgeMs = 500,
): () => number {
  let value = 0;
  let at = Number.NEGATIVE_INFINITY;
  let counting = false;
  return () => {
    const now = clock.now();
    if (count !== undefined && !counting && now - at > maxAgeMs) {
      counting = true;
      count().then(
        (n) => {
          value = n;
          at = clock.now();
          counting = false;
        },
        () => {
          at = clock.now();
          counting = false;
        },
      );
    }
    return value;
  };
}
