/**
 * Set-up for the cluster-tier tests: a loopback block, a real DNS server, a real redis-server, and
 * delivery "hosts" that share only that Redis: each one a delivery agent (or a bare attempt with
 * an SMTP transcript) with its own Redis connection for the NexthopStateStore.
 */

import { createLocalSessionCache } from '../../../src/cache/local-session-cache.ts';
import { createRedisNexthopState, type RedisNexthopState } from '../../../src/cache/redis-nexthop-state.ts';
import { runAttempt } from '../../../src/core/attempt.ts';
import { type DeliveryOptionsInput, resolveOptions } from '../../../src/core/options.ts';
import type { AttemptRequest, AttemptResult } from '../../../src/core/types.ts';
import { createDnsResolver } from '../../../src/dns/resolver.ts';
import { createSmtpConnector } from '../../../src/smtp/index.ts';
import { createDeliveryAgent, type DeliveryAgent } from '../../../src/workers/agent.ts';
import { type DnsServer, startDnsServer, type ZoneFixture } from '../../support/dns-server.ts';
import { memoryLogger } from '../../support/fakes.ts';
import { allocateLoopbackBlock } from '../../support/loopback.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';

export interface ClusterScene {
  addr(n: number): string;
  dns: DnsServer;
  redis: RedisHandle;
  /** A delivery agent whose cluster tier is the shared Redis (a second "host" per call). */
  agent(opts?: DeliveryOptionsInput): DeliveryAgent;
  /** One attempt on fresh adapters with the shared Redis; returns the result and the SMTP transcript. */
  attempt(
    req: AttemptRequest,
    opts?: DeliveryOptionsInput,
  ): Promise<{ result: AttemptResult; transcript: string[] }>;
  close(): Promise<void>;
}

export function baseOptions(dns: DnsServer, opts: DeliveryOptionsInput = {}): DeliveryOptionsInput {
  return {
    dnsServers: [dns.server],
    dnsTimeout: '2s',
    dnsTries: 1,
    inetProtocols: 'ipv4',
    smtpRandomizeAddresses: false,
    smtpTlsSecurityLevel: 'none',
    smtpConnectTimeout: '3s',
    myhostname: 'client.test',
    ...opts,
  };
}

export async function clusterScene(
  zone: (addr: (n: number) => string) => ZoneFixture,
): Promise<ClusterScene> {
  const block = allocateLoopbackBlock();
  const dns = await startDnsServer(zone(block.addr));
  const redis = await startRedis();
  const agents: DeliveryAgent[] = [];
  const stores: RedisNexthopState[] = [];
  const store = (): RedisNexthopState => {
    const s = createRedisNexthopState({
      redisUrl: redis.url,
      prefix: '{mxq}',
      logger: memoryLogger(),
      readTimeoutMs: 15_000,
    });
    stores.push(s);
    return s;
  };
  return {
    addr: block.addr,
    dns,
    redis,
    agent(opts = {}) {
      const a = createDeliveryAgent(resolveOptions(baseOptions(dns, opts)), {
        logger: memoryLogger(),
        nexthopState: store(),
      });
      agents.push(a);
      return a;
    },
    async attempt(req, opts = {}) {
      const transcript: string[] = [];
      const logger = memoryLogger();
      const clock = { now: () => Date.now() };
      const o = resolveOptions(baseOptions(dns, opts));
      const cache = createLocalSessionCache();
      const nexthopState = store();
      const result = await runAttempt(
        req,
        {
          dns: createDnsResolver({ servers: o.dnsServers, timeoutMs: o.dnsTimeout, tries: o.dnsTries }),
          connector: createSmtpConnector({
            logger,
            clock,
            transcript: (dir, line) => transcript.push(`${dir} ${line}`),
          }),
          cache,
          clock,
          random: { next: () => 0.5 },
          logger,
          nexthopState,
        },
        o,
      );
      await cache.close();
      return { result, transcript };
    },
    async close() {
      for (const a of agents) await a.close();
      for (const s of stores) await s.close();
      await redis.stop();
      await dns.stop();
      block.release();
    },
  };
}

export function request(over: Partial<AttemptRequest> = {}): AttemptRequest {
  const msg = Buffer.from('From: s@client.test\r\nTo: a@example.test\r\nSubject: test\r\n\r\nhello\r\n');
  return {
    queueId: 'QID1',
    sender: 's@client.test',
    recipients: [{ address: 'a@example.test' }],
    nexthop: 'example.test',
    protocol: 'smtp',
    message: msg,
    size: msg.length,
    arrivalTime: Date.now(),
    ...over,
  };
}

/** "host[addr] outcome" of each server step. */
export function steps(r: AttemptResult): string[] {
  return r.servers.map((s) => `${s.host} ${s.outcome}`);
}
