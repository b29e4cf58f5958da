/**
 * The delivery agent: the one composition of the real adapters around the pure attempt.
 *
 * Decides: which adapters run an attempt (node:dns resolver with the configured servers, the SMTP
 * engine, the in-process session cache, the system clock and randomness, pino) and that closing
 * the agent closes every idle cached session.
 * Never: decides anything about delivery (src/core/attempt.ts does), retries or queues.
 */
import { createLocalSessionCache } from '../cache/local-session-cache.ts';
import { runAttempt } from '../core/attempt.ts';
import type { ResolvedOptions } from '../core/options.ts';
import type { Logger } from '../core/ports.ts';
import type { AttemptRequest, AttemptResult } from '../core/types.ts';
import { createDnsResolver } from '../dns/resolver.ts';
import { systemClock } from '../runtime/clock.ts';
import { createLogger } from '../runtime/logger.ts';
import { systemRandom } from '../runtime/random.ts';
import { createSmtpConnector } from '../smtp/index.ts';
import { createTlsPolicyDeps, type TlsPolicyStores } from './tls-policy-deps.ts';

export interface DeliveryAgent {
  deliver(req: AttemptRequest): Promise<AttemptResult>;
  close(): Promise<void>;
}

export function createDeliveryAgent(
  opts: ResolvedOptions,
  deps: { logger?: Logger } & TlsPolicyStores = {},
): DeliveryAgent {
  const logger = deps.logger ?? createLogger();
  const clock = systemClock();
  const dns = createDnsResolver({
    servers: opts.dnsServers,
    timeoutMs: opts.dnsTimeout,
    tries: opts.dnsTries,
    ...(opts.smtpCnameOverridesServername ? { canonicalNames: true } : {}),
  });
  const connector = createSmtpConnector({ logger, clock });
  const cache = createLocalSessionCache();
  const random = systemRandom();
  // --- tls (issue 14): MTA-STS, DANE, TLSRPT adapters when their options are on ---
  const extras = createTlsPolicyDeps(opts, { ...deps, dns, clock, logger });
  return {
    deliver: (req) => runAttempt(req, { dns, connector, cache, clock, random, logger, ...extras }, opts),
    close: () => cache.close(),
  };
}
