/**
 * The metrics port: what a worker (and the pool, session caches, destination leases) tells the
 * metrics module, as a small object passed in at composition. The Prometheus side is registry.ts.
 *
 * Decides: the recorder's vocabulary (delivery events, attempts, session-cache lookups by tier,
 * destination leases and suspensions) and the no-op recorder used when metrics are off.
 * Never: imports Node or npm modules, holds state, talks to Prometheus.
 *
 * Who calls what (see docs/metrics.md):
 *   deliveryEvent, attempt        src/workers/processor.ts, once per attempt
 *   sessionCacheLookup            the session caches through countCacheLookups (local: agent.ts)
 *   destinationLease(s)/Suspended src/workers/destination-gate.ts through lease-meter.ts
 */

export type DeliveryEventKind = 'sent' | 'deferred' | 'bounced' | 'expired' | 'delayed';
export type AttemptOutcome = 'sent' | 'deferred' | 'bounced' | 'mixed';
export type SessionCacheTier = 'local' | 'host' | 'cluster';

export interface MetricsRecorder {
  /** One recipient event of an attempt, with its enhanced status (e.g. "5.1.1"; "" when none). */
  deliveryEvent(event: DeliveryEventKind, dsn: string): void;
  /** One delivery attempt (one agent.deliver call) took `seconds`. */
  attempt(seconds: number, labels: { transport: 'smtp' | 'lmtp'; outcome: AttemptOutcome }): void;
  /** A session-cache lookup in one tier found an idle session (hit) or not (miss). */
  sessionCacheLookup(tier: SessionCacheTier, result: 'hit' | 'miss'): void;
  /** A lease of a destination was granted to this process, or it found none free (busy). */
  destinationLease(destination: string, event: 'acquired' | 'busy'): void;
  /** Leases this process now holds for a destination (0 when none: the series is dropped). */
  destinationLeases(destination: string, held: number): void;
  /** This process suspended a destination (true: counted) or saw it resumed (false). */
  destinationSuspended(destination: string, suspended: boolean): void;
}

function nothing(): void {}

/** The recorder used when metrics are off. */
export const NOOP_RECORDER: MetricsRecorder = Object.freeze({
  deliveryEvent: nothing,
  attempt: nothing,
  sessionCacheLookup: nothing,
  destinationLease: nothing,
  destinationLeases: nothing,
  destinationSuspended: nothing,
});

/** "5.1.1" → "5"; anything else → "none". */
export function dsnClass(dsn: string): '2' | '4' | '5' | 'none' {
  const c = dsn.charAt(0);
  return c === '2' || c === '4' || c === '5' ? c : 'none';
}

/** The outcome label of an attempt from its recipients' events. */
export function attemptOutcome(events: ReadonlyArray<{ event: DeliveryEventKind }>): AttemptOutcome {
  const kinds = new Set(
    events.filter((e) => e.event !== 'delayed').map((e) => (e.event === 'expired' ? 'bounced' : e.event)),
  );
  if (kinds.size === 1) {
    const [only] = kinds;
    if (only === 'sent' || only === 'deferred' || only === 'bounced') return only;
  }
  return kinds.size === 0 ? 'deferred' : 'mixed';
}

/** Records one attempt and its recipient events (the processor's one call per attempt). */
export function recordAttempt(
  recorder: MetricsRecorder,
  transport: 'smtp' | 'lmtp',
  seconds: number,
  events: ReadonlyArray<{ event: DeliveryEventKind; dsn: string }>,
): void {
  for (const e of events) recorder.deliveryEvent(e.event, e.dsn);
  recorder.attempt(seconds, { transport, outcome: attemptOutcome(events) });
}
