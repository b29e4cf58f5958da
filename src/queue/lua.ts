/**
 * Running mxq's Lua scripts by digest: EVALSHA, and EVAL only when the server does not know the
 * script (NOSCRIPT: first use, a restarted or failed-over Redis, another Cluster node), which also
 * loads it for the next calls. A hot-path script then costs 40 bytes on the wire instead of its text.
 *
 * Decides: the digest (SHA-1 of the text, as Redis computes it) and the fallback on NOSCRIPT only;
 * replies as Buffers when asked (evalshaBuffer); ioredis' generated methods, so that a connection
 * with enableAutoPipelining sends the scripts of concurrent jobs in one socket write.
 * Never: retries on any other error, caches per connection (the digest is the server's own key).
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface LuaScript {
  readonly text: string;
  readonly sha: string;
}

/** A script and its digest (computed once, at module load of the script's owner). */
export function luaScript(text: string): LuaScript {
  return { text, sha: createHash('sha1').update(text).digest('hex') };
}

type EvalFn = (scriptOrSha: string, numKeys: number, ...rest: Array<string | Buffer>) => Promise<unknown>;
type EvalMethods = Record<'eval' | 'evalsha' | 'evalBuffer' | 'evalshaBuffer', EvalFn>;

function send(
  redis: Redis,
  script: LuaScript,
  byText: boolean,
  numKeys: number,
  rest: Array<string | Buffer>,
  buffers: boolean,
): Promise<unknown> {
  // ioredis' generated methods (not sendCommand), which go through enableAutoPipelining; its
  // typings lack the *Buffer variants of eval/evalsha, hence the view.
  const r = redis as unknown as EvalMethods;
  if (byText)
    return buffers ? r.evalBuffer(script.text, numKeys, ...rest) : r.eval(script.text, numKeys, ...rest);
  return buffers ? r.evalshaBuffer(script.sha, numKeys, ...rest) : r.evalsha(script.sha, numKeys, ...rest);
}

const isNoScript = (err: unknown): boolean => err instanceof Error && err.message.startsWith('NOSCRIPT');

function argv(
  keys: readonly string[],
  args: ReadonlyArray<string | number | Buffer>,
): Array<string | Buffer> {
  return [...keys, ...args.map((a) => (Buffer.isBuffer(a) ? a : String(a)))];
}

/** Run `script` with `keys` and `args`; `buffers`: bulk replies as Buffers instead of strings. */
export async function runScript(
  redis: Redis,
  script: LuaScript,
  keys: readonly string[],
  args: ReadonlyArray<string | number | Buffer>,
  buffers = false,
): Promise<unknown> {
  const rest = argv(keys, args);
  try {
    return await send(redis, script, false, keys.length, rest, buffers);
  } catch (err) {
    if (!isNoScript(err)) throw err;
    return send(redis, script, true, keys.length, rest, buffers);
  }
}

export type ScriptRunner = (
  script: LuaScript,
  keys: readonly string[],
  args: ReadonlyArray<string | number | Buffer>,
) => Promise<unknown>;

/**
 * runScript for one connection whose calls must reach Redis in the order they are made (the
 * destination leases: a woken waiter's acquire follows the release that woke it). The first call
 * of each script goes by text (EVAL loads it), later ones by digest: on a fresh server an
 * EVALSHA answered NOSCRIPT would be sent again after calls made later. Only a server that lost
 * its scripts while in use (restart, failover) still sees that one retry out of order.
 */
export function scriptRunner(redis: Redis): ScriptRunner {
  const sent = new Set<string>();
  return async (script, keys, args) => {
    const rest = argv(keys, args);
    const byText = !sent.has(script.sha);
    sent.add(script.sha);
    try {
      return await send(redis, script, byText, keys.length, rest, false);
    } catch (err) {
      if (byText || !isNoScript(err)) throw err;
      return send(redis, script, true, keys.length, rest, false);
    }
  };
}
