/**
 * Session-cache lookups counted per tier: a SessionCache wrapped so every take() reports a hit or
 * a miss to the recorder (mxq_session_cache_lookups_total{tier,result}).
 *
 * Decides: that a lookup is one take() of one label (an attempt may look up several labels).
 * Never: changes what the cache does; wraps anything when no recorder is given.
 */
import type { SessionCache } from '../core/ports.ts';
import type { MetricsRecorder, SessionCacheTier } from './recorder.ts';

export function countCacheLookups<C extends SessionCache>(
  cache: C,
  recorder: MetricsRecorder | undefined,
  tier: SessionCacheTier,
): C {
  if (recorder === undefined) return cache;
  return {
    ...cache,
    async take(label: string) {
      const session = await cache.take(label);
      recorder.sessionCacheLookup(tier, session === undefined ? 'miss' : 'hit');
      return session;
    },
  };
}
