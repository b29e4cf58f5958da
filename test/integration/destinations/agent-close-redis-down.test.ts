/**
 * The delivery agent's close() with a lease release in flight while Redis is down (agent.ts,
 * destination-gate.ts's release tracker): the lease connection retries forever
 * (maxRetriesPerRequest: null, as wiring.ts makes it), so that release never gets a reply. close()
 * must still close the lease store (the lease expires by its TTL), or the worker process keeps a
 * reconnecting socket and never exits. Real redis-server, stopped mid-attempt;
 * the attempt is a refused connection on a free loopback port. No durations are asserted.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveOptions } from '../../../src/core/options.ts';
import type { DestinationLeases, Logger } from '../../../src/core/ports.ts';
import { createLeaseStore } from '../../../src/destinations/lease-store.ts';
import { createDeliveryAgent } from '../../../src/workers/agent.ts';
import { freePort } from '../../support/net-util.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';

let server: RedisHandle;
let port: number;
const logger: Logger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
  child: () => logger,
};

beforeAll(async () => {
  server = await startRedis();
  port = await freePort();
});
afterAll(async () => {
  await server?.stop();
});

it('close() closes the lease store even when a release is still waiting for a Redis that is gone', async () => {
  const redis = new Redis(server.url, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined);
  const store = createLeaseStore(redis, '{down}');
  let closed = false;
  const leases: DestinationLeases & { close(): Promise<void> } = {
    ...store,
    async acquire(...args) {
      const grant = await store.acquire(...args);
      await server.stop(); // Redis goes away while the attempt runs
      return grant;
    },
    async close() {
      closed = true;
      redis.disconnect();
    },
  };
  const agent = createDeliveryAgent(resolveOptions({ smtpConnectTimeout: '2s' }), { leases, logger });
  const result = await agent.deliver({
    queueId: 'Q1',
    sender: '',
    recipients: [{ address: 'u@dst.test' }],
    nexthop: `[127.0.0.1]:${port}`,
    protocol: 'smtp',
    message: Buffer.from('x\r\n'),
    size: 3,
    arrivalTime: Date.now(),
    route: { domain: 'dst.test', nexthop: `[127.0.0.1]:${port}`, transport: 'smtp' },
  });
  expect(result.recipients[0]?.status).toBe('deferred');
  await agent.close();
  expect(closed).toBe(true);
}, 30_000);
