/**
 * Destination lease and suspension metrics of one delivery agent: what destination-gate.ts tells
 * the recorder, with the count of leases this process holds per destination.
 *
 * Decides: that the in-use gauge is this process's held leases (a pool sums its children); that a
 * suspension is counted by the process whose release suspended the destination (Redis says so),
 * and its gauge drops when this process lifts it or is granted a lease that is no probe (the
 * suspension is over).
 * Never: talks to Redis or decides anything about leases; holds module-level state (one meter per
 * agent, made at composition).
 */
import type { MetricsRecorder } from './recorder.ts';

export interface LeaseMeter {
  acquired(destination: string, probe: boolean): void;
  busy(destination: string): void;
  released(destination: string, outcome: 'suspended' | 'resumed' | undefined): void;
}

export function createLeaseMeter(recorder: MetricsRecorder): LeaseMeter {
  const held = new Map<string, number>();
  const suspended = new Set<string>();
  const hold = (destination: string, delta: number): void => {
    const n = Math.max(0, (held.get(destination) ?? 0) + delta);
    if (n === 0) held.delete(destination);
    else held.set(destination, n);
    recorder.destinationLeases(destination, n);
  };
  const resumed = (destination: string): void => {
    if (suspended.delete(destination)) recorder.destinationSuspended(destination, false);
  };
  return {
    acquired(destination, probe) {
      recorder.destinationLease(destination, 'acquired');
      hold(destination, 1);
      if (!probe) resumed(destination);
    },
    busy: (destination) => recorder.destinationLease(destination, 'busy'),
    released(destination, outcome) {
      hold(destination, -1);
      if (outcome === 'suspended') {
        suspended.add(destination);
        recorder.destinationSuspended(destination, true);
      } else if (outcome === 'resumed') resumed(destination);
    },
  };
}
