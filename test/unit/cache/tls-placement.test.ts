/**
 * Where a pool child runs a TLS session (cache/tls-placement.ts): through the TLS owner until the
 * process holds HELD_BEFORE_HERE sessions of the server, here after that; a session stops
 * counting when its socket closes or is handed over; other host names, ports or TLS levels are
 * other servers. Real (unconnected) net.Socket objects, for their close events.
 */
import { Socket } from 'node:net';
import { expect, it } from 'vitest';
import { createTlsPlacement, HELD_BEFORE_HERE, type TlsServerKey } from '../../../src/cache/tls-placement.ts';

const MX: TlsServerKey = { host: 'mx.one.test', port: 25, level: 'may' };

const closed = (s: Socket): Promise<void> =>
  new Promise((resolve) => {
    s.once('close', () => resolve());
    s.destroy();
  });

it('the first sessions of a server go to the owner, further ones while those are held run here', () => {
  const p = createTlsPlacement();
  expect(HELD_BEFORE_HERE).toBe(2);
  expect(p.place(MX, new Socket())).toBe('owner');
  expect(p.place(MX, new Socket())).toBe('owner');
  expect(p.place({ ...MX, host: 'MX.ONE.TEST' }, new Socket())).toBe('here');
  expect(p.place(MX, new Socket())).toBe('here');
  expect(p.held()).toBe(4);
});

it('the outcome socket replaces the raw one; a handed-over or closed session no longer counts', async () => {
  const p = createTlsPlacement({ heldBeforeHere: 1 });
  const raw = new Socket();
  const link = new Socket();
  expect(p.place(MX, raw)).toBe('owner');
  p.release(raw);
  p.hold(MX, link);
  expect(p.held()).toBe(1);
  expect(p.place(MX, new Socket())).toBe('here');
  const q = createTlsPlacement({ heldBeforeHere: 1 });
  const handed = new Socket();
  q.hold(MX, handed);
  q.release(handed); // handed to the host tier
  expect(q.place(MX, new Socket())).toBe('owner');

  const r = createTlsPlacement({ heldBeforeHere: 1 });
  const s = new Socket();
  r.hold(MX, s); // e.g. adopted from the host tier
  await closed(s);
  expect(r.held()).toBe(0);
  expect(r.place(MX, new Socket())).toBe('owner');
});

it('another host name, port or TLS level is another server', () => {
  const p = createTlsPlacement({ heldBeforeHere: 1 });
  expect(p.place(MX, new Socket())).toBe('owner');
  expect(p.place({ ...MX, host: 'mx.two.test' }, new Socket())).toBe('owner');
  expect(p.place({ ...MX, port: 465 }, new Socket())).toBe('owner');
  expect(p.place({ ...MX, level: 'verify' }, new Socket())).toBe('owner');
  expect(p.place(MX, new Socket())).toBe('here');
});
