/**
 * Running mxq's Lua scripts by digest: EVALSHA, and EVAL only when the server does not know the
 * script (NOSCRIPT: first use, a restarted or failed-over Redis, another Cluster node), which also
 * loads it for the next calls. A hot-path script then costs 40 bytes on the wire instead of its text.
 *
 * Decides: the digest (SHA-1 of the text, as Redis computes it) and the fallback on NOSCRIPT only;
 * replies as Buffers when asked (one Command of its own: ioredis' callBuffer() loses the command
 * name under enableAutoPipelining).
 * Never: retries on any other error, caches per connection (the digest is the server's own key).
 */
import { createHash } from 'node:crypto';
import { Command, type Redis } from 'ioredis';

export interface LuaScript {
  readonly text: string;
  readonly sha: string;
}

/** A script and its digest (computed once, at module load of the script's owner). */
export function luaScript(text: string): LuaScript {
  return { text, sha: createHash('sha1').update(text).digest('hex') };
}

async function send(
  redis: Redis,
  name: 'evalsha' | 'eval',
  args: Array<string | Buffer>,
  buffers: boolean,
): Promise<unknown> {
  const cmd = new Command(name, args, buffers ? { replyEncoding: null } : { replyEncoding: 'utf8' });
  void redis.sendCommand(cmd);
  return cmd.promise;
}

/** Run `script` with `keys` and `args`; `buffers`: bulk replies as Buffers instead of strings. */
export async function runScript(
  redis: Redis,
  script: LuaScript,
  keys: readonly string[],
  args: ReadonlyArray<string | number | Buffer>,
  buffers = false,
): Promise<unknown> {
  const rest = [String(keys.length), ...keys, ...args.map((a) => (Buffer.isBuffer(a) ? a : String(a)))];
  try {
    return await send(redis, 'evalsha', [script.sha, ...rest], buffers);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return send(redis, 'eval', [script.text, ...rest], buffers);
  }
}
