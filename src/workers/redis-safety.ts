/**
 * Whether the Redis the worker is about to use would keep queued mail.
 *
 * Decides: Redis is safe when `maxmemory-policy` is `noeviction` (any other policy may evict jobs
 * or bodies when memory is full) and AOF is on (`appendonly yes`). RDB snapshots alone (a
 * non-empty `save`) are not enough: mail acknowledged after the last snapshot is lost when Redis
 * stops, so they are refused like no persistence at all. Facts come from CONFIG GET, or from INFO when a
 * managed host blocks CONFIG. Unknown facts count as unsafe; the caller may override.
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

/** Pure verdict over the facts. */
export function judgeRedisSafety(f: RedisSafetyFacts): RedisSafetyVerdict {
  const problems: string[] = [];
  if (f.maxmemoryPolicy === undefined)
    problems.push('maxmemory-policy is unknown (CONFIG GET and INFO refused)');
  else if (f.maxmemoryPolicy !== 'noeviction') {
    problems.push(
      `maxmemory-policy is "${f.maxmemoryPolicy}"; it must be "noeviction" or Redis may evict queued mail`,
    );
  }
  const aof = f.appendonly === 'yes';
  const rdb = f.save !== undefined && f.save.trim() !== '';
  if (!aof && !rdb) {
    problems.push(
      'no persistence: appendonly is not "yes" and save is empty; a Redis restart would lose queued mail',
    );
  } else if (!aof) {
    problems.push(
      `RDB snapshots only (save "${f.save ?? ''}", appendonly no): mail accepted after the last snapshot ` +
        'would be lost when Redis stops; turn on appendonly yes',
    );
  }
  return { safe: problems.length === 0, problems };
}

async function configGet(redis: Redis, name: string): Promise<string | undefined> {
  try {
    const reply = (await redis.config('GET', name)) as unknown;
    if (Array.isArray(reply) && typeof reply[1] === 'string') return reply[1];
  } catch {
    // CONFIG may be renamed or disabled on managed hosts: fall back to INFO.
  }
  return undefined;
}

function infoField(info: string, field: string): string | undefined {
  const m = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  return m?.[1]?.trim();
}

/** Read the facts from a live Redis. */
export async function readRedisSafetyFacts(redis: Redis): Promise<RedisSafetyFacts> {
  const facts: RedisSafetyFacts = {};
  const policy = await configGet(redis, 'maxmemory-policy');
  const appendonly = await configGet(redis, 'appendonly');
  const save = await configGet(redis, 'save');
  if (policy !== undefined) facts.maxmemoryPolicy = policy;
  if (appendonly !== undefined) facts.appendonly = appendonly;
  if (save !== undefined) facts.save = save;
  if (policy === undefined || appendonly === undefined) {
    const info = await redis.info().catch(() => '');
    const p = infoField(info, 'maxmemory_policy');
    const aof = infoField(info, 'aof_enabled');
    if (facts.maxmemoryPolicy === undefined && p !== undefined) facts.maxmemoryPolicy = p;
    if (facts.appendonly === undefined && aof !== undefined) facts.appendonly = aof === '1' ? 'yes' : 'no';
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
    'or start with --allow-unsafe-redis to accept the risk (tests, throw-away setups).',
  ].join('\n');
}
