/**
 * `npm run bench:postfix`: Postfix and mxq drain the same pre-filled queue into the same
 * smtp-sink, alternately, per workload (workloads.ts); plus the raw ceiling smtp-source → smtp-sink.
 * Issue 8's workload instead drains into a STARTTLS server (test/support/smtp-peer.ts) behind a
 * proxy adding 10 ms each way (bench/delaying-proxy.ts): Postfix at TLS level may with tlsproxy
 * connection reuse, mxq as `mxq pool` once with --sharing shared and once with local.
 *
 * Run: node bench/postfix-compare/main.ts [--quick] [--rounds N] [--scale F] [--only REGEX] [--no-write]
 *      (TLS path: [--pool-concurrency 10,20] [--sharing shared,local]; aids: --mxq-only, --cpu-prof DIR,
 *      --commandstats, --base-root DIR (each mxq system also run from that checkout, interleaved),
 *      --mxq-options JSON, --mxq-log FILE, --concurrency N (job slots per mxq worker process),
 *      --rss-samples FILE (worker VmRSS every second of each mxq drain),
 *      --worker-node-args=FLAGS (node flags of the mxq workers))
 * Decides: the procedure (both sides delivery-only: Postfix fills its hold queue through its smtpd,
 * then `postsuper -H ALL` + `postqueue -f`; mxq fills a paused BullMQ queue, then resumes; the
 * clock runs from release until the sink has counted the last message; the end-to-end workload
 * instead injects while delivering: smtp-source into Postfix's smtpd without HOLD, a sending
 * process calling mxq's send() with the workers running, the clock from the first injection to the
 * sink's last message, latency from injection to the 250), the figures (median
 * msg/s of interleaved rounds; CPU ms per delivered message of every process of the side, Redis
 * included; peak RSS of the largest process; release → 250 p50/p99; new connections (sink
 * sessions) and DNS queries per delivery; STARTTLS commands per delivery on the TLS path; Redis
 * commands per delivery) and the tables written into BENCHMARKS.md between markers (bench:postfix
 * for issue 10's workloads, bench:postfix-tls for the TLS path). Everything listens on 127.x
 * loopback addresses of a block from the loopback allocator (sink on :25, DNS on :53, the TLS
 * path's proxy on :25 of a fourth address: nothing is taken from 127.0.0.1:25). Every started
 * process is stopped on exit, SIGINT and SIGTERM.
 * Never: sends off loopback, changes a system file (the Postfix instance is private, see
 * postfix-instance.ts), waits unbounded (each drain gives up after --max-drain seconds).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import nodemailer from 'nodemailer';
import type { DeliveryOptionsInput } from '../../src/core/options.ts';
import { makeTestPki } from '../../test/support/certs.ts';
import { startDnsServer } from '../../test/support/dns-server.ts';
import { allocateLoopbackBlock } from '../../test/support/loopback.ts';
import { freePort } from '../../test/support/net-util.ts';
import { postfixTool, startSmtpSink } from '../../test/support/postfix.ts';
import { startSmtpPeer } from '../../test/support/smtp-peer.ts';
import { startDelayingProxy } from '../delaying-proxy.ts';
import type { SenderResult } from './mxq-sender.ts';
import { commandBreakdown, commandStats, prepareMxqRound } from './mxq-side.ts';
import { ensurePostfixInstalled, type PostfixInstance, startPostfixInstance } from './postfix-instance.ts';
import { cpuDelta, cpuSample, peakRssKiB, rssKiB } from './proc-stats.ts';
import { type Row, renderTable, summarize } from './report.ts';
import { type RssSample, rssCsv, summarizeRss } from './rss-trace.ts';
import { formatTimeline, sessionTimeline } from './session-timeline.ts';
import { DOMAINS, messageOf, sendInput, type Workload, workloads } from './workloads.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    scale: { type: 'string' },
    only: { type: 'string' },
    'max-drain': { type: 'string', default: '300' },
    processes: { type: 'string', default: String(cpus().length) },
    'no-write': { type: 'boolean', default: false },
    // Profiling aids: only the mxq side, workers under `node --cpu-prof`, Redis commands by name.
    'mxq-only': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    commandstats: { type: 'boolean', default: false },
    // Extra mxq options (JSON object) merged into the workers' --config, e.g. '{"destinationLeases":false}'.
    'mxq-options': { type: 'string' },
    // The mxq workers' log appended to this file (default: discarded).
    'mxq-log': { type: 'string' },
    // The TLS path: job slots per pool process to run (comma-separated; the destination limit stays 20).
    'pool-concurrency': { type: 'string' },
    // The TLS path: which --sharing modes of the pool to run.
    sharing: { type: 'string', default: 'shared,local' },
    // Before/after: also fill and drain with this other checkout's send() and workers, interleaved,
    // labelled "mxq@base".
    'base-root': { type: 'string' },
    // Job slots per mxq worker process on the plain-sink workloads (default: 20 / --processes).
    concurrency: { type: 'string' },
    // Sample each mxq worker's VmRSS every second of a drain; summary to stderr, samples (CSV) to this file.
    'rss-samples': { type: 'string' },
    // Extra node flags for the mxq worker processes (space-separated), e.g. --worker-node-args=--max-old-space-size=128.
    'worker-node-args': { type: 'string' },
  },
});
const quick = values.quick === true;
const ROUNDS = Number(values.rounds ?? (quick ? 1 : 3));
const SCALE = Number(values.scale ?? (quick ? 0.1 : 0.5));
const MAX_DRAIN_MS = Number(values['max-drain']) * 1000;
const PROCESSES = Number(values.processes);
const TOTAL_CONCURRENCY = 20;
const SLOTS = Number(values.concurrency ?? Math.max(1, Math.round(TOTAL_CONCURRENCY / PROCESSES)));
const log = (s: string) => process.stderr.write(`${s}\n`);

const cleanups: Array<() => Promise<void>> = [];
async function cleanupAll(): Promise<void> {
  while (cleanups.length > 0) {
    const f = cleanups.pop();
    try {
      await f?.();
    } catch (err) {
      log(`cleanup: ${String(err)}`);
    }
  }
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    log(`${sig}: stopping everything`);
    void cleanupAll().then(() => process.exit(130));
  });
}

const block = allocateLoopbackBlock();
cleanups.push(async () => block.release());
const SINK_IP = block.addr(1);
const DNS_IP = block.addr(2);
/** The 20 ms RTT path: STARTTLS server (any port) and, on :25, the delaying proxy in front of it. */
const TLS_PEER_IP = block.addr(3);
const PROXY_IP = block.addr(4);
const DELAY_MS = 10;

type Counters = () => { sess: number; mesg: number; tls?: number };

/** The STARTTLS server behind the delaying proxy (issue 8's path), started for one workload. */
interface TlsPath {
  counters: Counters;
  /** Where the peer's records stand now; `timeline(mark)`: the sessions since then. */
  mark(): { cmds: number; msgs: number };
  timeline(from: { cmds: number; msgs: number }): string;
  stop(): Promise<void>;
}

async function startTlsPath(): Promise<TlsPath> {
  const pki = await makeTestPki('mx.bench.test');
  const peer = await startSmtpPeer({
    host: TLS_PEER_IP,
    tls: pki.valid,
    script: { ehloName: 'mx.bench.test' },
  });
  const proxy = await startDelayingProxy({
    host: PROXY_IP,
    port: 25,
    target: { host: TLS_PEER_IP, port: peer.port },
    delayMs: DELAY_MS,
  });
  // STARTTLS commands seen, counted incrementally (the command list grows by ~6 per message).
  let scanned = 0;
  let tls = 0;
  return {
    counters() {
      for (; scanned < peer.commands.length; scanned++)
        if (peer.commands[scanned]?.line.toUpperCase().startsWith('STARTTLS')) tls++;
      return { sess: peer.connections, mesg: peer.messages.length, tls };
    },
    mark: () => ({ cmds: peer.commands.length, msgs: peer.messages.length }),
    timeline: (from) =>
      formatTimeline(sessionTimeline(peer.commands.slice(from.cmds), peer.messages.slice(from.msgs))),
    async stop() {
      await proxy.close();
      await peer.stop();
    },
  };
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const load0 = loadavg()[0] ?? 0;
  log(ensurePostfixInstalled(log));
  const zone: Record<string, { MX?: Array<[number, string]>; A?: string[] }> = {
    'relay.bench.test': { A: [SINK_IP] },
  };
  for (const d of DOMAINS) {
    zone[d] = { MX: [[10, `mx.${d}`]] };
    zone[`mx.${d}`] = { A: [SINK_IP] };
  }
  const dns = await startDnsServer(zone, { host: DNS_IP, port: 53 });
  cleanups.push(() => dns.stop());
  const sink = await startSmtpSink({ host: SINK_IP, port: 25, args: ['-c', '-h', 'sink.bench.test'] });
  cleanups.push(() => sink.stop());
  const counters = () => {
    const all = [...sink.output().matchAll(/sess=(\d+) quit=\d+ mesg=(\d+)/g)];
    const last = all[all.length - 1];
    return { sess: Number(last?.[1] ?? 0), mesg: Number(last?.[2] ?? 0) };
  };
  const rows: Row[] = [];
  const only = values.only === undefined ? undefined : new RegExp(values.only);
  const chosen = workloads(SCALE).filter((x) => only === undefined || only.test(x.name));
  if (values['mxq-only'] !== true && chosen.some((w) => w.path === undefined))
    rows.push(await rawCeiling(counters));
  for (const w of chosen) {
    log(`workload: ${w.name}`);
    const tlsPath = w.path === 'rtt20-starttls' ? await startTlsPath() : undefined;
    if (tlsPath !== undefined) cleanups.push(() => tlsPath.stop());
    const count = tlsPath?.counters ?? counters;
    const relayhost = tlsPath !== undefined ? `[${PROXY_IP}]` : w.relay ? `[${SINK_IP}]` : '';
    const smtpdPort = await freePort('127.0.0.1');
    const pf = await startPostfixInstance({
      smtpdPort,
      relayhost,
      nameserver: DNS_IP,
      tlsMay: tlsPath !== undefined,
      hold: w.endToEnd !== true,
    });
    cleanups.push(() => pf.stop());
    const slots = (values['pool-concurrency'] ?? String(TOTAL_CONCURRENCY / PROCESSES))
      .split(',')
      .map(Number);
    const mxqSystems: MxqSystem[] =
      tlsPath !== undefined
        ? slots.flatMap((c) =>
            values.sharing.split(',').map((sharing) => ({
              label: `mxq pool ${PROCESSES}×${c}, ${sharing}`,
              pool: { sharing: sharing === 'local' ? ('local' as const) : ('shared' as const) },
              concurrency: c,
            })),
          )
        : [{ label: 'mxq', concurrency: SLOTS }];
    for (let r = 0; r < ROUNDS; r++) {
      const from = rows.length;
      const traced = async (f: () => Promise<Row>): Promise<void> => {
        const mark = tlsPath?.mark();
        const row = await f();
        rows.push(row);
        if (tlsPath !== undefined && mark !== undefined) log(`  ${row.system}: ${tlsPath.timeline(mark)}`);
      };
      if (values['mxq-only'] !== true)
        await traced(() =>
          w.endToEnd === true
            ? postfixEndToEndRound(w, pf, count, dns.queries)
            : postfixRound(w, pf, count, dns.queries),
        );
      for (const m of mxqSystems)
        await traced(() =>
          w.endToEnd === true
            ? mxqEndToEndRound(w, count, dns.queries, relayhost, m)
            : mxqRound(w, count, dns.queries, relayhost, m),
        );
      const base = values['base-root'];
      // The base checkout runs the same systems (on the TLS path: each pool mode), interleaved.
      if (base !== undefined)
        for (const m of mxqSystems)
          await traced(() =>
            mxqRound(w, count, dns.queries, relayhost, {
              ...m,
              label: tlsPath === undefined ? 'mxq@base' : `${m.label} @base`,
              workerRoot: base,
            }),
          );
      log(
        `  round ${r + 1}: ${rows
          .slice(from)
          .map((x) => `${x.system} ${x.rate.toFixed(0)}/s`)
          .join(', ')}`,
      );
    }
    await cleanups.pop()?.();
    if (tlsPath !== undefined) await cleanups.pop()?.();
  }
  const minutes = ((Date.now() - t0) / 60_000).toFixed(1);
  const argv = process.argv.slice(2).join(' ');
  const head = [
    `Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${gitCommit()}, ` +
      `load average before ${load0.toFixed(1)}, after ${loadavg()[0]?.toFixed(1)}, run time ${minutes} min.`,
    `Command: \`npm run bench:postfix${argv === '' ? '' : ` -- ${argv}`}\` (rounds ${ROUNDS}, scale ${SCALE}, ` +
      `mxq ${PROCESSES} worker processes × ${SLOTS}, Postfix ` +
      'default_destination_concurrency_limit 20).',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}, ${postfixVersion()}, ${redisVersion()}.`,
  ].join('\n');
  // The plain-sink workloads (issue 10) and the 20 ms RTT + STARTTLS one (issue 8) have their own tables.
  const tlsNames = new Set(chosen.filter((w) => w.path !== undefined).map((w) => w.name));
  for (const [marker, part] of [
    ['postfix', rows.filter((r) => !tlsNames.has(r.workload))],
    ['postfix-tls', rows.filter((r) => tlsNames.has(r.workload))],
  ] as const) {
    if (part.length === 0) continue;
    const section = `${head}\n\n${renderTable(summarize(part))}\n`;
    process.stdout.write(`${section}\n`);
    if (values['no-write'] !== true) writeBenchmarks(marker, section);
  }
}

async function waitForSink(counters: Counters, target: number, t0: number): Promise<number> {
  while (counters().mesg < target) {
    if (Date.now() - t0 > MAX_DRAIN_MS) throw new Error(`drain did not finish in ${MAX_DRAIN_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now();
}

async function rawCeiling(counters: Counters): Promise<Row> {
  const n = Math.round(20_000 * SCALE);
  const before = counters();
  const tool = postfixTool('smtp-source');
  const t0 = Date.now();
  const args = ['-s', String(TOTAL_CONCURRENCY), '-d', '-m', String(n), '-l', '2048'];
  args.push('-f', 'bench@source.bench.test', '-t', 'rcpt@relay.bench.test', `${SINK_IP}:25`);
  await new Promise<void>((done, fail) => {
    const c = spawn(tool.path, args, { env: tool.env, stdio: 'ignore' });
    c.on('exit', (code) => (code === 0 ? done() : fail(new Error(`smtp-source exited ${code}`))));
  });
  const t1 = await waitForSink(counters, before.mesg + n, t0);
  const after = counters();
  return {
    workload: `raw ceiling: smtp-source → smtp-sink, ${n} × 2 KB, 20 sessions`,
    system: 'smtp-source',
    rate: n / ((t1 - t0) / 1000),
    deliveries: n,
    cpuMsPerMsg: undefined,
    peakRssMiB: undefined,
    conns: (after.sess - before.sess) / n,
  };
}

async function postfixRound(
  w: Workload,
  pf: PostfixInstance,
  counters: Counters,
  queries: unknown[],
): Promise<Row> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: pf.smtpdPort,
    pool: true,
    maxConnections: 10,
    maxMessages: Number.POSITIVE_INFINITY,
    secure: false,
    ignoreTLS: true,
  });
  let next = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < w.count) {
        const i = next++;
        const s = sendInput(w, i);
        await transport.sendMail({ envelope: { from: s.from, to: s.to }, raw: messageOf(w.bodyBytes) });
      }
    }),
  );
  transport.close();
  const deadline = Date.now() + 60_000;
  while (pf.queued() < w.count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const master = pf.masterPid();
  if (master === undefined) throw new Error('postfix master is not running');
  const expected = w.count * w.perMessage;
  const before = counters();
  const q0 = queries.length;
  const cpu0 = cpuSample([master]);
  const logFrom = pf.maillog().length;
  const t0 = Date.now();
  await pf.postsuper(['-H', 'ALL']);
  await pf.flush();
  const t1 = await waitForSink(counters, before.mesg + expected, t0);
  const cpu = cpuDelta(cpu0, cpuSample([master]));
  const after = counters();
  const lat: number[] = [];
  for (const m of pf
    .maillog()
    .slice(logFrom)
    .matchAll(/delays=[\d.]+\/([\d.]+)\/([\d.]+)\/([\d.]+).*status=sent/g)) {
    lat.push((Number(m[1]) + Number(m[2]) + Number(m[3])) * 1000);
  }
  return {
    workload: w.name,
    system: 'Postfix',
    rate: expected / ((t1 - t0) / 1000),
    deliveries: expected,
    cpuMsPerMsg: cpu / expected,
    peakRssMiB: peakRssKiB([master]) / 1024,
    latencies: lat,
    conns: (after.sess - before.sess) / expected,
    ...tlsPerMsg(before, after, expected),
    dnsPerMsg: (queries.length - q0) / expected,
  };
}

function tlsPerMsg(
  before: ReturnType<Counters>,
  after: ReturnType<Counters>,
  expected: number,
): { tlsPerMsg?: number } {
  return before.tls === undefined || after.tls === undefined
    ? {}
    : { tlsPerMsg: (after.tls - before.tls) / expected };
}

interface MxqSystem {
  label: string;
  /** Job slots per process (default: TOTAL_CONCURRENCY / PROCESSES). */
  concurrency?: number;
  workerRoot?: string;
  pool?: { sharing: 'shared' | 'local' };
}

async function mxqRound(
  w: Workload,
  counters: Counters,
  queries: unknown[],
  relayhost: string,
  sys: MxqSystem,
): Promise<Row> {
  const workerRoot = sys.workerRoot;
  const round = await prepareMxqRound({
    tmpDir: tmpdir(),
    fsync: w.fsync,
    options: mxqOptions(w, relayhost),
    processes: PROCESSES,
    concurrency: sys.concurrency ?? Math.max(1, Math.round(TOTAL_CONCURRENCY / PROCESSES)),
    count: w.count,
    input: (i) => sendInput(w, i),
    ...(workerRoot !== undefined ? { workerRoot } : {}),
    ...(sys.pool !== undefined ? { pool: sys.pool } : {}),
    ...(values['mxq-log'] !== undefined ? { logFile: values['mxq-log'] } : {}),
    nodeArgs: [
      ...(values['cpu-prof'] !== undefined ? ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']] : []),
      ...(values['worker-node-args']?.split(' ').filter((x) => x !== '') ?? []),
    ],
  });
  cleanups.push(() => round.stop());
  try {
    const expected = w.count * w.perMessage;
    const roots = [...round.workers.map((c) => c.pid ?? 0), round.redis.pid];
    const before = counters();
    const q0 = queries.length;
    const cmd0 = await round.commands();
    const stats0 = values.commandstats === true ? await commandStats(round.admin) : undefined;
    const cpuW0 = cpuSample(roots.slice(0, -1));
    const cpuR0 = cpuSample(roots.slice(-1));
    const t0 = Date.now();
    const rss: RssSample[] = [];
    const sampler =
      values['rss-samples'] === undefined
        ? undefined
        : setInterval(() => {
            const seconds = (Date.now() - t0) / 1000;
            rss.push({
              seconds,
              delivered: counters().mesg - before.mesg,
              rssMiB: rssKiB(roots.slice(0, -1)) / 1024,
            });
          }, 1000);
    await round.resume();
    const t1 = await waitForSink(counters, before.mesg + expected, t0).finally(() => clearInterval(sampler));
    if (values['rss-samples'] !== undefined) {
      writeFileSync(values['rss-samples'], rssCsv(rss));
      log(`  ${sys.label}: ${summarizeRss(rss, expected)} (samples in ${values['rss-samples']})`);
    }
    const cpuW = cpuDelta(cpuW0, cpuSample(roots.slice(0, -1)));
    const cpuR = cpuDelta(cpuR0, cpuSample(roots.slice(-1)));
    const after = counters();
    const cmds = (await round.commands()) - cmd0;
    if (stats0 !== undefined) {
      const label = workerRoot === undefined ? 'mxq' : `mxq@base (${workerRoot})`;
      log(
        `  ${label}: Redis calls per delivery, drain only\n${commandBreakdown(stats0, await commandStats(round.admin), expected)}`,
      );
    }
    const sent = await round.sentTimes();
    return {
      workload: w.name,
      system: sys.label,
      rate: expected / ((t1 - t0) / 1000),
      deliveries: expected,
      cpuMsPerMsg: (cpuW + cpuR) / expected,
      redisCpuMsPerMsg: cpuR / expected,
      peakRssMiB: peakRssKiB(roots.slice(0, -1)) / 1024,
      latencies: sent.map((at) => at - t0),
      conns: (after.sess - before.sess) / expected,
      ...tlsPerMsg(before, after, expected),
      dnsPerMsg: (queries.length - q0) / expected,
      redisCmdsPerMsg: cmds / expected,
    };
  } finally {
    await cleanups.pop()?.();
  }
}

function mxqOptions(w: Workload, relayhost: string): DeliveryOptionsInput {
  return {
    relayhost,
    ...(w.path !== undefined ? { smtpTlsSecurityLevel: 'may' as const } : {}),
    dnsServers: [`${DNS_IP}:53`],
    // The bench's MX hosts live on loopback, which the address policy refuses by default (G25).
    smtpAddressAllowlist: ['127.0.0.0/8'],
    myhostname: 'mxq.bench.test',
    ...(values['mxq-options'] !== undefined ? (JSON.parse(values['mxq-options']) as object) : {}),
  };
}

/** Injecting sessions (Postfix's smtp-source) and send() calls in flight (mxq) of the end-to-end workload. */
const INJECTORS = 20;

/**
 * End-to-end, Postfix: smtp-source injects the workload's count into the instance's smtpd (no HOLD)
 * over INJECTORS sessions while qmgr delivers; the clock runs from its start to the sink's last
 * message. Latency: delays= a+b+c+d (smtpd's receipt on to the 250).
 */
async function postfixEndToEndRound(
  w: Workload,
  pf: PostfixInstance,
  counters: Counters,
  queries: unknown[],
): Promise<Row> {
  const master = pf.masterPid();
  if (master === undefined) throw new Error('postfix master is not running');
  const expected = w.count * w.perMessage;
  const before = counters();
  const q0 = queries.length;
  const cpu0 = cpuSample([master]);
  const logFrom = pf.maillog().length;
  const tool = postfixTool('smtp-source');
  const args = ['-s', String(INJECTORS), '-d', '-m', String(w.count), '-l', String(w.bodyBytes)];
  args.push('-f', 'bench@source.bench.test', '-t', 'rcpt@relay.bench.test', `127.0.0.1:${pf.smtpdPort}`);
  const t0 = Date.now();
  const source = new Promise<void>((done, fail) => {
    const c = spawn(tool.path, args, { env: tool.env, stdio: 'ignore' });
    cleanups.push(async () => {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    });
    c.on('exit', (code) => (code === 0 ? done() : fail(new Error(`smtp-source exited ${code}`))));
  });
  try {
    await source;
    const t1 = await waitForSink(counters, before.mesg + expected, t0);
    const cpu = cpuDelta(cpu0, cpuSample([master]));
    const after = counters();
    const lat: number[] = [];
    for (const m of pf
      .maillog()
      .slice(logFrom)
      .matchAll(/delays=([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+).*status=sent/g)) {
      lat.push((Number(m[1]) + Number(m[2]) + Number(m[3]) + Number(m[4])) * 1000);
    }
    return {
      workload: w.name,
      system: 'Postfix',
      rate: expected / ((t1 - t0) / 1000),
      deliveries: expected,
      cpuMsPerMsg: cpu / expected,
      peakRssMiB: peakRssKiB([master]) / 1024,
      latencies: lat,
      conns: (after.sess - before.sess) / expected,
      dnsPerMsg: (queries.length - q0) / expected,
    };
  } finally {
    await cleanups.pop()?.();
  }
}

/**
 * End-to-end, mxq: the workers run on an empty queue; a sending process (mxq-sender.ts) calls
 * send() with INJECTORS calls in flight; the clock runs from its go to the sink's last message.
 * CPU: workers, Redis and the sender's own (process.cpuUsage from go to its last acceptance).
 * Latency: send() call start → the journal's `at` of the 250.
 */
async function mxqEndToEndRound(
  w: Workload,
  counters: Counters,
  queries: unknown[],
  relayhost: string,
  sys: MxqSystem,
): Promise<Row> {
  const options = mxqOptions(w, relayhost);
  const round = await prepareMxqRound({
    tmpDir: tmpdir(),
    fsync: w.fsync,
    options,
    processes: PROCESSES,
    concurrency: sys.concurrency ?? Math.max(1, Math.round(TOTAL_CONCURRENCY / PROCESSES)),
    count: 0,
    input: (i) => sendInput(w, i),
    ...(values['mxq-log'] !== undefined ? { logFile: values['mxq-log'] } : {}),
  });
  cleanups.push(() => round.stop());
  const dir = mkdtempSync(join(tmpdir(), 'mxq-bench-e2e-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  try {
    await round.resume();
    const cfg = join(dir, 'options.json');
    writeFileSync(cfg, JSON.stringify(options));
    const out = join(dir, 'sent.json');
    const sender = spawn(
      process.execPath,
      [
        join(REPO, 'bench/postfix-compare/mxq-sender.ts'),
        ...['--redis', round.redis.url, '--config', cfg, '--count', String(w.count)],
        ...['--inflight', String(INJECTORS), '--body-bytes', String(w.bodyBytes)],
        ...['--to', w.recipients(0)[0] ?? 'rcpt@relay.bench.test', '--out', out],
      ],
      { stdio: ['pipe', 'pipe', 'inherit'], cwd: REPO },
    );
    cleanups.push(async () => {
      if (sender.exitCode === null && sender.signalCode === null) sender.kill('SIGKILL');
    });
    const exited = new Promise<void>((done, fail) =>
      sender.on('exit', (code) => (code === 0 ? done() : fail(new Error(`mxq-sender exited ${code}`)))),
    );
    await new Promise<void>((ready, fail) => {
      let buf = '';
      sender.stdout?.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('ready')) ready();
      });
      sender.once('exit', (code) => fail(new Error(`mxq-sender exited ${code} before ready`)));
    });
    const expected = w.count * w.perMessage;
    const roots = [...round.workers.map((c) => c.pid ?? 0), round.redis.pid];
    const before = counters();
    const q0 = queries.length;
    const cmd0 = await round.commands();
    const cpuW0 = cpuSample(roots.slice(0, -1));
    const cpuR0 = cpuSample(roots.slice(-1));
    const t0 = Date.now();
    sender.stdin?.end('go\n');
    await exited;
    const t1 = await waitForSink(counters, before.mesg + expected, t0);
    const cpuW = cpuDelta(cpuW0, cpuSample(roots.slice(0, -1)));
    const cpuR = cpuDelta(cpuR0, cpuSample(roots.slice(-1)));
    const after = counters();
    const cmds = (await round.commands()) - cmd0;
    const result = JSON.parse(readFileSync(out, 'utf8')) as SenderResult;
    const sent = await round.sentByQueueId();
    const latencies = result.sent.flatMap(([id, at]) => (sent.get(id) ?? []).map((x) => x - at));
    log(
      `  ${sys.label}: sender accepted ${result.sent.length} in ${((Math.max(...result.sent.map((x) => x[1])) - t0) / 1000).toFixed(1)} s, ` +
        `its CPU ${(result.cpuMs / w.count).toFixed(2)} ms/msg; workers ${(cpuW / expected).toFixed(2)}, Redis ${(cpuR / expected).toFixed(2)}`,
    );
    return {
      workload: w.name,
      system: sys.label,
      rate: expected / ((t1 - t0) / 1000),
      deliveries: expected,
      cpuMsPerMsg: (cpuW + cpuR + result.cpuMs) / expected,
      redisCpuMsPerMsg: cpuR / expected,
      peakRssMiB: peakRssKiB(roots.slice(0, -1)) / 1024,
      latencies,
      conns: (after.sess - before.sess) / expected,
      dnsPerMsg: (queries.length - q0) / expected,
      redisCmdsPerMsg: cmds / expected,
    };
  } finally {
    await cleanups.pop()?.();
    await cleanups.pop()?.();
    await cleanups.pop()?.();
  }
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function postfixVersion(): string {
  try {
    return `Postfix ${execFileSync('/usr/sbin/postconf', ['-dh', 'mail_version'], { encoding: 'utf8' }).trim()}`;
  } catch {
    return 'Postfix ?';
  }
}

function redisVersion(): string {
  try {
    return execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).split(' ').slice(0, 3).join(' ');
  } catch {
    return 'redis ?';
  }
}

/**
 * Replace the table between `<!-- bench:MARKER:start -->` and `<!-- bench:MARKER:end -->` in
 * BENCHMARKS.md (the issue 10 table: "postfix"; the issue 8 20 ms RTT + STARTTLS one: "postfix-tls").
 */
function writeBenchmarks(marker: string, section: string): void {
  const START = `<!-- bench:${marker}:start -->`;
  const END = `<!-- bench:${marker}:end -->`;
  const file = join(REPO, 'BENCHMARKS.md');
  const text = readFileSync(file, 'utf8');
  const block = `${START}\n${section}${END}`;
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  const out =
    a >= 0 && b > a
      ? text.slice(0, a) + block + text.slice(b + END.length)
      : `${text.trimEnd()}\n\n## mxq beside Postfix (${marker})\n\n${block}\n`;
  writeFileSync(file, out);
  log(`table written to ${file} (${marker})`);
}

try {
  await main();
} finally {
  await cleanupAll();
}
