import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TlsSettings } from '../../../src/core/ports.ts';
import { startTls } from '../../../src/smtp/tls-upgrade.ts';
import { makeTestPki, type TestPki } from '../../support/certs.ts';

let pki: TestPki;
const servers: tls.Server[] = [];
beforeAll(async () => {
  pki = await makeTestPki('mx.example.test');
});
afterAll(async () => {
  for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
});

/** A TLS server on loopback that writes one line after each handshake (behind its tickets). */
async function tlsServer(cert: { key: string; cert: string }): Promise<number> {
  const server = tls.createServer({ key: cert.key, cert: cert.cert }, (s) => {
    s.on('error', () => undefined);
    s.write('hello\r\n');
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as net.AddressInfo).port;
}

/** Handshake, then wait for the server's line (tickets arrive before it); returns tickets and facts. */
async function handshake(port: number, settings: TlsSettings) {
  const tickets: Buffer[] = [];
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const out = await startTls(
    socket,
    { ...settings, onSessionTicket: (t) => tickets.push(t) },
    'mx.example.test',
    10_000,
  );
  if (!out.ok) throw new Error('handshake failed');
  await new Promise<void>((r) => out.socket.once('data', () => r()));
  // Give any ticket behind the line a turn of the event loop too.
  await new Promise((r) => setImmediate(r));
  out.socket.destroy();
  return { tickets, facts: out.facts };
}

describe('TLS session tickets in the engine', () => {
  it('emits tickets only from a session that passed its check, and a resumed one keeps that check', async () => {
    const bad = await tlsServer(pki.wrongName);
    const verify: TlsSettings = { level: 'verify', matchNames: ['mx.example.test'], ca: [pki.caCert] };
    const failed = await handshake(bad, verify);
    expect(failed.facts.matched).toBe(false);
    expect(failed.tickets).toEqual([]);
    // The same server at level encrypt (no check) does hand out tickets: the gate, not the server.
    expect((await handshake(bad, { level: 'encrypt' })).tickets.length).toBeGreaterThan(0);

    const good = await tlsServer(pki.valid);
    const first = await handshake(good, verify);
    expect(first.facts).toMatchObject({ matched: true, resumed: false });
    const ticket = first.tickets[0];
    if (ticket === undefined) throw new Error('no ticket');
    const again = await handshake(good, { ...verify, sessionTicket: ticket });
    expect(again.facts).toMatchObject({ matched: true, resumed: true });
  });
});
