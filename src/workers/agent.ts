/**
 * The delivery agent: the one composition of the real adapters around the pure attempt.
 *
 * Decides: which adapters run an attempt (node:dns resolver with the configured servers behind the
 * per-process DNS cache, the SMTP engine, the in-process session cache, the cluster tier: the
 * given NexthopStateStore or an in-memory one, the system clock and randomness, pino) and that
 * closing the agent closes every idle cached session and the cluster tier's store.
 * Never: decides anything about delivery (src/core/attempt.ts does), retries or queues.
 */
import { createLocalSessionCache } from '../cache/local-session-cache.ts';
import { createMemoryNexthopState } from '../cache/memory-nexthop-state.ts';
import { runAttempt } from '../core/attempt.ts';
import type { ResolvedOptions } from '../core/options.ts';
import type { Logger, NexthopStateStore } from '../core/ports.ts';
import type { AttemptRequest, AttemptResult } from '../core/types.ts';
import { createDnsCache, type DnsCacheStats } from '../dns/dns-cache.ts';
import { createDnsResolver } from '../dns/resolver.ts';
import { systemClock } from '../runtime/clock.ts';
import { createLogger } from '../runtime/logger.ts';
import { systemRandom } from '../runtime/random.ts';
import { createSmtpConnector } from '../smtp/index.ts';

export interface DeliveryAgent {
  deliver(req: AttemptRequest): Promise<AttemptResult>;
  close(): Promise<void>;
  /** DNS cache counters of this agent (queries sent, hits, coalesced lookups). */
  dnsStats(): DnsCacheStats;
}

export interface AgentDeps {
  logger?: Logger;
  /** The cluster tier's store (wiring.ts passes the Redis one); default: one in this process. */
  nexthopState?: NexthopStateStore & { close(): Promise<void> };
}

export function createDeliveryAgent(opts: ResolvedOptions, deps: AgentDeps = {}): DeliveryAgent {
  const logger = deps.logger ?? createLogger();
  const clock = systemClock();
  const dns = createDnsCache(
    createDnsResolver({ servers: opts.dnsServers, timeoutMs: opts.dnsTimeout, tries: opts.dnsTries }),
    {
      maxTtlMs: opts.dnsCacheMaxTtl,
      negativeTtlMs: opts.dnsCacheNegativeTtl,
      unknownTtlMs: opts.dnsCacheUnknownTtl,
      clock,
    },
  );
  const nexthopState = deps.nexthopState ?? createMemoryNexthopState({ clock });
  const connector = createSmtpConnector({ logger, clock });
  const cache = createLocalSessionCache();
  const random = systemRandom();
  return {
    deliver: (req) => runAttempt(req, { dns, connector, cache, clock, random, logger, nexthopState }, opts),
    close: async () => {
      await cache.close();
      await nexthopState.close();
    },
    dnsStats: () => dns.stats(),
  };
}
