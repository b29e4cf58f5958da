/**
 * The Lua scripts of the pool-wide destination leases: one round trip to acquire, one to renew,
 * one to release (with the attempt's feedback). Atomic in Redis, so every process and host sees
 * one window per destination.
 *
 * Keys (all under the queue's hash-tagged prefix): KEYS[1] = ZSET of leases (member = lease id,
 * score = expiry ms), KEYS[2] = HASH of window state (window, failCohorts, suspendedUntil, status,
 * reason, nextAt, holdMs, lastUsedAt, waitedAt, ttlAt), KEYS[3] = ZSET index of destinations (score =
 * when its state was created; an entry whose state expired is dropped by listDestinations), KEYS[4] =
 * ZSET of jobs waiting for a lease (member = waiter id, score = when it comes back).
 * Waiting: a refused job is told to come back after about (waiters ahead / window) × the average
 * time a lease is held (at least busyWaitMs, at most 10 s), so thousands of jobs queued for one
 * small destination do not all poll it every second. While no failed cohort holds the window
 * down (slow start: it grows with each success), the limit stands in for the window: dividing by
 * the initial window sent a backlog's jobs 10 s away while the window had already reached 20.
 * Hand-off: a release may give the slots it frees to the earliest waiters (it takes them out of the
 * set and returns their ids; the worker promotes those jobs from BullMQ's delayed set, and they ask
 * for a lease again as usual), no more than the window has free; none while suspended.
 * Decides: nothing beyond the arithmetic core/destination.ts describes: expired leases are not
 * counted (they are dropped when the window is full); a suspended destination refuses leases until
 * its pause ends, then grants one probe at a time (while it runs, everyone else is still told
 * "suspended"); a success resets failCohorts, lifts a suspension
 * (window back to the initial concurrency) or grows the window by the positive feedback up to the
 * limit; a failure shrinks it by the negative feedback (minimum 1) and adds 1/window to
 * failCohorts: at the cohort limit, or when a probe fails, the destination is suspended.
 * Cost (issue 10): a grant runs 4 commands (HMGET, ZCOUNT, ZADD, PEXPIRE; + ZREM of its waiter entry
 * within 4 minutes of a refusal, + 3 when it creates the state), a release 3 (ZREM, HMGET, HSET;
 * + PEXPIRE when the state's TTL was last set over an hour ago: it expires 7 days ± 1 hour after
 * the last use); a release asked to hand its slots on, within 2 minutes of a refusal of the
 * destination (its waitedAt, read by the same HMGET), + ZRANGE of the waiters, + ZCOUNT and ZREM
 * when some wait; one that finds nobody waiting clears waitedAt: a release with no refusal since
 * the last one that found the set empty costs the same 3; + ZCOUNT when the worker reports jobs
 * queued in BullMQ's wait list (then nothing is handed while other leases are held and the queued
 * jobs can fill the freed slots). Every release writes lastUsedAt.
 * Never: reads the clock (times come as arguments).
 */

/** ARGV: now, leaseId, ttlMs, limit, initial, rateDelayMs, busyWaitMs, stateTtlMs, dest, waiterId */
export const ACQUIRE_LUA = `
local now = tonumber(ARGV[1])
local st = redis.call('HMGET', KEYS[2], 'window', 'suspendedUntil', 'status', 'reason', 'nextAt', 'holdMs',
  'waitedAt', 'failCohorts')
local function wait(cap)
  -- the window is full: drop expired leases (of dead processes) and stale waiters here, off the
  -- path of a grant
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - 60000)
  local busyWait = tonumber(ARGV[7])
  local hold = tonumber(st[6]) or busyWait
  redis.call('ZADD', KEYS[4], now + busyWait, ARGV[10])
  local waiting = redis.call('ZCARD', KEYS[4])
  local ms = math.max(busyWait, math.min(10000, math.ceil(waiting / math.max(1, cap)) * hold))
  redis.call('ZADD', KEYS[4], now + ms, ARGV[10])
  redis.call('PEXPIRE', KEYS[4], 120000)
  -- a grant removes its waiter entry only while the waiters set may exist (skew margin: 2x)
  redis.call('HSET', KEYS[2], 'waitedAt', ARGV[1])
  if st[1] == false then redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[8])) end
  return {'busy', tostring(ms)}
end
local limit = tonumber(ARGV[4])
local window = tonumber(st[1]) or tonumber(ARGV[5])
local suspendedUntil = tonumber(st[2]) or 0
-- leases not expired (score = expiry)
local inUse = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '+inf')
local probe = 0
if suspendedUntil > 0 then
  if now < suspendedUntil then
    return {'suspended', tostring(suspendedUntil), st[3] or '4.3.0', st[4] or ''}
  end
  -- the probe is running: the destination is still suspended for everyone else
  if inUse > 0 then return {'suspended', tostring(now), st[3] or '4.3.0', st[4] or ''} end
  probe = 1
end
local cap = math.min(limit, math.max(1, math.floor(window)))
-- spacing: by the window while failures hold it down; during slow start (no failed cohort) the
-- window grows with every success, so the waiters ahead are served at the limit's pace
if inUse >= cap then
  if (tonumber(st[8]) or 0) > 0 then return wait(cap) end
  return wait(limit)
end
local nextAt = tonumber(st[5]) or 0
if nextAt > now then return {'busy', tostring(nextAt - now)} end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
if st[7] and now < tonumber(st[7]) + 240000 then redis.call('ZREM', KEYS[4], ARGV[10]) end
-- releases renew the state's TTL (hourly) and lastUsedAt; a new state gets its TTL and its index
-- entry here
if st[1] == false then
  redis.call('HSET', KEYS[2], 'window', tostring(window), 'ttlAt', ARGV[1])
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[8]))
  redis.call('ZADD', KEYS[3], now, ARGV[9])
end
if tonumber(ARGV[6]) > 0 then redis.call('HSET', KEYS[2], 'nextAt', tostring(now + tonumber(ARGV[6]))) end
return {'granted', tostring(probe)}
`;

/** ARGV: now, leaseId, ttlMs */
export const RENEW_LUA = `
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[3]), ARGV[2])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
  return 1
end
return 0
`;

/**
 * ARGV: now, leaseId, feedback (ok|fail|none), status, reason, limit, initial, positive, negative,
 * cohortLimit, suspendMs, stateTtlMs, heldMs, handoff, reserved, queued
 * Returns {outcome, waiter ids...}: outcome 2 when this release suspended the destination, 3 when
 * it lifted a suspension, else 0/1; then the waiters handed the slots this release freed (taken out
 * of the waiters set, earliest first: at most `handoff`, and no more than the window's free leases
 * less `reserved`, the local waiters it already woke; none while the destination is suspended).
 */
export const RELEASE_LUA = `
local now = tonumber(ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[2])
local st = redis.call('HMGET', KEYS[2], 'window', 'failCohorts', 'suspendedUntil', 'holdMs', 'ttlAt',
  'waitedAt')
local set = {'lastUsedAt', ARGV[1]}
-- the state's TTL is renewed when it was last set more than an hour ago (or never, or ahead)
local ttlAt = tonumber(st[5])
local renewTtl = ttlAt == nil or now - ttlAt > 3600000 or now < ttlAt
if renewTtl then
  set[#set + 1] = 'ttlAt'
  set[#set + 1] = ARGV[1]
end
local held = tonumber(ARGV[13])
if held ~= nil and held >= 0 then
  local avg = tonumber(st[4])
  avg = avg and (avg * 0.9 + held * 0.1) or held
  set[#set + 1] = 'holdMs'
  set[#set + 1] = tostring(math.floor(avg))
end
local fb = ARGV[3]
local outcome = 0
local limit = tonumber(ARGV[6])
local initial = tonumber(ARGV[7])
local window = tonumber(st[1]) or initial
local suspendedUntil = tonumber(st[3]) or 0
if fb ~= 'none' then
  local cohorts = tonumber(st[2]) or 0
  outcome = 1
  if fb == 'ok' then
    if suspendedUntil > 0 then
      if now >= suspendedUntil then
        window = initial
        redis.call('HDEL', KEYS[2], 'suspendedUntil', 'status', 'reason', 'suspendedAt')
        outcome = 3
      end
    else
      window = math.min(limit, window + tonumber(ARGV[8]))
    end
    cohorts = 0
  else
    cohorts = cohorts + 1 / math.max(1, window)
    window = math.max(1, window - tonumber(ARGV[9]))
    if cohorts >= tonumber(ARGV[10]) or suspendedUntil > 0 then
      for _, v in ipairs({'suspendedUntil', tostring(now + tonumber(ARGV[11])), 'status', ARGV[4],
          'reason', ARGV[5], 'suspendedAt', tostring(now)}) do
        set[#set + 1] = v
      end
      outcome = 2
      window = initial
      cohorts = 0
    end
  end
  set[#set + 1] = 'window'
  set[#set + 1] = tostring(window)
  set[#set + 1] = 'failCohorts'
  set[#set + 1] = tostring(cohorts)
end
-- hand the freed slots to waiting jobs, looked at only while the waiters set may exist (a refusal
-- within its 2 minutes of life): a release with nobody waiting costs nothing more; one that finds
-- the set empty clears waitedAt (in the HSET below), so the next ones do not look again
local out = {outcome}
local handoff = tonumber(ARGV[14]) or 0
local waitedAt = tonumber(st[6])
if handoff > 0 and waitedAt ~= nil and now < waitedAt + 120000 and outcome ~= 2
    and (suspendedUntil == 0 or outcome == 3) then
  -- jobs already queued take freed worker slots first: while other leases are held (their
  -- releases hand on later) only the slots they cannot fill are handed; the release that leaves
  -- no lease held hands them all, so the last waiters never wait out their delay
  local inUse = nil
  local queued = tonumber(ARGV[16]) or 0
  if queued > 0 then
    inUse = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '+inf')
    if inUse > 0 then handoff = handoff - queued end
  end
  if handoff > 0 then
    local ids = redis.call('ZRANGE', KEYS[4], 0, handoff - 1)
    if #ids == 0 then
      set[#set + 1] = 'waitedAt'
      set[#set + 1] = '0'
    else
      -- no more than the window lets in now (leases not expired, less the local waiters woken)
      local cap = math.min(limit, math.max(1, math.floor(window)))
      inUse = inUse or redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '+inf')
      local free = cap - inUse - (tonumber(ARGV[15]) or 0)
      for i = 1, math.min(#ids, free) do out[i + 1] = ids[i] end
      if #out > 1 then redis.call('ZREM', KEYS[4], unpack(out, 2)) end
    end
  end
end
redis.call('HSET', KEYS[2], unpack(set))
if renewTtl then redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[12])) end
return out
`;
