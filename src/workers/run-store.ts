/**
 * One job run's reads and pass bookkeeping in single round trips (issue 10: one job = one load).
 *
 * Decides: `loadRun` joins the message's current pass and reads body, meta and journal in one
 * script (atomic: a message deleted meanwhile is seen as gone, and then no pass entry is written);
 * `finishRun` ends a terminal run (leave the pass, count the job, release the message at its
 * last job) and may be made conditional on journal entries being there (the processor sends it
 * behind the attempt's journal writes without waiting for their replies).
 * `leavePassForReport` takes the run out of the pass and, when that closed the pass, tells in the
 * same script whether a failure report may be owed (a journal entry not recorded as sent whose
 * recipient is not in the reported set). Only then does the caller go through bounce-dispatch's
 * claim/read/report path; a message whose recipients were all sent closes its pass in one call.
 * The check is conservative: an entry it cannot read as sent counts as possibly failed.
 * All keys share the installation's hash tag, so the scripts are Redis-Cluster safe.
 * Never: writes the journal or events (journal.ts), releases the message (message-store.ts),
 * decides who is reported (bounce-plan.ts).
 */
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../queue/keys.ts';
import { luaScript, runScript } from '../queue/lua.ts';
import { parseJournal } from './journal.ts';
import {
  CLOSE_MESSAGE_LUA,
  JOURNAL_TTL_SEC,
  parseMeta,
  releaseArgs,
  type StoredMessage,
} from './message-store.ts';
import type { WorkerJournalEntry } from './outcome-plan.ts';

const LOAD_RUN_SCRIPT = luaScript(`
local m = redis.call('HMGET', KEYS[1], 'body', 'meta')
if not m[1] or not m[2] then return false end
redis.call('SADD', KEYS[2], ARGV[1])
return { m, redis.call('HGETALL', KEYS[3]) }
`);

export interface LoadedRun {
  stored: StoredMessage;
  journal: Map<string, WorkerJournalEntry>;
}

/** Join the pass and load body, meta and journal; undefined when the message is gone. */
export async function loadRun(
  redis: Redis,
  keys: QueueKeys,
  queueId: string,
  jobId: string,
): Promise<LoadedRun | undefined> {
  // Replies as Buffers (the body is bytes).
  const r = await runScript(
    redis,
    LOAD_RUN_SCRIPT,
    [keys.message(queueId), keys.messagePass(queueId), keys.journal(queueId)],
    [jobId],
    true,
  );
  if (!Array.isArray(r)) return undefined;
  const [fields, flat] = r as [Array<Buffer | null>, Buffer[]];
  const [body, meta] = fields;
  if (!body || !meta) return undefined;
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    pairs.push([String(flat[i]), String(flat[i + 1])]);
  }
  return { stored: { body, meta: parseMeta(meta.toString('utf8')) }, journal: parseJournal(pairs) };
}

const LEAVE_PASS_SCRIPT = luaScript(`
redis.call('SREM', KEYS[1], ARGV[1])
local left = redis.call('SCARD', KEYS[1])
if left > 0 then return left end
local j = redis.call('HGETALL', KEYS[2])
for i = 1, #j, 2 do
  if not string.find(j[i + 1], '"status":"sent"', 1, true) then
    if redis.call('SISMEMBER', KEYS[3], j[i]) == 0 then return -1 end
  end
end
return 0
`);

/**
 * Leave the message's pass. Returns 'open' (other jobs still in it), 'closed' (closed, nothing
 * can be owed) or 'report' (closed, and a failure report may be owed: run bounce-dispatch).
 */
export async function leavePassForReport(
  redis: Redis,
  keys: QueueKeys,
  queueId: string,
  jobId: string,
): Promise<'open' | 'closed' | 'report'> {
  const n = Number(
    await runScript(
      redis,
      LEAVE_PASS_SCRIPT,
      [keys.messagePass(queueId), keys.journal(queueId), keys.messageReported(queueId)],
      [jobId],
    ),
  );
  return n > 0 ? 'open' : n === 0 ? 'closed' : 'report';
}

// KEYS as RELEASE_SCRIPT's (1 done, 2 counter, 5 journal, 6 pass, 7 reported); ARGV as its, then
// the number of recipients whose journal entries must exist and their addresses: -3 when one is
// missing (nothing changed: the caller writes the journal, then finishes again); -2: pass closed
// and a report may be owed (a failed recipient, or a SUCCESS notice), the run has left the pass and
// nothing is released (the count is undone); otherwise RELEASE_SCRIPT's answer.
// The job is counted first: when that was the message's last job, every other job is terminal and
// has left the pass (each leaves it before it is counted), so this run closes the pass without
// SREM/SCARD and the release deletes it (a one-job message: 2 commands fewer).
const FINISH_SCRIPT = luaScript(`
local need = tonumber(ARGV[4]) or 0
if need > 0 then
  local got = redis.call('HMGET', KEYS[5], unpack(ARGV, 5, 4 + need))
  for i = 1, need do
    if not got[i] then return -3 end
  end
end
local function owed()
  local j = redis.call('HGETALL', KEYS[5])
  for i = 1, #j, 2 do
    -- a failed recipient, or a sent one owed a SUCCESS notice (successAction), not reported yet
    if not string.find(j[i + 1], '"status":"sent"', 1, true)
      or string.find(j[i + 1], '"successAction":', 1, true) then
      if redis.call('SISMEMBER', KEYS[7], j[i]) == 0 then return true end
    end
  end
  return false
end
local function leave()
  redis.call('SREM', KEYS[6], ARGV[1])
  return redis.call('SCARD', KEYS[6]) == 0
end
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then
  -- counted before (a re-run after a crash): only leave the pass
  if leave() and owed() then return -2 end
  return -1
end
local n = redis.call('DECR', KEYS[2])
local closed
if n <= 0 then closed = true else closed = leave() end
if closed and owed() then
  redis.call('SREM', KEYS[1], ARGV[1])
  redis.call('INCR', KEYS[2])
  if n <= 0 then redis.call('SREM', KEYS[6], ARGV[1]) end
  return -2
end
if n <= 0 then${CLOSE_MESSAGE_LUA}
end
return n
`);

/** A terminal run's end: a report may be owed (nothing released yet), or releaseJob's answer. */
export type Finished = { report: true } | { report: false; left: number };

/**
 * The end of a run that requeues nothing, in one script: leave the pass and, unless that closed
 * the pass with a report possibly owed ('report': nothing released, the caller sends the report
 * then releases), count the job as terminal. `left` is releaseJob's answer (0: message removed).
 * With `recorded`: only when the journal holds an entry for each of those recipients, else
 * 'unrecorded' and nothing is changed (the processor sends it behind the journal writes of the
 * attempt without waiting for their replies; a write not done yet is caught here).
 */
export async function finishRun(
  redis: Redis,
  keys: QueueKeys,
  p: { queueId: string; jobId: string; journalTtlSec?: number },
): Promise<Finished>;
export async function finishRun(
  redis: Redis,
  keys: QueueKeys,
  p: { queueId: string; jobId: string; journalTtlSec?: number; recorded: readonly string[] },
): Promise<Finished | 'unrecorded'>;
export async function finishRun(
  redis: Redis,
  keys: QueueKeys,
  p: { queueId: string; jobId: string; journalTtlSec?: number; recorded?: readonly string[] },
): Promise<Finished | 'unrecorded'> {
  const ttl = p.journalTtlSec ?? JOURNAL_TTL_SEC;
  const [k, a] = releaseArgs(keys, p.queueId, p.jobId, ttl);
  const need = p.recorded ?? [];
  const n = Number(await runScript(redis, FINISH_SCRIPT, k, [...a, need.length, ...need]));
  if (n === -3) return 'unrecorded';
  return n === -2 ? { report: true } : { report: false, left: n };
}
