/**
 * Server faults against a real delivery agent and the fault peer:
 * G9: LMTP partial replies (250, 452, 550, then the connection drops before replies 4 and 5):
 *     rcpt1 sent, rcpt2 deferred, rcpt3 bounced, rcpts 4–5 deferred; 20 runs, all exact.
 * G10: 421 at every stage (greeting, EHLO, MAIL, RCPT, DATA, after the dot), 10 runs each:
 *     every recipient deferred (4.x.x) with the remote text, never bounced; the next attempt opens
 *     a new connection (a 421 session is never cached).
 * G12: TCP resets at 120 seeded random byte offsets of the session: every recipient sent or
 *     deferred, never bounced, no unhandled rejection (vitest fails the run on one).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Scene } from '../integration/attempt/harness.ts';
import { request, scene } from '../integration/attempt/harness.ts';
import { rng } from './env.ts';
import { type FaultMode, type FaultPeer, startFaultPeer } from './fault-peer.ts';

let s: Scene;
let smtp: FaultPeer;
let lmtp: FaultPeer;

beforeAll(async () => {
  s = await scene((addr) => ({ 'faults.test': { A: [addr(1)] } }));
  smtp = await startFaultPeer({ host: s.addr(1), port: 25 });
  lmtp = await startFaultPeer({ host: s.addr(2), lmtp: true });
});
afterAll(async () => {
  await smtp?.stop();
  await lmtp?.stop();
  await s?.close();
});

const smtpReq = (run: string) =>
  request({
    recipients: [{ address: `a${run}@faults.test` }, { address: `b${run}@faults.test` }],
    nexthop: 'faults.test',
  });

describe('G9: LMTP partial replies', () => {
  it('250, 452, 550, then a drop: sent, deferred, bounced, deferred, deferred (20/20 runs)', async () => {
    const { agent } = s.agent({ smtpConnectionCacheOnDemand: false });
    const want = ['sent', 'deferred', 'bounced', 'deferred', 'deferred'];
    let exact = 0;
    for (let run = 0; run < 20; run++) {
      const names = [`ok-${run}`, `lmtpdefer-${run}`, `lmtpreject-${run}`, `lmtpcut-${run}`, `after-${run}`];
      const r = await agent.deliver(
        request({
          protocol: 'lmtp',
          nexthop: `inet:[${lmtp.host}]:${lmtp.port}`,
          recipients: names.map((n) => ({ address: `${n}@lmtp.test` })),
        }),
      );
      const got = r.recipients.map((x) => x.status);
      expect(got).toEqual(want);
      expect(r.recipients[2]?.dsn).toMatch(/^5\./);
      exact++;
    }
    process.stdout.write(`chaos: G9 LMTP partial replies: runs=20 exact=${exact}\n`);
  }, 120_000);
});

describe('G10: 421 at every stage', () => {
  const stages = ['greeting', 'ehlo', 'mail', 'rcpt', 'data', 'dot'] as const;
  it.each(stages)(
    '421 at %s: deferred with the remote text, never bounced, never reused',
    async (stage) => {
      const { agent } = s.agent();
      smtp.setMode(`close421:${stage}` as FaultMode);
      try {
        for (let run = 0; run < 10; run++) {
          const before = smtp.connections;
          const r = await agent.deliver(smtpReq(`${stage}${run}`));
          expect(smtp.connections).toBe(before + 1);
          for (const x of r.recipients) {
            expect(x.status).toBe('deferred');
            expect(x.dsn).toMatch(/^4\./);
            expect(x.diagnostic.length).toBeLessThanOrEqual(300);
          }
          // the first recipient carries the server's text (at RCPT the second one then finds the
          // connection closed: "lost connection ... while sending RCPT TO")
          expect(r.recipients[0]?.diagnostic).toContain('421 4.3.2 fault.test closing: chaos');
        }
      } finally {
        smtp.setMode('normal');
      }
    },
    60_000,
  );
});

describe('G12: resets at random offsets', () => {
  it('120 sessions reset at seeded random offsets: sent or deferred, never bounced', async () => {
    const { agent } = s.agent();
    const random = rng(12);
    const tally = { sent: 0, deferred: 0, bounced: 0 };
    try {
      for (let run = 0; run < 120; run++) {
        smtp.setMode(`reset:${1 + Math.floor(random() * 260)}`);
        const r = await agent.deliver(smtpReq(`rst${run}`));
        for (const x of r.recipients) tally[x.status]++;
      }
    } finally {
      smtp.setMode('normal');
    }
    process.stdout.write(`chaos: G12 resets: sessions=120 ${JSON.stringify(tally)}\n`);
    expect(tally.bounced).toBe(0);
    expect(tally.sent + tally.deferred).toBe(240);
    expect(tally.deferred).toBeGreaterThan(0);
  }, 120_000);
});
