/**
 * The one classifier (Postfix smtp_trouble.c): what a delivery failure means for a recipient.
 *
 * Decides: KEEP (try the next server), defer or bounce, from the first digit of the DSN status,
 * whether this is the final server, the SOFT_NON_FINAL flag and soft_bounce (§9.1):
 *   soft  → keep at a non-final server, defer at the final one;
 *   hard  → bounce (SOFT_NON_FINAL or soft_bounce: keep at a non-final server);
 *   soft_bounce at the final server: defer with 4.x.x and mark it SOFTBOUNCE.
 * A status that is neither 4.x.x nor 5.x.x is a protocol error: 5.5.0.
 * Never: logs, writes results or looks at reply codes (only at the DSN status).
 */
import { isHardStatus, isSoftStatus, isValidStatus, softenStatus } from './dsn.ts';
import type { DeliveryFailure } from './types.ts';

export type Disposition = 'keep' | 'defer' | 'bounce';

export interface TroubleOutcome {
  disposition: Disposition;
  /** The status to report: the failure's status, 5.5.0 for a protocol error, 4.x.x under soft_bounce. */
  status: string;
  /** soft_bounce turned a bounce into this deferral. */
  softBounced: boolean;
}

/** The status a failure handler works with: anything but 4.x.x / 5.x.x becomes 5.5.0. */
export function normalizeFailureStatus(status: string): string {
  return isValidStatus(status) && !status.startsWith('2') ? status : '5.5.0';
}

export function classifyFailure(
  failure: Pick<DeliveryFailure, 'status' | 'softNonFinal'>,
  ctx: { finalServer: boolean; softBounce: boolean },
): TroubleOutcome {
  const status = normalizeFailureStatus(failure.status);
  if (isSoftStatus(status)) {
    return { disposition: ctx.finalServer ? 'defer' : 'keep', status, softBounced: false };
  }
  if (!ctx.finalServer && (failure.softNonFinal === true || ctx.softBounce)) {
    return { disposition: 'keep', status, softBounced: false };
  }
  if (ctx.softBounce) {
    return { disposition: 'defer', status: softenStatus(status), softBounced: true };
  }
  return { disposition: 'bounce', status, softBounced: false };
}

/** "x.4.6": a mail loop (loops back to myself / unable to find primary relay is x.4.4). */
export function isLoopStatus(status: string): boolean {
  return /^[45]\.4\.6$/.test(status);
}

/** Hard as a failure handler sees it: 5.x.x, or a malformed status (a protocol error, 5.5.0). */
export function isHardFailureStatus(status: string): boolean {
  return isHardStatus(normalizeFailureStatus(status));
}
