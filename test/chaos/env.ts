/**
 * One chaos scene: a real redis-server (AOF), the DNS server on loopback, the fault peer as the MX
 * of every test domain, `mxq worker` processes and a mail queue client; a load generator and the
 * wait-until-settled loop around the reconciling checker.
 *
 * Decides: the scene's shape (8 recipient domains d0..d7.test and the sender's src.test, all MX →
 * the fault peer), short backoffs, where figures are reported (stdout and, when
 * MXQ_CHAOS_REPORT names a file, one line appended per run).
 * Never: asserts (the tests do); runs unbounded loops.
 */
import { appendFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { DeliveryOptionsInput } from '../../src/core/options.ts';
import { createRedisClient } from '../../src/queue/connection.ts';
import { createMailQueue, type MailQueue } from '../../src/queue/mail-queue.ts';
import { spawnWorker, stopWorker, type WorkerProcess, writeConfig } from '../e2e/helpers.ts';
import { type DnsServer, startDnsServer, type ZoneFixture } from '../support/dns-server.ts';
import { allocateLoopbackBlock } from '../support/loopback.ts';
import { type RedisHandle, startRedis } from '../support/redis.ts';
import { until } from '../support/wait.ts';
import { type Reconciliation, reconcile, type SentMessage, summary } from './checker.ts';
import { type FaultPeer, startFaultPeer } from './fault-peer.ts';

export const DOMAINS = Array.from({ length: 8 }, (_, i) => `d${i}.test`);

export interface ChaosEnv {
  /** The Redis URL workers and the queue use (a redis-sentinel:// URL in the Sentinel case). */
  url: string;
  /** The scene's own redis-server (throws when the scene runs on an external Redis). */
  ownRedis(): RedisHandle;
  client: Redis;
  dns: DnsServer;
  peer: FaultPeer;
  mq: MailQueue;
  prefix: string;
  config: string;
  workers: WorkerProcess[];
  options: DeliveryOptionsInput;
  spawn(extra?: string[]): Promise<WorkerProcess>;
  live(): WorkerProcess[];
  /** Send `n` messages of 1–3 recipients; `local(i, j)` names recipient j of message i. */
  load(n: number, local?: (i: number, j: number) => string, seed?: number): Promise<SentMessage[]>;
  /** Poll the checker until no recipient is deferred (or `allowDeferred` says so) and none is lost yet (a DSN may still be on its way); throws with the last figures on timeout. */
  settle(
    sent: SentMessage[],
    timeoutMs: number,
    allowDeferred?: (r: Reconciliation) => boolean,
  ): Promise<Reconciliation>;
  report(name: string, r: Reconciliation, extra?: Record<string, number>): void;
  close(): Promise<void>;
}

/** Deterministic pseudo-random numbers (mulberry32) so a run can be repeated from its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function chaosEnv(
  p: {
    name: string;
    redisArgs?: string[];
    /** Use this Redis instead of starting one (e.g. a redis-sentinel:// URL). */
    redisUrl?: string;
    /** send() waits for this many replicas (Redis WAIT). */
    replicaAcks?: number;
    options?: DeliveryOptionsInput;
    concurrency?: number;
    lmtp?: boolean;
  } = {
    name: 'chaos',
  },
): Promise<ChaosEnv> {
  const block = allocateLoopbackBlock();
  const redis =
    p.redisUrl === undefined ? await startRedis(p.redisArgs ? { args: p.redisArgs } : {}) : undefined;
  const url = p.redisUrl ?? redis?.url ?? '';
  const client = createRedisClient(url, { maxRetriesPerRequest: null });
  const peer = await startFaultPeer({ host: block.addr(1), ...(p.lmtp ? { lmtp: true } : {}) });
  const zone: ZoneFixture = {
    'mx.chaos.test': { A: [block.addr(1)] },
    'src.test': { MX: [[10, 'mx.chaos.test']] },
  };
  for (const d of DOMAINS) zone[d] = { MX: [[10, 'mx.chaos.test']] };
  const dns = await startDnsServer(zone);
  const prefix = `{${p.name}}`;
  const options: DeliveryOptionsInput = {
    myhostname: 'mta.test',
    dnsServers: [dns.server],
    smtpTcpPort: String(peer.port),
    smtpTlsSecurityLevel: 'none',
    minimalBackoffTime: 0.3,
    maximalBackoffTime: 1,
    ...p.options,
  };
  const config = await writeConfig(options);
  const mq = createMailQueue({
    redis: url,
    prefix,
    options,
    sendTimeoutMs: 1000,
    ...(p.replicaAcks !== undefined ? { sendReplicaAcks: p.replicaAcks } : {}),
  });
  const workers: WorkerProcess[] = [];
  const env: ChaosEnv = {
    url,
    ownRedis() {
      if (redis === undefined) throw new Error('this chaos scene runs on an external Redis');
      return redis;
    },
    client,
    dns,
    peer,
    mq,
    prefix,
    config,
    workers,
    options,
    async spawn(extra = []) {
      const w = spawnWorker({
        config,
        redis: url,
        prefix,
        extra: ['--concurrency', String(p.concurrency ?? 4), ...extra],
      });
      workers.push(w);
      // generous under load (other test files and helpers share two cores)
      await until(
        'worker started',
        async () => (w.output().includes('"worker-started"') ? true : undefined),
        60_000,
      );
      return w;
    },
    live: () => workers.filter((w) => w.proc.exitCode === null && w.proc.signalCode === null),
    async load(n, local = (i, j) => `u${i}x${j}`, seed = 1) {
      const random = rng(seed);
      const sent: SentMessage[] = [];
      for (let i = 0; i < n; i++) {
        const k = 1 + Math.floor(random() * 3);
        const to: string[] = [];
        for (let j = 0; j < k; j++)
          to.push(`${local(i, j)}@${DOMAINS[Math.floor(random() * DOMAINS.length)]}`);
        const { queueId } = await mq.send({
          from: 'app@src.test',
          to,
          message: `Subject: chaos ${i}\r\nX-Chaos: ${p.name}\r\n\r\nmessage ${i}\r\n`,
        });
        sent.push({ queueId, recipients: to });
      }
      return sent;
    },
    async settle(sent, timeoutMs, allowDeferred = () => false) {
      let last: Reconciliation | undefined;
      try {
        return await until(
          'every recipient final',
          async () => {
            last = await reconcile(client, mq.keys, peer, sent);
            return (last.deferred === 0 || allowDeferred(last)) && last.lost === 0 ? last : undefined;
          },
          timeoutMs,
        );
      } catch (err) {
        if (last !== undefined) {
          const first = last.problems.slice(0, 3).join('; ');
          throw new Error(`${(err as Error).message}: ${summary(p.name, last)} ${first}`);
        }
        throw err;
      }
    },
    report(name, r, extra = {}) {
      const line = summary(name, r, extra);
      process.stdout.write(`chaos: ${line}\n`);
      const file = process.env.MXQ_CHAOS_REPORT;
      if (file !== undefined && file !== '') appendFileSync(file, `${new Date().toISOString()} ${line}\n`);
    },
    async close() {
      for (const w of workers) await stopWorker(w);
      await mq.close();
      client.disconnect();
      await peer.stop();
      await dns.stop();
      await redis?.stop();
      block.release();
    },
  };
  return env;
}
