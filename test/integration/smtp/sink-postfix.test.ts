/**
 * The engine against an independent implementation, Postfix's smtp-sink, in SMTP and LMTP modes,
 * over TCP and a unix socket: several transactions on one session with RSET between, MAIL/RCPT/DATA
 * pipelined when offered (lock-step against `smtp-sink -p`), and one kept reply per recipient.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HandshakeParams, SmtpSession, StageTimeoutsMs } from '../../../src/core/ports.ts';
import type { Endpoint, Protocol } from '../../../src/core/types.ts';
import { createSmtpConnector } from '../../../src/smtp/connector.ts';
import { allocateLoopbackBlock } from '../../support/loopback.ts';
import { startSmtpSink } from '../../support/postfix.ts';
import { uniformTimeouts } from './engine-fixtures.ts';

const T = 5000;
const TIMEOUTS: StageTimeoutsMs = uniformTimeouts(T);

type Sink = Awaited<ReturnType<typeof startSmtpSink>>;
type Transcript = Array<{ dir: 'C' | 'S' | 'I'; line: string }>;

const block = allocateLoopbackBlock();
const sinks: Sink[] = [];
let sockDir = '';

beforeAll(async () => {
  sockDir = await mkdtemp(join(tmpdir(), 'mxq-sink-pf-'));
});
afterAll(async () => {
  for (const s of sinks.splice(0)) await s.stop();
  await rm(sockDir, { recursive: true, force: true });
  block.release();
});

async function sink(opts: Parameters<typeof startSmtpSink>[0]): Promise<Sink> {
  const s = await startSmtpSink(opts);
  sinks.push(s);
  return s;
}

function params(protocol: Protocol): HandshakeParams {
  return {
    protocol,
    heloName: 'client.example.net',
    myHostname: 'client.example.net',
    loopDetect: false,
    bestMx: true,
    requestNexthop: 'example.test',
    tls: { level: 'none' },
    requireTls: 'disable',
    smtputf8Required: false,
    skip5xxGreeting: true,
    alwaysSendEhlo: true,
    neverSendEhlo: false,
    timeouts: TIMEOUTS,
  };
}

async function open(
  ep: Endpoint,
  protocol: Protocol,
): Promise<{ session: SmtpSession; transcript: Transcript }> {
  const transcript: Transcript = [];
  const connector = createSmtpConnector({ transcript: (dir, line) => transcript.push({ dir, line }) });
  const conn = await connector.connect({ endpoint: ep, protocol, connectTimeoutMs: T });
  if (!conn.ok) throw new Error(`connect: ${conn.failure.text}`);
  const hs = await conn.connection.handshake(params(protocol));
  if (!hs.ok) throw new Error(`handshake: ${hs.failure.text}`);
  return { session: hs.session, transcript };
}

function send(session: SmtpSession, n: number, rcpts: string[]) {
  const body = `Subject: message ${n}\r\n\r\nline one\n.leading dot\nlast line`;
  return session.transaction({
    sender: `sender${n}@example.net`,
    recipients: rcpts.map((address) => ({ address })),
    message: Buffer.from(body),
    size: Buffer.byteLength(body.replace(/\n/g, '\r\n')),
    timeouts: TIMEOUTS,
  });
}

/** True when, after MAIL FROM, the client wrote RCPT and DATA before reading any reply. */
function pipelined(t: Transcript): boolean {
  const i = t.findIndex((e) => e.dir === 'C' && /^MAIL FROM:/i.test(e.line));
  const next = t.slice(i + 1).filter((e) => e.dir !== 'I');
  return i >= 0 && next[0]?.dir === 'C' && /^RCPT TO:/i.test(next[0].line);
}

function inetEndpoint(s: Sink): Endpoint {
  return { kind: 'inet', host: 'sink.example.test', address: s.host, port: s.port, family: 4, preference: 0 };
}
function unixEndpoint(s: Sink): Endpoint {
  return { kind: 'unix', host: 'localhost', address: s.unixPath ?? '', port: 0, preference: 0 };
}

const CASES: Array<{ name: string; protocol: Protocol; unix: boolean }> = [
  { name: 'SMTP over TCP', protocol: 'smtp', unix: false },
  { name: 'LMTP over TCP', protocol: 'lmtp', unix: false },
  { name: 'SMTP over a unix socket', protocol: 'smtp', unix: true },
  { name: 'LMTP over a unix socket', protocol: 'lmtp', unix: true },
];

describe('engine against Postfix smtp-sink', () => {
  for (const c of CASES) {
    it(`${c.name}: three pipelined transactions on one session, RSET between, a reply per recipient`, async () => {
      const s = c.unix
        ? await sink({ lmtp: c.protocol === 'lmtp', unixPath: join(sockDir, `${c.protocol}.sock`) })
        : await sink({ host: block.addr(1), lmtp: c.protocol === 'lmtp' });
      const ep = c.unix ? unixEndpoint(s) : inetEndpoint(s);
      const { session, transcript } = await open(ep, c.protocol);
      expect(session.state.esmtp).toBe(true);
      expect(session.state.capabilities.PIPELINING).toBeDefined();
      for (let n = 0; n < 3; n++) {
        const rcpts = Array.from({ length: n + 1 }, (_, i) => `rcpt${i}@example.test`);
        const r = await send(session, n, rcpts);
        expect(r.completeSession).toBe(true);
        expect(r.reusable).toBe(true);
        expect(r.recipients).toHaveLength(rcpts.length);
        for (const rr of r.recipients) {
          expect(rr.ok).toBe(true);
          if (rr.ok) expect(rr.reply.text).toMatch(/^250 2\.\d\.\d /);
        }
        expect(await session.reset(T)).toBe(true);
      }
      expect(session.state.reuseCount).toBeGreaterThanOrEqual(3);
      expect(session.isUsable()).toBe(true);
      await session.quit(T);
      expect(pipelined(transcript)).toBe(true);
      const sent = transcript.filter((e) => e.dir === 'C').map((e) => e.line.split(/[ :]/)[0]?.toUpperCase());
      expect(sent.filter((v) => v === 'MAIL')).toHaveLength(3);
      expect(sent.filter((v) => v === 'RSET')).toHaveLength(3);
      if (c.protocol === 'lmtp') {
        // LMTP: one reply per accepted recipient after the final dot (1 + 2 + 3).
        expect(transcript.filter((e) => e.dir === 'S' && /^250 2\.2\.0/.test(e.line)).length).toBe(6);
      }
    });
  }

  it('lock-step against a sink without PIPELINING (-p)', async () => {
    const s = await sink({ host: block.addr(2), args: ['-p'] });
    const { session, transcript } = await open(inetEndpoint(s), 'smtp');
    expect(session.state.capabilities.PIPELINING).toBeUndefined();
    const r = await send(session, 0, ['a@example.test', 'b@example.test']);
    expect(r.recipients.map((x) => x.ok)).toEqual([true, true]);
    await session.quit(T);
    expect(pipelined(transcript)).toBe(false);
  });

  it('keeps each recipient rejection (smtp-sink -f RCPT with a hard-bounce reply)', async () => {
    const s = await sink({ host: block.addr(3), args: ['-f', 'RCPT', '-B', '550 5.1.1 no such user'] });
    const { session } = await open(inetEndpoint(s), 'smtp');
    const r = await send(session, 0, ['x@example.test', 'y@example.test']);
    expect(r.recipients).toHaveLength(2);
    for (const rr of r.recipients) {
      expect(rr.ok).toBe(false);
      if (!rr.ok) {
        expect(rr.failure.handler).toBe('rcpt');
        expect(rr.failure.status).toBe('5.1.1');
        expect(rr.failure.text).toContain('550 5.1.1 no such user (in reply to RCPT TO command)');
      }
    }
    await session.quit(T);
  });
});
