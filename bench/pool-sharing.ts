/**
 * Benchmark (not a test): what sharing sessions across the processes of `mxq pool` buys over a
 * realistic path: a receiving server with STARTTLS behind a delaying proxy that adds DELAY_MS in
 * each direction (20 ms round trip), TLS level `may`, many destinations on separate loopback
 * addresses, a steady arrival rate (no backlog). Runs the same load with `--sharing local`
 * (per-process session caches and TLS) and `--sharing shared` (host cache + TLS owner).
 *
 * Run: node bench/pool-sharing.ts [--processes 4] [--destinations 100] [--rate 200] [--seconds 10]
 * Reports per mode: messages, msg/s delivered, TLS handshakes per message (STARTTLS commands the
 * server saw), new connections per message, p50/p90 enqueue → 250 latency, client CPU ms per
 * message (user+sys of the supervisor and its children from /proc), host-cache counters.
 * A warm-up of one message per destination comes first (its sessions expire before the run).
 * Bounded: rate × seconds messages, and a drain wait of at most 60 s.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createMailQueue } from '../src/queue/mail-queue.ts';
import { makeTestPki } from '../test/support/certs.ts';
import { startDnsServer, type ZoneFixture } from '../test/support/dns-server.ts';
import { allocateLoopbackBlock } from '../test/support/loopback.ts';
import { startRedis } from '../test/support/redis.ts';
import { startSmtpPeer } from '../test/support/smtp-peer.ts';
import { type DelayingProxy, startDelayingProxy } from './delaying-proxy.ts';

const DELAY_MS = 10;
const MAIN = resolve(import.meta.dirname, '../src/cli/main.ts');
const CLK_TCK = 100;

function cpuMsOf(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK; // utime + stime
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

async function runMode(a: {
  sharing: 'shared' | 'local';
  processes: number;
  destinations: number;
  rate: number;
  seconds: number;
  redisUrl: string;
  config: string;
  options: Record<string, unknown>;
  peer: Awaited<ReturnType<typeof startSmtpPeer>>;
}): Promise<Record<string, number | string>> {
  const prefix = `{bench${a.sharing}}`;
  const args = [MAIN, 'pool', '-n', String(a.processes), '--sharing', a.sharing, '--config', a.config];
  args.push('--redis', a.redisUrl, '--prefix', prefix, '--concurrency', '20');
  const pool: ChildProcess = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, MXQ_LOG_LEVEL: 'info' },
  });
  let out = '';
  pool.stdout?.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-1_000_000);
  });
  const pid = pool.pid ?? 0;
  const deadline = Date.now() + 120_000;
  const started = () => out.split('"event":"worker-started"').length - 1;
  while (started() < a.processes && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const mq = createMailQueue({ redis: a.redisUrl, prefix, options: a.options });
  // Warm-up (JIT, DNS): one message per destination, then let their idle sessions expire.
  const warm = a.peer.messages.length;
  for (let i = 0; i < a.destinations; i++)
    void mq.send({
      from: 'bench@src.test',
      to: [`w${i}@d${i}.bench`],
      message: 'Subject: warm\r\n\r\nw\r\n',
    });
  const warmEnd = Date.now() + 60_000;
  while (a.peer.messages.length - warm < a.destinations && Date.now() < warmEnd)
    await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 2500));
  const pids = [pid, ...childrenOf(pid)];
  const cpu0 = pids.reduce((s, p) => s + cpuMsOf(p), 0);
  const msgs0 = a.peer.messages.length;
  const conns0 = a.peer.connections;
  const tls0 = a.peer.commands.filter((c) => c.line.startsWith('STARTTLS')).length;
  const total = a.rate * a.seconds;
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let seen = msgs0;
  const watch = setInterval(() => {
    const now = Date.now();
    for (; seen < a.peer.messages.length; seen++) {
      const to = a.peer.messages[seen]?.to[0] ?? '';
      const t = sentAt.get(to);
      if (t !== undefined) latencies.push(now - t);
    }
  }, 5);
  const start = Date.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / a.rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const to = `m${i}@d${i % a.destinations}.bench`;
    sentAt.set(to, Date.now());
    void mq.send({ from: 'bench@src.test', to: [to], message: `Subject: ${i}\r\n\r\nbench ${i}\r\n` });
  }
  const end = Date.now() + 60_000;
  while (latencies.length < total && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  const elapsed = (Date.now() - start) / 1000;
  clearInterval(watch);
  const cpu1 = [pid, ...childrenOf(pid)].reduce((s, p) => s + cpuMsOf(p), 0);
  pool.kill('SIGUSR2');
  await new Promise((r) => setTimeout(r, 1500));
  const statusLine =
    out
      .split('\n')
      .filter((l) => l.includes('"pool-status"'))
      .at(-1) ?? '{}';
  const status = JSON.parse(statusLine) as {
    hostCache?: Record<string, number>;
    tlsOwner?: Record<string, number>;
  };
  pool.kill('SIGTERM');
  await new Promise((r) => pool.once('exit', r));
  if (process.env.BENCH_DEBUG === '1') process.stderr.write(out.slice(-60000));
  await mq.close();
  const delivered = a.peer.messages.length - msgs0;
  const handshakes = a.peer.commands.filter((c) => c.line.startsWith('STARTTLS')).length - tls0;
  return {
    sharing: a.sharing,
    messages: delivered,
    'msg/s': +(delivered / elapsed).toFixed(1),
    'TLS handshakes/msg': +(handshakes / Math.max(1, delivered)).toFixed(3),
    'connections/msg': +((a.peer.connections - conns0) / Math.max(1, delivered)).toFixed(3),
    'p50 ms': pct(latencies, 50),
    'p90 ms': pct(latencies, 90),
    'client CPU ms/msg': +((cpu1 - cpu0) / Math.max(1, delivered)).toFixed(2),
    'host hits': (status.hostCache?.hitsDest ?? 0) + (status.hostCache?.hitsEndpoint ?? 0),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      processes: { type: 'string', default: '4' },
      destinations: { type: 'string', default: '100' },
      rate: { type: 'string', default: '200' },
      seconds: { type: 'string', default: '10' },
      modes: { type: 'string', default: 'local,shared' },
    },
  });
  const destinations = Math.min(200, Number(values.destinations));
  const block = allocateLoopbackBlock();
  const redis = await startRedis();
  const pki = await makeTestPki('mx.bench.test');
  const peer = await startSmtpPeer({
    host: '127.0.0.1',
    tls: pki.valid,
    script: { ehloName: 'mx.bench.test' },
  });
  const zone: ZoneFixture = {};
  const proxies: DelayingProxy[] = [];
  const port = 2525;
  for (let i = 0; i < destinations; i++) {
    const addr = block.addr(i + 1);
    zone[`d${i}.bench`] = { MX: [[10, `mx${i}.bench`]] };
    zone[`mx${i}.bench`] = { A: [addr] };
    proxies.push(
      await startDelayingProxy({
        host: addr,
        port,
        target: { host: '127.0.0.1', port: peer.port },
        delayMs: DELAY_MS,
      }),
    );
  }
  const dns = await startDnsServer(zone);
  const options = {
    myhostname: 'mta.bench',
    dnsServers: [dns.server],
    // The bench's MX hosts live on loopback, which the address policy refuses by default (G25).
    smtpAddressAllowlist: ['127.0.0.0/8'],
    smtpTcpPort: String(port),
    smtpTlsSecurityLevel: 'may',
  };
  const config = join(await mkdtemp(join(tmpdir(), 'mxq-bench-')), 'config.json');
  await writeFile(config, JSON.stringify(options));
  const rows: Array<Record<string, number | string>> = [];
  try {
    for (const sharing of values.modes.split(',') as Array<'shared' | 'local'>) {
      rows.push(
        await runMode({
          sharing,
          processes: Number(values.processes),
          destinations,
          rate: Number(values.rate),
          seconds: Number(values.seconds),
          redisUrl: redis.url,
          config,
          options,
          peer,
        }),
      );
      process.stderr.write(`${JSON.stringify(rows.at(-1))}\n`);
    }
  } finally {
    for (const p of proxies) await p.close();
    await peer.stop();
    await dns.stop();
    await redis.stop();
    block.release();
  }
  const keys = Object.keys(rows[0] ?? {});
  process.stdout.write(`| ${keys.join(' | ')} |\n|${keys.map(() => '---').join('|')}|\n`);
  for (const r of rows) process.stdout.write(`| ${keys.map((k) => String(r[k])).join(' | ')} |\n`);
}

await main();
