/**
 * Where a pool child runs a TLS session (cache/tls-placement.ts): the first of a server through
 * the TLS owner, a further one while the process holds one of that server here; a session stops
 * counting when its socket closes or is handed over; other host names, ports or TLS levels are
 * other servers. Real (unconnected) net.Socket objects, for their close events.
 */
import { Socket } from 'node:net';
import { expect, it } from 'vitest';
import { createTlsPlacement, type TlsServerKey } from '../../../src/cache/tls-placement.ts';

const MX: TlsServerKey = { host: 'mx.one.test', port: 25, level: 'may' };

const closed = (s: Socket): Promise<void> =>
  new Promise((resolve) => {
    s.once('close', () => resolve());
    s.destroy();
  });

it('the first session of a server goes to the owner, a further one while it is held runs here', () => {
  const p = createTlsPlacement();
  const a = new Socket();
  const b = new Socket();
  expect(p.place(MX, a)).toBe('owner');
  expect(p.place({ ...MX, host: 'MX.ONE.TEST' }, b)).toBe('here');
  expect(p.held()).toBe(2);
});

it('the outcome socket replaces the raw one; a handed-over or closed session no longer counts', async () => {
  const p = createTlsPlacement();
  const raw = new Socket();
  const link = new Socket();
  expect(p.place(MX, raw)).toBe('owner');
  p.release(raw);
  p.hold(MX, link);
  expect(p.held()).toBe(1);
  p.release(link); // handed to the host tier
  expect(p.place(MX, new Socket())).toBe('owner');

  const q = createTlsPlacement();
  const s = new Socket();
  q.hold(MX, s); // e.g. adopted from the host tier
  expect(q.place(MX, new Socket())).toBe('here');
  await closed(s);
  expect(q.held()).toBe(1);
});

it('another host name, port or TLS level is another server', () => {
  const p = createTlsPlacement();
  expect(p.place(MX, new Socket())).toBe('owner');
  expect(p.place({ ...MX, host: 'mx.two.test' }, new Socket())).toBe('owner');
  expect(p.place({ ...MX, port: 465 }, new Socket())).toBe('owner');
  expect(p.place({ ...MX, level: 'verify' }, new Socket())).toBe('owner');
  expect(p.place(MX, new Socket())).toBe('here');
});
