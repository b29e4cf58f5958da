/**
 * The workloads of bench/postfix-compare and the message each one sends.
 *
 * Decides: message shapes (text bodies of 78-character lines after a few headers), recipients
 * (one at a relayhost, one at one of 10 domains by MX, or 10 at 10 domains), counts (scaled by
 * --quick), Redis fsync mode, the receiving path (plain sink, or STARTTLS behind a 20 ms RTT
 * proxy), whether the queue is filled first (delivery-only) or while delivering (end-to-end), and
 * how many messages the sink must see for a drain to be complete.
 * Never: starts anything.
 */
import type { SendInput } from '../../src/queue/mail-queue.ts';

export const DOMAINS = Array.from({ length: 10 }, (_, i) => `d${i}.bench.test`);

export interface Workload {
  name: string;
  count: number;
  bodyBytes: number;
  /** Relay to the sink as relayhost (true) or by MX of each recipient domain (false). */
  relay: boolean;
  recipients: (i: number) => string[];
  fsync: 'everysec' | 'always';
  /** Deliveries the sink receives per message (one per destination domain). */
  perMessage: number;
  /**
   * The receiving side: Postfix's smtp-sink on loopback (undefined), or (issue 8's realistic path)
   * a STARTTLS server behind a proxy adding 10 ms each way; both systems at TLS level `may` with
   * their session reuse on, and mxq run as `mxq pool` once per --sharing mode.
   */
  path?: 'rtt20-starttls';
  /**
   * End-to-end (issue 10): nothing is queued before the clock starts; messages are injected while
   * the system delivers (Postfix: smtp-source into its smtpd, no HOLD; mxq: a sending process
   * calling send() with the workers running), and latency runs from injection to the sink's 250.
   */
  endToEnd?: boolean;
}

export function workloads(scale: number): Workload[] {
  const n = (x: number) => Math.max(50, Math.round(x * scale));
  const fixed = Math.max(50, Math.round(2_000 * Math.min(1, 2 * scale)));
  return [
    {
      name: `${n(20_000)} × 2 KB, relayhost`,
      count: n(20_000),
      bodyBytes: 2048,
      relay: true,
      recipients: () => ['rcpt@relay.bench.test'],
      fsync: 'everysec',
      perMessage: 1,
    },
    {
      name: `${n(20_000)} × 2 KB, relayhost, appendfsync always`,
      count: n(20_000),
      bodyBytes: 2048,
      relay: true,
      recipients: () => ['rcpt@relay.bench.test'],
      fsync: 'always',
      perMessage: 1,
    },
    {
      name: `${n(20_000)} × 2 KB, 10 domains by MX`,
      count: n(20_000),
      bodyBytes: 2048,
      relay: false,
      recipients: (i) => [`rcpt@${DOMAINS[i % 10]}`],
      fsync: 'everysec',
      perMessage: 1,
    },
    {
      name: `${n(5_000)} × 100 KB, relayhost`,
      count: n(5_000),
      bodyBytes: 102_400,
      relay: true,
      recipients: () => ['rcpt@relay.bench.test'],
      fsync: 'everysec',
      perMessage: 1,
    },
    {
      name: `${n(2_000)} × 2 KB × 10 recipients at 10 domains`,
      count: n(2_000),
      bodyBytes: 2048,
      relay: false,
      recipients: () => DOMAINS.map((d, j) => `r${j}@${d}`),
      fsync: 'everysec',
      perMessage: 10,
    },
    {
      // Issue 10's end-to-end variant: 2,000 messages at scale 0.5 and above (fewer with --quick).
      name: `${fixed} × 2 KB, relayhost, end-to-end`,
      count: fixed,
      bodyBytes: 2048,
      relay: true,
      recipients: () => ['rcpt@relay.bench.test'],
      fsync: 'everysec',
      perMessage: 1,
      endToEnd: true,
    },
    {
      // Issue 8: 2,000 messages at scale 0.5 and above (fewer with --quick).
      name: `${fixed} × 2 KB one destination over 20 ms RTT proxy + STARTTLS`,
      count: fixed,
      bodyBytes: 2048,
      relay: true,
      recipients: () => ['rcpt@relay.bench.test'],
      fsync: 'everysec',
      perMessage: 1,
      path: 'rtt20-starttls',
    },
  ];
}

const cache = new Map<number, Buffer>();

/** A message of about `payloadBytes` body bytes (the same bytes for both systems). */
export function messageOf(payloadBytes: number): Buffer {
  const hit = cache.get(payloadBytes);
  if (hit !== undefined) return hit;
  const head =
    'From: <bench@source.bench.test>\r\nTo: <rcpt@relay.bench.test>\r\nSubject: bench\r\n' +
    'Message-ID: <b@source.bench.test>\r\n\r\n';
  const line = `${'La la la la '.repeat(6)}lalala\r\n`;
  const buf = Buffer.from(head + line.repeat(Math.max(1, Math.round(payloadBytes / line.length))));
  cache.set(payloadBytes, buf);
  return buf;
}

export function sendInput(w: Workload, i: number): SendInput {
  return { from: 'bench@source.bench.test', to: w.recipients(i), message: messageOf(w.bodyBytes) };
}
