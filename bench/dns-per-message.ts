/**
 * Benchmark (not a test): DNS queries per delivered message for a steady stream to one domain,
 * through the real delivery agent (its per-process DNS cache) against a real DNS server and
 * Postfix's smtp-sink on loopback. Run once with the cache (default options) and once without
 * (dnsCacheMaxTtl 0) for contrast, and once more with the cluster tier in a real redis-server
 * (its Redis commands per message from INFO commandstats: one MGET per attempt, writes only when
 * something changed).
 *
 * Run: node bench/dns-per-message.ts [--rate 200] [--seconds 10]
 * Bounded: at most rate × seconds messages per run, at most 50 in flight, and a hard stop at
 * seconds + 30 s. Sends traffic only to loopback.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { createRedisNexthopState } from '../src/cache/redis-nexthop-state.ts';
import { type DeliveryOptionsInput, resolveOptions } from '../src/core/options.ts';
import type { AttemptResult } from '../src/core/types.ts';
import { createDeliveryAgent } from '../src/workers/agent.ts';
import { startDnsServer } from '../test/support/dns-server.ts';
import { memoryLogger } from '../test/support/fakes.ts';
import { allocateLoopbackBlock } from '../test/support/loopback.ts';
import { startSmtpSink } from '../test/support/postfix.ts';
import { startRedis } from '../test/support/redis.ts';

const { values } = parseArgs({
  options: { rate: { type: 'string', default: '200' }, seconds: { type: 'string', default: '10' } },
});
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const MAX_IN_FLIGHT = 50;

interface RunResult {
  label: string;
  offered: number;
  delivered: number;
  queries: number;
  hits: number;
  coalesced: number;
  seconds: number;
}

async function run(
  label: string,
  extra: DeliveryOptionsInput,
  dnsServer: string,
  redisUrl?: string,
): Promise<RunResult> {
  const logger = memoryLogger();
  const nexthopState =
    redisUrl !== undefined ? createRedisNexthopState({ redisUrl, prefix: '{mxq}', logger }) : undefined;
  const agent = createDeliveryAgent(
    resolveOptions({
      dnsServers: [dnsServer],
      // The bench's MX hosts live on loopback, which the address policy refuses by default (G25).
      smtpAddressAllowlist: ['127.0.0.0/8'],
      inetProtocols: 'ipv4',
      smtpTlsSecurityLevel: 'none',
      myhostname: 'client.test',
      ...extra,
    }),
    { logger, ...(nexthopState !== undefined ? { nexthopState } : {}) },
  );
  const body = Buffer.from('From: s@client.test\r\nSubject: bench\r\n\r\nhello\r\n');
  const total = Math.round(RATE * SECONDS);
  const inFlight = new Set<Promise<AttemptResult>>();
  let delivered = 0;
  const started = performance.now();
  const hardStop = started + (SECONDS + 30) * 1000;
  for (let i = 0; i < total && performance.now() < hardStop; i++) {
    // Steady arrivals: message i is due at i / RATE seconds.
    const due = started + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
    const p = agent.deliver({
      queueId: `B${i}`,
      sender: 's@client.test',
      recipients: [{ address: `r${i % 100}@example.test` }],
      nexthop: 'example.test',
      protocol: 'smtp',
      message: body,
      size: body.length,
      arrivalTime: Date.now(),
    });
    inFlight.add(p);
    void p.then((r) => {
      inFlight.delete(p);
      if (r.recipients[0]?.status === 'sent') delivered++;
    });
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - started) / 1000;
  const s = agent.dnsStats();
  await agent.close();
  return {
    label,
    offered: total,
    delivered,
    queries: s.queries,
    hits: s.hits,
    coalesced: s.coalesced,
    seconds,
  };
}

const block = allocateLoopbackBlock();
const dns = await startDnsServer({
  'example.test': { MX: [[10, 'mx1.example.test']] },
  'mx1.example.test': { A: [block.addr(1)] },
});
const sink = await startSmtpSink({ host: block.addr(1), port: 25 });
const redisServer = await startRedis();
const redis = new Redis(redisServer.url);
/** Calls of each Redis command so far (INFO commandstats). */
async function redisCalls(): Promise<Record<string, number>> {
  const info = await redis.info('commandstats');
  const out: Record<string, number> = {};
  for (const m of info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) out[m[1] ?? ''] = Number(m[2]);
  return out;
}
try {
  const results = [
    await run('cache on (defaults)', {}, dns.server),
    await run('cache off (dnsCacheMaxTtl 0)', { dnsCacheMaxTtl: 0 }, dns.server),
  ];
  const before = await redisCalls();
  const clustered = await run('cache on + cluster tier in Redis', {}, dns.server, redisServer.url);
  results.push(clustered);
  const after = await redisCalls();
  console.log(`node ${process.version}; ${RATE} msg/s for ${SECONDS} s to one domain (MX + A, TTL 60 s)\n`);
  console.log(
    '| run | messages delivered | DNS queries | queries per message | cache hits | coalesced | seconds |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const per = r.delivered > 0 ? (r.queries / r.delivered).toFixed(4) : 'n/a';
    console.log(
      `| ${r.label} | ${r.delivered} / ${r.offered} | ${r.queries} | ${per} | ${r.hits} | ${r.coalesced} | ${r.seconds.toFixed(1)} |`,
    );
  }
  const perMsg = (cmd: string): string =>
    (((after[cmd] ?? 0) - (before[cmd] ?? 0)) / Math.max(1, clustered.delivered)).toFixed(4);
  console.log(
    `\ncluster tier, Redis commands per delivered message: mget ${perMsg('mget')}, set ${perMsg('set')}, del ${perMsg('del')}`,
  );
} finally {
  redis.disconnect();
  await redisServer.stop();
  await sink.stop();
  await dns.stop();
  block.release();
}
