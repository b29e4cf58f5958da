/**
 * G11: a silent server (accepts, never greets) and a tar-pit (greets one byte every 500 ms) are
 * abandoned at the greeting deadline (smtpHeloTimeout, 2 s here; the deadline is absolute, so
 * trickling bytes do not extend it) and the recipients deferred (4.4.2), never bounced.
 * G13: the primary MX silent, the secondary healthy: delivered through the secondary in the same
 * attempt, with no more than 2 sessions tried.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Scene } from '../integration/attempt/harness.ts';
import { order, rcpt, request, scene } from '../integration/attempt/harness.ts';
import { type FaultPeer, startFaultPeer } from './fault-peer.ts';

let s: Scene;
const peers: FaultPeer[] = [];

beforeAll(async () => {
  s = await scene((addr) => ({
    'silent.test': { A: [addr(1)] },
    'trickle.test': { A: [addr(2)] },
    'two.test': {
      MX: [
        [10, 'mx1.two.test'],
        [20, 'mx2.two.test'],
      ],
    },
    'mx1.two.test': { A: [addr(1)] },
    'mx2.two.test': { A: [addr(3)] },
  }));
  const silent = await startFaultPeer({ host: s.addr(1), port: 25 });
  silent.setMode('silent');
  const trickle = await startFaultPeer({ host: s.addr(2), port: 25, trickleMs: 500 });
  trickle.setMode('trickle');
  peers.push(silent, trickle, await startFaultPeer({ host: s.addr(3), port: 25 }));
});
afterAll(async () => {
  for (const p of peers) await p.stop();
  await s?.close();
});

const to = (domain: string) => request({ recipients: [{ address: `a@${domain}` }], nexthop: domain });

it.each(['silent.test', 'trickle.test'])(
  'G11: %s is abandoned at the greeting deadline and deferred',
  async (domain) => {
    const { agent } = s.agent({ smtpHeloTimeout: '2s' });
    const t0 = Date.now();
    const r = await agent.deliver(to(domain));
    process.stdout.write(`chaos: G11 ${domain}: ended after ${Date.now() - t0} ms (deadline 2000 ms)\n`);
    expect(rcpt(r, 0)).toMatchObject({ status: 'deferred', dsn: '4.4.2' });
    expect(rcpt(r, 0).diagnostic).toMatch(/timed out while receiving the initial server greeting/);
  },
  30_000,
);

it('G13: a silent primary MX, a healthy secondary: delivered via the secondary, ≤ 2 sessions', async () => {
  const { agent } = s.agent({ smtpHeloTimeout: '2s' });
  const r = await agent.deliver(to('two.test'));
  expect(rcpt(r, 0)).toMatchObject({ status: 'sent', relay: `mx2.two.test[${s.addr(3)}]:25` });
  expect(order(r)).toEqual([`mx1.two.test[${s.addr(1)}]`, `mx2.two.test[${s.addr(3)}]`]);
}, 30_000);
