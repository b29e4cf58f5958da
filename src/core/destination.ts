/**
 * Destination management decisions (Postfix qmgr §8.3), pure: which destination a delivery
 * request counts against, that destination's limits, and what one finished attempt tells the
 * destination's window.
 *
 * Decides: the destination key (`transport:nexthop`, lower-case, as Postfix's queue name), the
 * per-destination settings (defaults, then `destinationOverrides` keyed by the key or by the
 * next-hop alone), the feedback of an attempt (a hop status = failure: connection or handshake
 * trouble on every server; anything else, even all-4xx replies to MAIL/RCPT/DATA, = success),
 * and the wording of a suspended destination's deferral ("delivery temporarily suspended: ...").
 * Never: stores anything (src/destinations does, atomically in Redis), reads the clock.
 */
import { parseDurationMs, type ResolvedOptions } from './options.ts';
import type { DestinationFeedback, DestinationParams } from './ports.ts';
import type { AttemptResult, Protocol } from './types.ts';

/** The queue name of a route: `smtp:example.com`, `smtp:[relay.example]:587`, `lmtp:unix:/p`. */
export function destinationKey(route: { protocol: Protocol; nexthop: string }): string {
  return `${route.protocol}:${route.nexthop.trim().toLowerCase()}`;
}

/**
 * With `destinationKey: 'mx-hosts'`: the destination of an MX route is the set of its MX host
 * names (sorted, lower-case, no trailing dot), so that many domains hosted by one provider share
 * one limit: `smtp:mx=mx1.provider.example,mx2.provider.example`. Undefined for an empty set.
 */
export function mxHostsKey(protocol: Protocol, exchanges: readonly string[]): string | undefined {
  const hosts = [
    ...new Set(exchanges.map((h) => h.toLowerCase().replace(/\.$/, '')).filter((h) => h !== '')),
  ].sort();
  return hosts.length === 0 ? undefined : `${protocol}:mx=${hosts.join(',')}`;
}

/** The settings in force for one destination. */
export function destinationParams(key: string, opts: ResolvedOptions): DestinationParams {
  const nexthop = key.slice(key.indexOf(':') + 1);
  const o = opts.destinationOverrides[key] ?? opts.destinationOverrides[nexthop] ?? {};
  const limit = Math.max(1, Math.floor(o.concurrencyLimit ?? opts.defaultDestinationConcurrencyLimit));
  return {
    concurrencyLimit: limit,
    initialConcurrency: Math.max(1, Math.min(limit, Math.floor(opts.initialDestinationConcurrency))),
    positiveFeedback: opts.defaultDestinationConcurrencyPositiveFeedback,
    negativeFeedback: opts.defaultDestinationConcurrencyNegativeFeedback,
    failedCohortLimit: Math.max(Number.MIN_VALUE, opts.defaultDestinationConcurrencyFailedCohortLimit),
    rateDelayMs:
      o.rateDelay !== undefined
        ? parseDurationMs(o.rateDelay, 'rateDelay')
        : opts.defaultDestinationRateDelay,
    suspendMs: opts.minimalBackoffTime,
    leaseTtlMs: Math.max(1000, opts.destinationLeaseTtl),
    busyWaitMs: Math.max(1, opts.destinationLeaseWait),
  };
}

/** What one finished attempt tells the window (Postfix: a hop status is the only failure). */
export function attemptFeedback(result: Pick<AttemptResult, 'hopStatus' | 'handoff'>): DestinationFeedback {
  const hop = result.hopStatus;
  if (hop === undefined) return { kind: 'ok' };
  return { kind: 'fail', status: softStatus(hop.status), reason: hop.text };
}

/** A status as its soft (4.x.x) form: deferrals of a suspended destination are always soft. */
export function softStatus(status: string): string {
  return /^[245]\.\d{1,3}\.\d{1,3}$/.test(status) ? `4${status.slice(1)}` : '4.3.0';
}

/** Postfix's text for recipients of a dead destination. */
export function suspendedText(reason: string): string {
  return `delivery temporarily suspended: ${reason}`;
}
