/**
 * Whether the Redis the worker is about to use would keep queued mail.
 *
 * Decides: Redis is safe when `maxmemory-policy` is `noeviction` (any other policy may evict jobs
 * or bodies when memory is full) and AOF is on (`appendonly yes`). RDB snapshots alone (a
 * non-empty `save`) are not enough: mail acknowledged after the last snapshot is lost when Redis
 * stops, so they are refused like no persistence at all. Facts come from INFO first (`memory`:
 * maxmemory_policy, `persistence`: aof_enabled), so an ACL user without CONFIG (G29) is checked
 * without a single denied command; CONFIG GET is asked only for what INFO did not answer, and for
 * `save` when AOF is off (only to word the refusal). Unknown facts count as unsafe and are named
 * as unknown; the caller may override.
 * With a Redis Cluster the facts are read from every primary, and any unsafe primary makes the
 * whole unsafe (its problems name the node).
 * Never: changes Redis configuration.
 */
import type { Redis } from 'ioredis';
import { primariesOf } from '../queue/connection.ts';

export interface RedisSafetyFacts {
  maxmemoryPolicy?: string;
  appendonly?: string;
  save?: string;
}

export interface RedisSafetyVerdict {
  safe: boolean;
  problems: string[];
}

/** Pure verdict over the facts (undefined = not known: neither INFO nor CONFIG GET answered). */
export function judgeRedisSafety(f: RedisSafetyFacts): RedisSafetyVerdict {
  const problems: string[] = [];
  if (f.maxmemoryPolicy === undefined)
    problems.push('maxmemory-policy is unknown (neither INFO memory nor CONFIG GET answered)');
  else if (f.maxmemoryPolicy !== 'noeviction') {
    problems.push(
      `maxmemory-policy is "${f.maxmemoryPolicy}"; it must be "noeviction" or Redis may evict queued mail`,
    );
  }
  if (f.appendonly === undefined) {
    problems.push(
      'persistence is unknown (neither INFO persistence nor CONFIG GET answered): cannot tell whether ' +
        'a Redis restart would keep queued mail',
    );
  } else if (f.appendonly !== 'yes') {
    if (f.save === undefined) {
      problems.push(
        'appendonly is not "yes" (AOF off; whether RDB snapshots are on is unknown: CONFIG GET save ' +
          'refused): mail accepted after the last snapshot, if any, would be lost when Redis stops',
      );
    } else if (f.save.trim() === '') {
      problems.push(
        'no persistence: appendonly is not "yes" and save is empty; a Redis restart would lose queued mail',
      );
    } else {
      problems.push(
        `RDB snapshots only (save "${f.save}", appendonly no): mail accepted after the last snapshot ` +
          'would be lost when Redis stops; turn on appendonly yes',
      );
    }
  }
  return { safe: problems.length === 0, problems };
}

async function configGet(redis: Redis, name: string): Promise<string | undefined> {
  try {
    const reply = (await redis.config('GET', name)) as unknown;
    if (Array.isArray(reply) && typeof reply[1] === 'string') return reply[1];
  } catch {
    // CONFIG may be refused (ACL), renamed or disabled on managed hosts: the fact stays unknown.
  }
  return undefined;
}

async function infoSection(redis: Redis, section: string): Promise<string> {
  try {
    return await redis.info(section);
  } catch {
    return ''; // INFO refused (ACL): CONFIG GET may still answer
  }
}

function infoField(info: string, field: string): string | undefined {
  const m = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  return m?.[1]?.trim();
}

/** Read the facts from a live Redis: INFO first, CONFIG GET only for what INFO left open. */
export async function readRedisSafetyFacts(redis: Redis): Promise<RedisSafetyFacts> {
  const facts: RedisSafetyFacts = {};
  const policy = infoField(await infoSection(redis, 'memory'), 'maxmemory_policy');
  const aof = infoField(await infoSection(redis, 'persistence'), 'aof_enabled');
  const p = policy ?? (await configGet(redis, 'maxmemory-policy'));
  if (p !== undefined) facts.maxmemoryPolicy = p;
  const appendonly = aof !== undefined ? (aof === '1' ? 'yes' : 'no') : await configGet(redis, 'appendonly');
  if (appendonly !== undefined) facts.appendonly = appendonly;
  if (appendonly !== undefined && appendonly !== 'yes') {
    // unsafe either way; `save` only tells "no persistence" from "RDB snapshots only"
    const save = await configGet(redis, 'save');
    if (save !== undefined) facts.save = save;
  }
  return facts;
}

export async function checkRedisSafety(redis: Redis): Promise<RedisSafetyVerdict> {
  if (!redis.isCluster) return judgeRedisSafety(await readRedisSafetyFacts(redis));
  const primaries = primariesOf(redis);
  if (primaries.length === 0) return { safe: false, problems: ['the Redis Cluster shows no primary'] };
  const problems: string[] = [];
  for (const node of primaries) {
    const v = judgeRedisSafety(await readRedisSafetyFacts(node));
    const where = `${node.options.host ?? '?'}:${node.options.port ?? '?'}`;
    for (const p of v.problems) problems.push(`primary ${where}: ${p}`);
  }
  return { safe: problems.length === 0, problems };
}

/** The refusal message printed by `mxq worker`. */
export function unsafeRedisMessage(v: RedisSafetyVerdict): string {
  return [
    'mxq worker: refusing to start: this Redis could lose queued mail:',
    ...v.problems.map((p) => `  - ${p}`),
    'Fix: redis-server --appendonly yes --maxmemory-policy noeviction (or CONFIG SET both),',
    ...(v.problems.some((p) => p.includes('unknown (neither INFO'))
      ? [
          'the check reads INFO memory and INFO persistence: give the Redis user +info (CONFIG is not needed),',
        ]
      : []),
    'or start with --allow-unsafe-redis to accept the risk (tests, throw-away setups).',
  ].join('\n');
}
