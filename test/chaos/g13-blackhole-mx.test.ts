/**
 * G13 with a true blackhole: the primary MX's address drops SYNs (a veth link into a network
 * namespace this test creates, see test/support/netns-blackhole.ts), so connect() to it waits
 * for smtpConnectTimeout (2 s here); the secondary MX is healthy on loopback. The message is
 * delivered through the secondary in the same attempt, the primary's trace says connect-failed,
 * and the SYNs went into the namespace (its packet counter moved), not into a local error.
 * The blackhole address (198.18.0.0/15, special-use) is reached only because it is on
 * smtpAddressAllowlist (G25); without it the primary is refused before connecting.
 *
 * Then both MX blackholed with smtpFallbackRelay on loopback: delivered via the relay after two
 * connect timeouts, in one SMTP session (connect failures are not sessions, as in Postfix).
 *
 * Needs root (CAP_NET_ADMIN) for `ip netns`; without it the test fails, it does not skip.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Scene } from '../integration/attempt/harness.ts';
import { order, rcpt, request, scene } from '../integration/attempt/harness.ts';
import { TEST_ADDRESS_ALLOWLIST } from '../support/allow-loopback.ts';
import { type Blackhole, createBlackhole } from '../support/netns-blackhole.ts';

let s: Scene;
let bh: Blackhole;

beforeAll(async () => {
  bh = await createBlackhole();
  const addr = bh.addr;
  s = await scene((a) => ({
    'bh.test': {
      MX: [
        [10, 'mx1.bh.test'],
        [20, 'mx2.bh.test'],
      ],
    },
    'mx1.bh.test': { A: [addr] },
    'mx2.bh.test': { A: [a(3)] },
    'dead.test': {
      MX: [
        [10, 'mx1.dead.test'],
        [20, 'mx2.dead.test'],
      ],
    },
    'mx1.dead.test': { A: [addr] },
    'mx2.dead.test': { A: [bh.addrs[1] ?? ''] },
    'relay.test': { A: [a(4)] },
  }));
  await s.peer(3);
  await s.peer(4);
});
afterAll(async () => {
  await s?.close();
  await bh?.close();
});

const to = (domain = 'bh.test') => request({ recipients: [{ address: `a@${domain}` }], nexthop: domain });

it('G13: a blackholed primary MX (SYNs dropped): delivered via the secondary after the connect timeout', async () => {
  const { agent } = s.agent({
    smtpConnectTimeout: '2s',
    smtpAddressAllowlist: [...TEST_ADDRESS_ALLOWLIST, `${bh.addr}/32`],
  });
  const before = await bh.receivedPackets();
  const t0 = Date.now();
  const r = await agent.deliver(to());
  const ms = Date.now() - t0;
  const syns = (await bh.receivedPackets()) - before;
  process.stdout.write(
    `chaos: G13 blackhole ${bh.addr}: delivered via the secondary after ${ms} ms (connect timeout 2000 ms), ${syns} packets dropped in the namespace\n`,
  );
  expect(rcpt(r, 0)).toMatchObject({ status: 'sent', relay: `mx2.bh.test[${s.addr(3)}]:25` });
  expect(order(r)).toEqual([`mx1.bh.test[${bh.addr}]`, `mx2.bh.test[${s.addr(3)}]`]);
  expect(r.servers.map((x) => x.outcome)).toEqual(['connect-failed', 'delivered']);
  expect(syns).toBeGreaterThanOrEqual(1);
  expect(s.peers[0]?.messages.length).toBe(1);
}, 30_000);

it('G13/G25: without the allowlist entry the blackhole address is refused before connecting', async () => {
  const { agent } = s.agent({ smtpConnectTimeout: '2s' });
  const before = await bh.receivedPackets();
  const r = await agent.deliver(to());
  expect(rcpt(r, 0)).toMatchObject({ status: 'sent', relay: `mx2.bh.test[${s.addr(3)}]:25` });
  expect(order(r)).toEqual([`mx2.bh.test[${s.addr(3)}]`]);
  expect((await bh.receivedPackets()) - before).toBe(0);
}, 30_000);

it('G13: both MX blackholed, a fallback relay: delivered via the relay, one SMTP session', async () => {
  const dead = [bh.addrs[0] ?? '', bh.addrs[1] ?? ''];
  const { agent } = s.agent({
    smtpConnectTimeout: '2s',
    smtpFallbackRelay: ['[relay.test]'],
    smtpAddressAllowlist: [...TEST_ADDRESS_ALLOWLIST, ...dead.map((a) => `${a}/32`)],
  });
  const before = await bh.receivedPackets();
  const t0 = Date.now();
  const r = await agent.deliver(to('dead.test'));
  const ms = Date.now() - t0;
  const syns = (await bh.receivedPackets()) - before;
  process.stdout.write(
    `chaos: G13 both MX blackholed (${dead.join(', ')}): delivered via the fallback relay after ${ms} ms (2 × connect timeout 2000 ms), ${syns} packets dropped in the namespace\n`,
  );
  expect(rcpt(r, 0)).toMatchObject({ status: 'sent', relay: `relay.test[${s.addr(4)}]:25` });
  expect(order(r)).toEqual([
    `mx1.dead.test[${dead[0]}]`,
    `mx2.dead.test[${dead[1]}]`,
    `relay.test[${s.addr(4)}]`,
  ]);
  expect(r.servers.map((x) => x.outcome)).toEqual(['connect-failed', 'connect-failed', 'delivered']);
  expect(syns).toBeGreaterThanOrEqual(2);
  expect(s.peers[1]?.messages.length).toBe(1);
}, 30_000);
