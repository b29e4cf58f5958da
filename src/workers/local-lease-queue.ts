/**
 * This process's side of the destination leases: how many leases of each destination its attempts
 * hold, and the attempts waiting in place for one of them to come back (Postfix's qmgr keeps a
 * message of a busy destination in the active queue until a delivery agent of that destination
 * is free, instead of sending it away and back).
 *
 * Decides: that a waiter is woken by a local release of its destination (oldest waiter first;
 * `wake` waiters per release: the freed lease, plus one for the window's growth after a success)
 * or by its timeout or abort, whichever comes first; wake-ups are not stored (a release with
 * nobody waiting wakes nobody later). The slots no local waiter took may be handed to jobs waiting
 * in BullMQ's delayed set (destination-gate.ts): waiting in place comes first.
 * Never: talks to Redis or grants anything (the caller asks the lease store again when woken).
 */

export interface LocalLeaseQueue {
  /** Leases of `dest` held by attempts of this process now. */
  held(dest: string): number;
  /** Attempts of this process waiting in place for a lease of `dest` now. */
  waiting(dest: string): number;
  acquired(dest: string): void;
  /** A lease of `dest` went back to the store: wake up to `wake` waiters of it; returns how many. */
  released(dest: string, wake: number): number;
  /** Resolves true when woken by a release, false after `ms` or on abort. */
  wait(dest: string, ms: number, signal?: AbortSignal): Promise<boolean>;
}

type Waiter = (woken: boolean) => void;

export function createLocalLeaseQueue(): LocalLeaseQueue {
  const holders = new Map<string, number>();
  const waiters = new Map<string, Waiter[]>();
  return {
    held: (dest) => holders.get(dest) ?? 0,
    waiting: (dest) => waiters.get(dest)?.length ?? 0,
    acquired(dest) {
      holders.set(dest, (holders.get(dest) ?? 0) + 1);
    },
    released(dest, wake) {
      const n = (holders.get(dest) ?? 0) - 1;
      if (n > 0) holders.set(dest, n);
      else holders.delete(dest);
      const list = waiters.get(dest);
      let woken = 0;
      for (; woken < wake && list !== undefined && list.length > 0; woken++) list.shift()?.(true);
      if (list !== undefined && list.length === 0) waiters.delete(dest);
      return woken;
    },
    wait(dest, ms, signal) {
      if (signal?.aborted || ms <= 0) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        const done: Waiter = (woken) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          const list = waiters.get(dest);
          const i = list?.indexOf(done) ?? -1;
          if (list !== undefined && i >= 0) list.splice(i, 1);
          if (list !== undefined && list.length === 0) waiters.delete(dest);
          resolve(woken);
        };
        const onAbort = (): void => done(false);
        const timer = setTimeout(() => done(false), ms);
        signal?.addEventListener('abort', onAbort, { once: true });
        const list = waiters.get(dest);
        if (list === undefined) waiters.set(dest, [done]);
        else list.push(done);
      });
    },
  };
}
