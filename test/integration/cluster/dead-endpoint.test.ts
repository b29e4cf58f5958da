import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisNexthopState } from '../../../src/cache/redis-nexthop-state.ts';
import { resolveOptions } from '../../../src/core/options.ts';
import { createDeliveryAgent } from '../../../src/workers/agent.ts';
import { memoryLogger } from '../../support/fakes.ts';
import { freePort } from '../../support/net-util.ts';
import { type SmtpPeer, startSmtpPeer } from '../../support/smtp-peer.ts';
import { until } from '../../support/wait.ts';
import { baseOptions, type ClusterScene, clusterScene, request, steps } from './cluster-harness.ts';
import { type RawPeer, startDeadPeer } from './raw-peers.ts';

let s: ClusterScene | undefined;
const peers: Array<SmtpPeer | RawPeer> = [];
afterEach(async () => {
  for (const p of peers.splice(0)) await p.stop();
  await s?.close();
  s = undefined;
});

const twoMx = (addr: (n: number) => string) => ({
  'example.test': {
    MX: [
      [10, 'mx1.example.test'],
      [20, 'mx2.example.test'],
    ] as Array<[number, string]>,
  },
  'mx1.example.test': { A: [addr(1)] },
  'mx2.example.test': { A: [addr(2)] },
});

describe('cluster tier in Redis: dead endpoints and next-hop bindings', () => {
  it('a dead primary found by one host is skipped by another; the binding alone also sends it to the backup', async () => {
    s = await clusterScene(twoMx);
    const dead = await startDeadPeer(s.addr(1), 25);
    const good = await startSmtpPeer({ host: s.addr(2), port: 25 });
    peers.push(dead, good);

    const first = await s.agent().deliver(request({ queueId: 'Q1' }));
    expect(steps(first)).toEqual(['mx1.example.test handshake-failed', 'mx2.example.test delivered']);
    expect(dead.connections).toBe(1);

    // What the first host wrote: keys in the queue's hash-tag slot, each with a TTL.
    const r = new Redis(s.redis.url);
    // The writes are fire-and-forget: wait for both.
    const keys = await until('the binding and the dead mark', async () => {
      const k = (await r.keys('{mxq}:nh:*')).sort();
      return k.length >= 2 ? k : undefined;
    });
    expect(keys).toEqual([`{mxq}:nh:bind:smtp:example.test`, `{mxq}:nh:dead:smtp:[${s.addr(1)}]:25`]);
    expect(await r.get('{mxq}:nh:bind:smtp:example.test')).toBe(`smtp:[${s.addr(2)}]:25`);
    for (const k of keys) expect(await r.pttl(k)).toBeGreaterThan(0);

    const second = await s.agent().deliver(request({ queueId: 'Q2' }));
    expect(steps(second)).toEqual(['mx1.example.test skipped-dead', 'mx2.example.test delivered']);
    expect(dead.connections).toBe(1);

    // Dead marks switched off on a third host: the binding still puts mx2 first.
    const third = await s.agent({ smtpDeadEndpointTime: 0 }).deliver(request({ queueId: 'Q3' }));
    expect(steps(third)).toEqual(['mx2.example.test delivered']);
    expect(dead.connections).toBe(1);

    // Without binding and marks, the primary is tried again.
    await r.del(...keys);
    const fourth = await s.agent().deliver(request({ queueId: 'Q4' }));
    expect(steps(fourth)).toEqual(['mx1.example.test handshake-failed', 'mx2.example.test delivered']);
    expect(dead.connections).toBe(2);
    expect(good.messages).toHaveLength(4);
    r.disconnect();
  });

  it('never skips every candidate: a lone MX marked dead is still tried, and a success clears its mark', async () => {
    s = await clusterScene((addr) => ({
      'example.test': { MX: [[10, 'mx1.example.test']] },
      'mx1.example.test': { A: [addr(1)] },
    }));
    const r = new Redis(s.redis.url);
    const deadKey = `{mxq}:nh:dead:smtp:[${s.addr(1)}]:25`;
    await r.set(deadKey, '1', 'PX', 60_000);
    const good = await startSmtpPeer({ host: s.addr(1), port: 25 });
    peers.push(good);
    const res = await s.agent().deliver(request());
    expect(steps(res)).toEqual(['mx1.example.test delivered']);
    expect(res.recipients[0]?.status).toBe('sent');
    // The clear is fire-and-forget: poll for it.
    const deadline = Date.now() + 10_000;
    while ((await r.exists(deadKey)) === 1 && Date.now() < deadline)
      await new Promise((ok) => setTimeout(ok, 50));
    expect(await r.exists(deadKey)).toBe(0);
    r.disconnect();
  });

  it('delivers as usual when the Redis of the cluster tier is down', async () => {
    s = await clusterScene(twoMx);
    const good = await startSmtpPeer({ host: s.addr(1), port: 25 });
    peers.push(good);
    const port = await freePort();
    const logger = memoryLogger();
    const agent = createDeliveryAgent(resolveOptions(baseOptions(s.dns)), {
      logger,
      nexthopState: createRedisNexthopState({
        redisUrl: `redis://127.0.0.1:${port}`,
        prefix: '{mxq}',
        logger,
      }),
    });
    const res = await agent.deliver(request());
    expect(res.recipients[0]?.status).toBe('sent');
    await agent.close();
  });
});
