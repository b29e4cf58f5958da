/**
 * The Redis side of pool-wide destination leases (the DestinationLeases port) and the operator
 * view of destinations (`mxq destinations`, `mxq suspend`, `mxq resume`).
 *
 * Decides: key names under the queue prefix (hash-tagged, so one Cluster slot), how long window
 * state outlives its last use (7 days), and the shape of a destination's status. One round trip
 * per acquire, renew and release (the scripts in lease-scripts.ts); a release asked to hand its
 * freed slots on returns the waiter ids it took out of the waiting list.
 * Never: decides limits or feedback (core/destination.ts does), reads the clock.
 */
import type { Redis } from 'ioredis';
import type {
  DestinationFeedback,
  DestinationLeases,
  DestinationParams,
  LeaseGrant,
  LeaseHandoff,
  LeaseRelease,
} from '../core/ports.ts';
import { type LuaScript, luaScript, scriptRunner } from '../queue/lua.ts';
import { ACQUIRE_LUA, RELEASE_LUA, RENEW_LUA } from './lease-scripts.ts';

export const STATE_TTL_MS = 7 * 86_400_000;

export interface DestinationKeys {
  leases(dest: string): string;
  state(dest: string): string;
  waiters(dest: string): string;
  index: string;
}

export function destinationKeys(prefix: string): DestinationKeys {
  return {
    leases: (dest) => `${prefix}:dest:${dest}:leases`,
    waiters: (dest) => `${prefix}:dest:${dest}:waiters`,
    state: (dest) => `${prefix}:dest:${dest}:state`,
    index: `${prefix}:dests`,
  };
}

type Eval = (script: LuaScript, keys: string[], args: Array<string | number>) => Promise<unknown>;

const ACQUIRE = luaScript(ACQUIRE_LUA);
const RENEW = luaScript(RENEW_LUA);
const RELEASE = luaScript(RELEASE_LUA);

// One runner per store: the first call of each script goes by text, so calls keep their order on
// the connection (destination-gate.ts wakes local waiters as a release is sent).
function evaluator(redis: Redis): Eval {
  return scriptRunner(redis);
}

function asStrings(x: unknown): string[] {
  return Array.isArray(x) ? x.map((v) => String(v)) : [];
}

/** The DestinationLeases port over one Redis connection. */
export function createLeaseStore(redis: Redis, prefix: string): DestinationLeases {
  const k = destinationKeys(prefix);
  const run = evaluator(redis);
  const keysOf = (dest: string) => [k.leases(dest), k.state(dest), k.index, k.waiters(dest)];
  return {
    async acquire(dest, leaseId, p: DestinationParams, now, waiterId = leaseId): Promise<LeaseGrant> {
      const r = asStrings(
        await run(ACQUIRE, keysOf(dest), [
          now,
          leaseId,
          p.leaseTtlMs,
          p.concurrencyLimit,
          p.initialConcurrency,
          p.rateDelayMs,
          p.busyWaitMs,
          STATE_TTL_MS,
          dest,
          waiterId,
        ]),
      );
      if (r[0] === 'granted') return { kind: 'granted', probe: r[1] === '1' };
      if (r[0] === 'suspended')
        return { kind: 'suspended', until: Number(r[1]), status: r[2] ?? '4.3.0', reason: r[3] ?? '' };
      return { kind: 'busy', retryInMs: Math.max(1, Number(r[1]) || p.busyWaitMs) };
    },
    async renew(dest, leaseId, p, now) {
      await run(RENEW, keysOf(dest), [now, leaseId, p.leaseTtlMs]);
    },
    async release(dest, leaseId, p, fb: DestinationFeedback, now, heldMs = -1, handoff?: LeaseHandoff) {
      const r = await run(RELEASE, keysOf(dest), [
        now,
        leaseId,
        fb.kind,
        fb.kind === 'fail' ? fb.status : '',
        fb.kind === 'fail' ? fb.reason : '',
        p.concurrencyLimit,
        p.initialConcurrency,
        p.positiveFeedback,
        p.negativeFeedback,
        p.failedCohortLimit,
        p.suspendMs,
        STATE_TTL_MS,
        heldMs,
        handoff?.max ?? 0,
        handoff?.reserved ?? 0,
        handoff?.queued ?? 0,
      ]);
      const [code, ...handedTo] = asStrings(r);
      const out: LeaseRelease = { handedTo };
      if (code === '2') out.outcome = 'suspended';
      else if (code === '3') out.outcome = 'resumed';
      return out;
    },
  };
}

export interface DestinationStatus {
  destination: string;
  leasesInUse: number;
  window: number;
  failCohorts: number;
  suspendedUntil?: number;
  status?: string;
  reason?: string;
  lastUsedAt: number;
}

/** Every destination with window state (used in the last 7 days), most recently used first. */
export async function listDestinations(
  redis: Redis,
  prefix: string,
  now: number,
): Promise<DestinationStatus[]> {
  const k = destinationKeys(prefix);
  const entries = await redis.zrevrange(k.index, 0, -1, 'WITHSCORES');
  const out: DestinationStatus[] = [];
  for (let i = 0; i + 1 < entries.length; i += 2) {
    const dest = entries[i] ?? '';
    // The index is written when a destination's state is created; the state expires 7 days after
    // its last release (its lastUsedAt): an entry whose state is gone is dropped here.
    if ((await redis.exists(k.state(dest))) === 0) {
      await redis.zrem(k.index, dest);
      continue;
    }
    const s = await destinationStatus(redis, prefix, dest, now);
    out.push(s.lastUsedAt > 0 ? s : { ...s, lastUsedAt: Number(entries[i + 1]) });
  }
  return out.sort((a, b) => b.lastUsedAt - a.lastUsedAt);
}

/** One destination's leases in use and window state. */
export async function destinationStatus(
  redis: Redis,
  prefix: string,
  dest: string,
  now: number,
): Promise<DestinationStatus> {
  const k = destinationKeys(prefix);
  const [inUse, st] = await Promise.all([
    redis.zcount(k.leases(dest), `(${now}`, '+inf'),
    redis.hmget(k.state(dest), 'window', 'failCohorts', 'suspendedUntil', 'status', 'reason', 'lastUsedAt'),
  ]);
  const s: DestinationStatus = {
    destination: dest,
    leasesInUse: inUse,
    window: Number(st[0] ?? 0),
    failCohorts: Number(st[1] ?? 0),
    lastUsedAt: Number(st[5] ?? 0),
  };
  const until = Number(st[2] ?? 0);
  if (until > now) {
    s.suspendedUntil = until;
    if (st[3] !== null && st[3] !== undefined) s.status = st[3];
    if (st[4] !== null && st[4] !== undefined) s.reason = st[4];
  }
  return s;
}

/** Operator suspension: the destination refuses leases until `until` (then one probe goes first). */
export async function suspendDestination(
  redis: Redis,
  prefix: string,
  dest: string,
  p: { until: number; reason: string; now: number },
): Promise<void> {
  const k = destinationKeys(prefix);
  await redis
    .multi()
    .hset(
      k.state(dest),
      'suspendedUntil',
      String(p.until),
      'status',
      '4.3.0',
      'reason',
      p.reason,
      'suspendedAt',
      String(p.now),
    )
    .pexpire(k.state(dest), Math.max(STATE_TTL_MS, p.until - p.now))
    .zadd(k.index, p.now, dest)
    .exec();
}

/** Operator resume: lift a suspension now (the window restarts at the initial concurrency). */
export async function resumeDestination(
  redis: Redis,
  prefix: string,
  dest: string,
  initial: number,
): Promise<boolean> {
  const k = destinationKeys(prefix);
  const removed = await redis.hdel(k.state(dest), 'suspendedUntil', 'status', 'reason', 'suspendedAt');
  await redis.hset(k.state(dest), 'window', String(initial), 'failCohorts', '0');
  return removed > 0;
}
