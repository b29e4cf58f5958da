import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSmtpConnector } from '../../../src/smtp/connector.ts';
import { memoryLogger } from '../../support/fakes.ts';
import {
  closeRawServers,
  endpointOf,
  eventually,
  heloParams,
  rawServer,
  txRequest,
} from './engine-fixtures.ts';

afterEach(() => closeRawServers());

/** A lock-step server: `answer` maps each command line to the reply written back. */
async function scripted(answer: (line: string, sock: net.Socket) => string | undefined) {
  let inData = false;
  return rawServer((line, sock) => {
    if (inData) {
      if (line === '.') {
        inData = false;
        sock.write('250 2.0.0 queued\r\n');
      }
      return;
    }
    const r = answer(line, sock);
    if (r === undefined) return;
    if (/^3/.test(r) && /^DATA/i.test(line)) inData = true;
    sock.write(`${r}\r\n`);
  });
}

describe('engine replies (smtp_chat_resp and smtp_loop details)', () => {
  it('logs Postfix warning for an over-long reply line, with host[addr]:port', async () => {
    const srv = await scripted((line) => (/^EHLO/i.test(line) ? `250 ${'x'.repeat(3000)}` : undefined));
    const logger = memoryLogger();
    const connector = createSmtpConnector({ logger });
    const c = await connector.connect({
      endpoint: endpointOf(srv),
      protocol: 'smtp',
      connectTimeoutMs: 3000,
    });
    if (!c.ok) throw new Error(c.failure.text);
    const h = await c.connection.handshake(heloParams());
    expect(h.ok).toBe(true);
    const where = `mx.example.test[${srv.host}]:${srv.port}`;
    expect(logger.records.filter((r) => r.level === 'warn').map((r) => r.msg)).toContain(
      `${where}: response longer than 2048: 250 ${'x'.repeat(26)}...`,
    );
    if (h.ok) h.session.close();
  });

  it('takes any 3xx reply to DATA as "go ahead" (smtp_loop: code / 100 == 3)', async () => {
    const srv = await scripted((line) => {
      if (/^EHLO/i.test(line)) return '250 raw.example.test';
      if (/^(MAIL|RCPT)/i.test(line)) return '250 2.1.0 ok';
      if (/^DATA/i.test(line)) return '350 send it';
      return '250 ok';
    });
    const connector = createSmtpConnector();
    const c = await connector.connect({
      endpoint: endpointOf(srv),
      protocol: 'smtp',
      connectTimeoutMs: 3000,
    });
    if (!c.ok) throw new Error(c.failure.text);
    const h = await c.connection.handshake(heloParams());
    if (!h.ok) throw new Error(h.failure.text);
    const res = await h.session.transaction(txRequest());
    expect(res.recipients[0]?.ok).toBe(true);
    h.session.close();
  });

  it('drops a connection whose server floods complete replies nobody reads (memory stays bounded)', async () => {
    let server: net.Socket | undefined;
    let closed = false;
    const srv = await scripted((line, sock) => {
      if (!/^EHLO/i.test(line)) return undefined;
      server = sock;
      sock.on('close', () => {
        closed = true;
      });
      return '250 raw.example.test';
    });
    const connector = createSmtpConnector();
    const c = await connector.connect({
      endpoint: endpointOf(srv),
      protocol: 'smtp',
      connectTimeoutMs: 3000,
    });
    if (!c.ok) throw new Error(c.failure.text);
    const h = await c.connection.handshake(heloParams());
    if (!h.ok) throw new Error(h.failure.text);
    // Up to 8 MiB of short, complete replies while the session sits idle.
    const flood = Buffer.from('250 ok\r\n'.repeat(1 << 16));
    for (let i = 0; i < 16 && !closed; i++) {
      if (!server?.write(flood))
        await new Promise((r) => {
          server?.once('drain', r);
          server?.once('close', r);
        });
    }
    expect(await eventually(() => closed, 5000)).toBe(true);
    expect(h.session.isUsable()).toBe(false);
    h.session.close();
  });
});
