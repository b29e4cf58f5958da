/**
 * The dest label is asked before the cluster tier's read when the element has one candidate
 * (attempt-walk.ts destLabelBeforeMemory): a session cached under it delivers without the read;
 * without a cached session the read happens as before, and with two candidates it comes first.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisNexthopState, type RedisNexthopState } from '../../../src/cache/redis-nexthop-state.ts';
import { resolveOptions } from '../../../src/core/options.ts';
import type { NexthopStateQuery } from '../../../src/core/ports.ts';
import { createDeliveryAgent } from '../../../src/workers/agent.ts';
import { memoryLogger } from '../../support/fakes.ts';
import { type SmtpPeer, startSmtpPeer } from '../../support/smtp-peer.ts';
import { baseOptions, type ClusterScene, clusterScene, request, steps } from './cluster-harness.ts';

let s: ClusterScene | undefined;
const peers: SmtpPeer[] = [];
afterEach(async () => {
  for (const p of peers.splice(0)) await p.stop();
  await s?.close();
  s = undefined;
});

/** A real Redis store whose reads are listed (the binding key of each); the agent closes it. */
function countingStore(url: string): { store: RedisNexthopState; reads: string[] } {
  const inner = createRedisNexthopState({ redisUrl: url, prefix: '{mxq}', logger: memoryLogger() });
  const reads: string[] = [];
  const store: RedisNexthopState = {
    ...inner,
    read(q: NexthopStateQuery) {
      reads.push(q.binding);
      return inner.read(q);
    },
  };
  return { store, reads };
}

describe('the dest label before the next-hop memory', () => {
  it('one candidate: a session cached under the dest label delivers without reading the memory', async () => {
    s = await clusterScene((addr) => ({
      'example.test': { MX: [[10, 'mx1.example.test']] },
      'mx1.example.test': { A: [addr(1)] },
    }));
    const peer = await startSmtpPeer({ host: s.addr(1), port: 25 });
    peers.push(peer);
    const { store, reads } = countingStore(s.redis.url);
    const opts = resolveOptions(baseOptions(s.dns, { smtpConnectionCacheDestinations: ['example.test'] }));
    const agent = createDeliveryAgent(opts, { logger: memoryLogger(), nexthopState: store });
    try {
      const first = await agent.deliver(request({ queueId: 'Q1', cacheHint: 'load+store' }));
      expect(steps(first)).toEqual(['mx1.example.test delivered']);
      expect(reads).toHaveLength(1);
      const second = await agent.deliver(request({ queueId: 'Q2', cacheHint: 'load+store' }));
      expect(steps(second)).toEqual(['mx1.example.test reused-delivered']);
      expect(peer.connections).toBe(1);
      expect(peer.messages).toHaveLength(2);
      // The second attempt rode the cached session: no read of the memory.
      expect(reads).toHaveLength(1);
    } finally {
      await agent.close();
    }
  });

  it('two candidates: the memory is read first, as before, even with a cached session', async () => {
    s = await clusterScene((addr) => ({
      'example.test': {
        MX: [
          [10, 'mx1.example.test'],
          [20, 'mx2.example.test'],
        ],
      },
      'mx1.example.test': { A: [addr(1)] },
      'mx2.example.test': { A: [addr(2)] },
    }));
    const peer = await startSmtpPeer({ host: s.addr(1), port: 25 });
    peers.push(peer);
    const { store, reads } = countingStore(s.redis.url);
    const opts = resolveOptions(baseOptions(s.dns, { smtpConnectionCacheDestinations: ['example.test'] }));
    const agent = createDeliveryAgent(opts, { logger: memoryLogger(), nexthopState: store });
    try {
      await agent.deliver(request({ queueId: 'Q1', cacheHint: 'load+store' }));
      const second = await agent.deliver(request({ queueId: 'Q2', cacheHint: 'load+store' }));
      expect(steps(second)).toEqual(['mx1.example.test reused-delivered']);
      expect(peer.connections).toBe(1);
      expect(reads).toHaveLength(2);
    } finally {
      await agent.close();
    }
  });
});
