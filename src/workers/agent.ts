/**
 * The delivery agent: the one composition of the real adapters around the pure attempt.
 *
 * Decides: which adapters run an attempt (node:dns resolver with the configured servers, the SMTP
 * engine, the in-process session cache, the system clock and randomness, pino) and that closing
 * the agent closes every idle cached session. A request that carries `route` (queued mail) is
 * routed here, at every attempt, from this worker's configuration (core/route.ts); a route that
 * cannot be used defers every recipient with 4.3.5. With a destination lease store, the attempt
 * runs under a pool-wide lease of its destination (destination-gate.ts).
 * Never: decides anything about delivery (src/core/attempt.ts does), retries or queues.
 */
import { createLocalSessionCache } from '../cache/local-session-cache.ts';
import { runAttempt } from '../core/attempt.ts';
import { mxHostsKey } from '../core/destination.ts';
import { parseNexthop } from '../core/nexthop.ts';
import type { ResolvedOptions } from '../core/options.ts';
import type { DestinationLeases, Logger } from '../core/ports.ts';
import { decideRoute, deferEveryRecipient, type Route, type RouteInput } from '../core/route.ts';
import type { AttemptRequest, AttemptResult } from '../core/types.ts';
import { createDnsResolver } from '../dns/resolver.ts';
import { systemClock } from '../runtime/clock.ts';
import { createLogger } from '../runtime/logger.ts';
import { systemRandom } from '../runtime/random.ts';
import { createSmtpConnector } from '../smtp/index.ts';
import { runUnderLease } from './destination-gate.ts';

/** An attempt request; with `route`, nexthop and protocol are decided by the worker. */
export interface RoutedAttemptRequest extends AttemptRequest {
  route?: RouteInput;
}

/** The result, with the route the worker chose (when it routed). */
export interface RoutedAttemptResult extends AttemptResult {
  route?: Route;
}

export interface DeliveryAgent {
  deliver(req: RoutedAttemptRequest): Promise<RoutedAttemptResult>;
  close(): Promise<void>;
}

export interface DeliveryAgentDeps {
  logger?: Logger;
  /** Pool-wide destination leases (queued mail); absent for in-process delivery. */
  leases?: DestinationLeases & { close?(): Promise<void> };
}

export function createDeliveryAgent(opts: ResolvedOptions, deps: DeliveryAgentDeps = {}): DeliveryAgent {
  const logger = deps.logger ?? createLogger();
  const clock = systemClock();
  const dns = createDnsResolver({
    servers: opts.dnsServers,
    timeoutMs: opts.dnsTimeout,
    tries: opts.dnsTries,
  });
  const connector = createSmtpConnector({ logger, clock });
  const cache = createLocalSessionCache();
  const random = systemRandom();
  const attemptDeps = { dns, connector, cache, clock, random, logger };
  // destinationKey 'mx-hosts': an MX route's destination is its set of MX hosts (one MX query).
  const mxKeyOf = async (req: AttemptRequest): Promise<string | undefined> => {
    if (opts.destinationKey !== 'mx-hosts') return undefined;
    const parsed = parseNexthop(req.nexthop.trim(), req.protocol, opts);
    if (!parsed.ok || parsed.target.lookup !== 'mx') return undefined;
    const answer = await dns.lookup(parsed.target.host, 'MX', req.signal);
    return answer.class === 'OK' && answer.type === 'MX'
      ? mxHostsKey(
          req.protocol,
          answer.records.map((r) => r.exchange),
        )
      : undefined;
  };
  return {
    async deliver(req) {
      if (req.route === undefined) return runAttempt(req, attemptDeps, opts);
      const decided = decideRoute(req.route, opts);
      if (!decided.ok) {
        logger.error(
          { event: 'route-config-error', queueId: req.queueId, domain: req.route.domain },
          `${req.queueId}: ${decided.error}`,
        );
        return deferEveryRecipient(req, '4.3.5', decided.error);
      }
      const { route } = decided;
      const routed: AttemptRequest = { ...req, nexthop: route.nexthop, protocol: route.transport };
      const run = () => runAttempt(routed, attemptDeps, opts);
      const gate = { leases: deps.leases, opts, clock, logger, keyOf: mxKeyOf };
      const result =
        gate.leases === undefined
          ? await run()
          : await runUnderLease({ ...gate, leases: gate.leases }, routed, run);
      return { ...result, route };
    },
    async close() {
      await cache.close();
      await deps.leases?.close?.();
    },
  };
}
