/**
 * Queue-manager retry timing (spec §8.1/§8.2): when a deferred message is tried again, when it
 * expires, and when its one delayed-mail warning is due.
 *
 * Decides: delay = clamp(age, minimalBackoffTime, maximalBackoffTime) with ±10% jitter (so that
 * messages deferred together do not come back together), kept inside [min, max]; expiry after
 * maximalQueueLifetime (bounceQueueLifetime for null-sender mail; 0 = try once); whether the
 * delay warning is due (delayWarningTime; 0 = off).
 * Never: reads the clock (time comes in as arguments), moves jobs, sends warnings.
 */
import type { ResolvedOptions } from './options.ts';
import type { Random } from './ports.ts';

/** Relative jitter applied to the backoff delay: ±10%. */
export const BACKOFF_JITTER = 0.1;

type BackoffOptions = Pick<ResolvedOptions, 'minimalBackoffTime' | 'maximalBackoffTime'>;
type LifetimeOptions = Pick<ResolvedOptions, 'maximalQueueLifetime' | 'bounceQueueLifetime'>;

/** Postfix's un-jittered backoff: the message age clamped to [min, max] (ms). */
export function baseBackoffMs(age: number, opts: BackoffOptions): number {
  const min = opts.minimalBackoffTime;
  const max = Math.max(min, opts.maximalBackoffTime);
  return Math.min(max, Math.max(min, age));
}

/**
 * How long a deferred message waits before the next attempt (ms): clamp(age, min, max) with
 * ±10% jitter from `random`, never below minimalBackoffTime, never above maximalBackoffTime.
 */
export function backoffDelayMs(p: {
  arrivalTime: number;
  now: number;
  opts: BackoffOptions;
  random: Random;
}): number {
  const base = baseBackoffMs(Math.max(0, p.now - p.arrivalTime), p.opts);
  const factor = 1 + BACKOFF_JITTER * (2 * p.random.next() - 1);
  const min = p.opts.minimalBackoffTime;
  const max = Math.max(min, p.opts.maximalBackoffTime);
  return Math.round(Math.min(max, Math.max(min, base * factor)));
}

/** The queue lifetime that applies to a message (ms). */
export function queueLifetimeMs(nullSender: boolean, opts: LifetimeOptions): number {
  return nullSender ? opts.bounceQueueLifetime : opts.maximalQueueLifetime;
}

/** Deferred recipients expire once now ≥ arrival + lifetime; a lifetime of 0 means "try once". */
export function isExpired(p: {
  arrivalTime: number;
  now: number;
  nullSender: boolean;
  opts: LifetimeOptions;
}): boolean {
  return p.now >= p.arrivalTime + queueLifetimeMs(p.nullSender, p.opts);
}

/** The time (ms since epoch) until which a delayed recipient will be retried (Will-Retry-Until). */
export function willRetryUntil(p: {
  arrivalTime: number;
  nullSender: boolean;
  opts: LifetimeOptions;
}): number {
  return p.arrivalTime + queueLifetimeMs(p.nullSender, p.opts);
}

/**
 * The single delayed-mail warning is due when delayWarningTime > 0, it was not sent yet, the
 * message has not expired, and now ≥ arrival + delayWarningTime.
 */
export function delayWarningDue(p: {
  arrivalTime: number;
  now: number;
  alreadyWarned: boolean;
  nullSender?: boolean;
  opts: Pick<ResolvedOptions, 'delayWarningTime'> & LifetimeOptions;
}): boolean {
  if (p.alreadyWarned || p.opts.delayWarningTime <= 0) return false;
  if (isExpired({ arrivalTime: p.arrivalTime, now: p.now, nullSender: p.nullSender ?? false, opts: p.opts }))
    return false;
  return p.now >= p.arrivalTime + p.opts.delayWarningTime;
}
