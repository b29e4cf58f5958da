/**
 * Benchmark (not a test): mail transactions per second over ONE reused loopback connection to
 * Postfix's smtp-sink, for the mxq engine (pipelined, and lock-step against a sink started with
 * `-p`, which hides PIPELINING) beside Postfix's C client `smtp-source -d -s 1` (one session,
 * messages back to back; smtp-source never pipelines) against the same sinks in the same run.
 *
 * Run: node bench/smtp-throughput.ts [--rounds N] [--small-count N] [--large-count N]
 * Bounded: each measurement sends a fixed number of messages and stops early after MAX_RUN_MS.
 * Prints a markdown table; the median of the rounds is reported.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { HandshakeParams, StageTimeoutsMs } from '../src/core/ports.ts';
import type { Endpoint } from '../src/core/types.ts';
import { createSmtpConnector } from '../src/smtp/connector.ts';
import { postfixTool, startSmtpSink } from '../test/support/postfix.ts';

const MAX_RUN_MS = 20_000;
const WARMUP_MESSAGES = 200;
const TIMEOUTS: StageTimeoutsMs = {
  connect: 5000,
  helo: 10_000,
  lhlo: 10_000,
  starttls: 10_000,
  mail: 10_000,
  rcpt: 10_000,
  dataInit: 10_000,
  dataXfer: 30_000,
  dataDone: 30_000,
  rset: 10_000,
  quit: 5000,
};

interface Measurement {
  client: string;
  mode: string;
  bodyBytes: number;
  messages: number;
  seconds: number;
}

/** A message of about `payloadBytes` body bytes after a few headers, in 78-character lines. */
export function makeMessage(payloadBytes: number): Buffer {
  const head =
    'From: <bench@source.test>\r\nTo: <sink@sink.test>\r\nSubject: bench\r\nMessage-ID: <b@source.test>\r\n\r\n';
  const line = `${'La la la la '.repeat(6)}lalala\r\n`;
  const lines = Math.max(1, Math.round(payloadBytes / line.length));
  return Buffer.from(head + line.repeat(lines));
}

function handshakeParams(): HandshakeParams {
  return {
    protocol: 'smtp',
    heloName: 'bench.source.test',
    myHostname: 'bench.source.test',
    loopDetect: false,
    bestMx: true,
    requestNexthop: '[127.0.0.1]',
    tls: { level: 'none' },
    requireTls: 'disable',
    smtputf8Required: false,
    skip5xxGreeting: true,
    alwaysSendEhlo: true,
    neverSendEhlo: false,
    timeouts: TIMEOUTS,
  };
}

/** N transactions on one session: connect, handshake, transaction × N, QUIT. */
async function runEngine(
  port: number,
  message: Buffer,
  count: number,
): Promise<{ messages: number; seconds: number }> {
  const endpoint: Endpoint = {
    kind: 'inet',
    host: 'localhost',
    address: '127.0.0.1',
    port,
    family: 4,
    preference: 0,
  };
  const start = performance.now();
  const conn = await createSmtpConnector().connect({ endpoint, protocol: 'smtp', connectTimeoutMs: 5000 });
  if (!conn.ok) throw new Error(`connect: ${conn.failure.text}`);
  const hs = await conn.connection.handshake(handshakeParams());
  if (!hs.ok) throw new Error(`handshake: ${hs.failure.text}`);
  const session = hs.session;
  let sent = 0;
  for (; sent < count && performance.now() - start < MAX_RUN_MS; sent++) {
    const r = await session.transaction({
      sender: 'bench@source.test',
      recipients: [{ address: 'sink@sink.test' }],
      message,
      size: message.length,
      timeouts: TIMEOUTS,
    });
    const first = r.recipients[0];
    if (first === undefined || !first.ok) throw new Error(`transaction ${sent}: ${JSON.stringify(first)}`);
    if (!r.reusable) throw new Error(`session not reusable after transaction ${sent}`);
  }
  await session.quit(TIMEOUTS.quit);
  return { messages: sent, seconds: (performance.now() - start) / 1000 };
}

/** smtp-source -d -s 1 -m N -l SIZE: one session, N messages (lock-step; smtp-source never pipelines). */
async function runSmtpSource(
  port: number,
  payloadBytes: number,
  count: number,
): Promise<{ messages: number; seconds: number }> {
  const tool = postfixTool('smtp-source');
  const args = ['-d', '-s', '1', '-m', String(count), '-l', String(payloadBytes)];
  args.push(
    '-f',
    'bench@source.test',
    '-t',
    'sink@sink.test',
    '-M',
    'bench.source.test',
    `127.0.0.1:${port}`,
  );
  const start = performance.now();
  const child = spawn(tool.path, args, { env: tool.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), MAX_RUN_MS * 2);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`smtp-source exited ${code}: ${stderr}`);
  return { messages: count, seconds: (performance.now() - start) / 1000 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

type Runner = {
  label: Omit<Measurement, 'messages' | 'seconds'>;
  once: () => Promise<{ messages: number; seconds: number }>;
};

/** Rounds are interleaved (A B C, A B C, ...) so that load changes hit every client alike; the median round is kept. */
async function measureInterleaved(runners: Runner[], rounds: number): Promise<Measurement[]> {
  const results: Array<Array<{ messages: number; seconds: number }>> = runners.map(() => []);
  for (let i = 0; i < rounds; i++) {
    for (const [j, r] of runners.entries()) results[j]?.push(await r.once());
  }
  return runners.map((r, j) => {
    const list = results[j] ?? [];
    const rates = list.map((x) => x.messages / x.seconds);
    const chosen = list[rates.indexOf(median(rates))] ?? { messages: 0, seconds: 1 };
    return { ...r.label, ...chosen };
  });
}

function rate(m: Measurement): number {
  return m.messages / m.seconds;
}

function table(rows: Measurement[]): string {
  const out = [
    '| body | client | mode | messages | seconds | msg/s | % of smtp-source |',
    '|---:|---|---|---:|---:|---:|---:|',
  ];
  for (const m of rows) {
    const ref = rows.find(
      (r) => r.client === 'smtp-source' && r.bodyBytes === m.bodyBytes && r.mode === 'lock-step',
    );
    const pct = ref === undefined ? '' : `${((100 * rate(m)) / rate(ref)).toFixed(0)}%`;
    const kb = `${Math.round(m.bodyBytes / 1024)} KB`;
    out.push(
      `| ${kb} | ${m.client} | ${m.mode} | ${m.messages} | ${m.seconds.toFixed(2)} | ${rate(m).toFixed(0)} | ${pct} |`,
    );
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '5' },
      'small-count': { type: 'string', default: '3000' },
      'large-count': { type: 'string', default: '600' },
    },
  });
  const rounds = Math.min(9, Math.max(1, Number(values.rounds)));
  const sizes: Array<[number, number]> = [
    [2048, Math.min(50_000, Number(values['small-count']))],
    [102_400, Math.min(10_000, Number(values['large-count']))],
  ];
  const pipelined = await startSmtpSink({ host: '127.0.0.1' });
  const lockstep = await startSmtpSink({ host: '127.0.0.1', args: ['-p'] });
  const rows: Measurement[] = [];
  try {
    for (const [bytes, count] of sizes) {
      const message = makeMessage(bytes);
      await runEngine(pipelined.port, message, WARMUP_MESSAGES);
      await runEngine(lockstep.port, message, WARMUP_MESSAGES);
      const runners: Runner[] = [
        {
          label: { client: 'smtp-source', mode: 'lock-step', bodyBytes: bytes },
          once: () => runSmtpSource(pipelined.port, bytes, count),
        },
        {
          label: { client: 'mxq', mode: 'pipelined', bodyBytes: bytes },
          once: () => runEngine(pipelined.port, message, count),
        },
        {
          label: { client: 'mxq', mode: 'lock-step', bodyBytes: bytes },
          once: () => runEngine(lockstep.port, message, count),
        },
      ];
      rows.push(...(await measureInterleaved(runners, rounds)));
    }
  } finally {
    await pipelined.stop();
    await lockstep.stop();
  }
  process.stdout.write(`${table(rows)}\n\nrounds: ${rounds} (median shown), node ${process.version}\n`);
}

await main();
