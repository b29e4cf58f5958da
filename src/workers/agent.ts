/**
 * The delivery agent: the one composition of the real adapters around the pure attempt.
 *
 * Decides: which adapters run an attempt (node:dns resolver with the configured servers behind the
 * per-process DNS cache, the SMTP engine, the in-process session cache, the cluster tier: the
 * given NexthopStateStore or an in-memory one, the system clock and randomness, pino) and that
 * closing the agent waits for lease releases in flight (at most 5 s: with Redis gone they never
 * end until the lease store is closed), then closes every idle cached session, the cluster tier's
 * store and the lease store. A request that
 * carries `route` (queued mail) is routed here, at every attempt, from this worker's configuration
 * (core/route.ts); a route that cannot be used defers every recipient with 4.3.5. With a
 * destination lease store, the attempt runs under a pool-wide lease of its destination
 * (destination-gate.ts). Routing and the lease need no body: `reserve` routes a queued request
 * and sends its lease request at once (the processor calls it before it loads the message), and
 * `deliver(req, reservation)` runs the attempt with them; a reservation not given to `deliver`
 * is cancelled by its owner (a granted lease goes back at once). A queued job's `waiter` names
 * it among the destination's waiting jobs (destination-gate.ts).
 * Never: decides anything about delivery (src/core/attempt.ts does), retries or queues.
 */
import { createLocalSessionCache, type LocalSessionCache } from '../cache/local-session-cache.ts';
import { createMemoryNexthopState } from '../cache/memory-nexthop-state.ts';
import { runAttempt } from '../core/attempt.ts';
import { mxHostsKey } from '../core/destination.ts';
import { parseNexthop } from '../core/nexthop.ts';
import type { ResolvedOptions } from '../core/options.ts';
import type { DestinationLeases, Logger, NexthopStateStore } from '../core/ports.ts';
import {
  decideRoute,
  deferEveryRecipient,
  type Route,
  type RouteDecision,
  type RouteInput,
} from '../core/route.ts';
import { keepsSessionHistory } from '../core/session-notice.ts';
import type { AttemptRequest, AttemptResult } from '../core/types.ts';
import { createDnsCache, type DnsCacheStats } from '../dns/dns-cache.ts';
import { createDnsResolver } from '../dns/resolver.ts';
import { createLeaseMeter } from '../metrics/lease-meter.ts';
import type { MetricsRecorder } from '../metrics/recorder.ts';
import { countCacheLookups } from '../metrics/session-cache-metrics.ts';
import { systemClock } from '../runtime/clock.ts';
import { createLogger } from '../runtime/logger.ts';
import { systemRandom } from '../runtime/random.ts';
import type { TlsStarter } from '../smtp/engine-deps.ts';
import { createSmtpConnector } from '../smtp/index.ts';
import {
  type LeaseRequest,
  type LeaseReservation,
  type LeaseWaiter,
  reserveLease,
} from './destination-gate.ts';
import { createLocalLeaseQueue } from './local-lease-queue.ts';

/** How long close() waits for lease releases in flight before it closes the lease store. */
const RELEASE_CLOSE_WAIT_MS = 5_000;

/** An attempt request; with `route`, nexthop and protocol are decided by the worker. */
export interface RoutedAttemptRequest extends AttemptRequest {
  route?: RouteInput;
  /** The queued job making the request (processor.ts): its name among waiting jobs, and promotion. */
  waiter?: LeaseWaiter;
}

/** The result, with the route the worker chose (when it routed). */
export interface RoutedAttemptResult extends AttemptResult {
  route?: Route;
}

/** What `reserve` needs of a queued request: no body, no envelope beyond its recipients. */
export type ReserveRequest = Pick<AttemptRequest, 'queueId' | 'recipients' | 'signal'> & {
  route: RouteInput;
  waiter?: LeaseWaiter;
};

/** A queued request's route and destination lease, decided and asked for ahead of its attempt. */
export interface RouteReservation {
  readonly decided: RouteDecision;
  /** The lease asked for (a usable route and a lease store), else none. */
  readonly lease: LeaseReservation | undefined;
  /** The attempt will not run: a lease granted now or later goes back at once. No-op once used. */
  cancel(): void;
}

/** What the processor uses of a delivery agent (tests pass scripted ones without `reserve`). */
export interface JobAgent {
  /** With `reserved`: its route and lease are used (it was made by `reserve` for this request). */
  deliver(req: RoutedAttemptRequest, reserved?: RouteReservation): Promise<RoutedAttemptResult>;
  reserve?(req: ReserveRequest): RouteReservation;
}

import { createTlsPolicyDeps, type TlsPolicyStores } from './tls-policy-deps.ts';

export interface DeliveryAgent extends JobAgent {
  reserve(req: ReserveRequest): RouteReservation;
  close(): Promise<void>;
  /** DNS cache counters of this agent (queries sent, hits, coalesced lookups). */
  dnsStats(): DnsCacheStats;
}

export interface DeliveryAgentDeps extends TlsPolicyStores {
  logger?: Logger;
  /** The cluster tier's store (wiring.ts passes the Redis one); default: one in this process. */
  nexthopState?: NexthopStateStore & { close(): Promise<void> };
  /** Pool-wide destination leases (queued mail); absent for in-process delivery. */
  leases?: DestinationLeases & { close?(): Promise<void> };
  /** The session cache (default: this process's own; `mxq pool` children pass a tiered one). */
  sessionCache?: LocalSessionCache;
  /** `mxq pool` children: TLS handshakes in the pool's TLS owner. */
  tlsStarter?: TlsStarter;
  /** Metrics recorder (session-cache lookups of the local tier are counted). */
  metrics?: MetricsRecorder;
}

export function createDeliveryAgent(opts: ResolvedOptions, deps: DeliveryAgentDeps = {}): DeliveryAgent {
  const logger = deps.logger ?? createLogger();
  const clock = systemClock();
  const dns = createDnsCache(
    createDnsResolver({
      servers: opts.dnsServers,
      timeoutMs: opts.dnsTimeout,
      tries: opts.dnsTries,
      ...(opts.smtpCnameOverridesServername ? { canonicalNames: true } : {}),
    }),
    {
      maxTtlMs: opts.dnsCacheMaxTtl,
      negativeTtlMs: opts.dnsCacheNegativeTtl,
      unknownTtlMs: opts.dnsCacheUnknownTtl,
      clock,
    },
  );
  const nexthopState = deps.nexthopState ?? createMemoryNexthopState({ clock });
  const connector = createSmtpConnector({
    logger,
    clock,
    ...(deps.tlsStarter !== undefined ? { tlsStarter: deps.tlsStarter } : {}),
    // --- notices: sessions keep a history only when a class they can raise is in notifyClasses ---
    ...(keepsSessionHistory(opts) ? { chatLog: true } : {}),
  });
  // a given cache (a pool child's tiered cache) counts its own lookups by tier
  const cache = deps.sessionCache ?? countCacheLookups(createLocalSessionCache(), deps.metrics, 'local');
  const random = systemRandom();
  const meter = deps.metrics === undefined ? {} : { meter: createLeaseMeter(deps.metrics) };
  const local = createLocalLeaseQueue();
  // Lease releases whose reply has not come yet (destination-gate.ts); close() waits for them.
  const releases = new Set<Promise<void>>();
  // --- tls (issue 14): MTA-STS, DANE, TLSRPT adapters when their options are on ---
  const extras = createTlsPolicyDeps(opts, { ...deps, dns, clock, logger });
  const attemptDeps = { dns, connector, cache, clock, random, logger, nexthopState, ...extras };
  // destinationKey 'mx-hosts': an MX route's destination is its set of MX hosts (one MX query).
  const mxKeyOf = async (req: LeaseRequest): Promise<string | undefined> => {
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
  const gate =
    deps.leases === undefined
      ? undefined
      : { leases: deps.leases, opts, clock, logger, keyOf: mxKeyOf, local, releases, ...meter };
  const reserve = (req: ReserveRequest): RouteReservation => {
    const decided = decideRoute(req.route, opts);
    const lease =
      decided.ok && gate !== undefined
        ? reserveLease(gate, {
            queueId: req.queueId,
            recipients: req.recipients,
            nexthop: decided.route.nexthop,
            protocol: decided.route.transport,
            ...(req.signal !== undefined ? { signal: req.signal } : {}),
            ...(req.waiter !== undefined ? { waiter: req.waiter } : {}),
          })
        : undefined;
    return { decided, lease, cancel: () => lease?.cancel() };
  };
  return {
    reserve,
    async deliver(req, reserved) {
      if (req.route === undefined) {
        reserved?.cancel();
        return runAttempt(req, attemptDeps, opts);
      }
      const r = reserved ?? reserve({ ...req, route: req.route });
      try {
        const { decided } = r;
        if (!decided.ok) {
          logger.error(
            { event: 'route-config-error', queueId: req.queueId, domain: req.route.domain },
            `${req.queueId}: ${decided.error}`,
          );
          return deferEveryRecipient(req, '4.3.5', decided.error);
        }
        const { route } = decided;
        const { waiter: _job, route: _input, ...rest } = req;
        const routed: AttemptRequest = { ...rest, nexthop: route.nexthop, protocol: route.transport };
        const run = () => runAttempt(routed, attemptDeps, opts);
        const result = r.lease === undefined ? await run() : await r.lease.run(routed, run);
        return { ...result, route };
      } finally {
        // A reservation whose lease did not run (an error before it): its lease goes back.
        r.cancel();
      }
    },
    async close() {
      // Bounded: with Redis gone a release never gets its reply (the lease connection retries
      // forever); closing the store below ends it, and the lease expires by its TTL.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(releases),
        new Promise<void>((done) => {
          timer = setTimeout(done, RELEASE_CLOSE_WAIT_MS);
        }),
      ]);
      clearTimeout(timer);
      await cache.close();
      await nexthopState.close();
      await deps.leases?.close?.();
    },
    dnsStats: () => dns.stats(),
  };
}
