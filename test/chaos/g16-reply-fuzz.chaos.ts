/**
 * G16: end-to-end reply fuzz: a raw server answers every command of 100 sessions with a fuzzed
 * reply (valid codes, bad codes, garbage, control bytes, multi-line, over-long, missing CRLF) drawn
 * from a seeded fast-check generator, or closes. Every recipient of every attempt gets exactly one
 * outcome (sent, deferred or bounced), no attempt throws, and nothing is left unhandled (vitest
 * fails the run on an unhandled rejection).
 */
import { createServer, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Scene } from '../integration/attempt/harness.ts';
import { request, scene } from '../integration/attempt/harness.ts';

const reply = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('250 ok', '250 2.0.0 ok', '354 go', '220 hi', '221 bye') },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom('2', '3', '4', '5', '1', '6', '9'),
        fc.integer({ min: 0, max: 99 }),
        fc.constantFrom(' ', '-', ''),
        fc.string({ maxLength: 40 }),
      )
      .map(([a, n, sep, text]) => `${a}${String(n).padStart(2, '0')}${sep}${text}`),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 60 }).map((u) => Buffer.from(u).toString('latin1')) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'x'.repeat(5000),
      `250-${'k'.repeat(100)}\r\n`.repeat(50).slice(0, -2),
      'CLOSE',
    ),
  },
);

let s: Scene;
let srv: Server;
const sockets = new Set<Socket>();

beforeAll(async () => {
  s = await scene((addr) => ({ 'fuzz.test': { A: [addr(1)] } }));
  const replies = fc.sample(reply, { numRuns: 20_000, seed: 16 });
  let k = 0;
  const next = () => replies[k++ % replies.length] ?? '250 ok';
  srv = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    const answer = () => {
      const r = next();
      if (r === 'CLOSE') sock.destroy();
      else if (!sock.destroyed) sock.write(`${r}\r\n`);
    };
    answer(); // greeting
    let buf = '';
    let data = false;
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let nl = buf.indexOf('\r\n'); nl >= 0 && !sock.destroyed; nl = buf.indexOf('\r\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (data && line !== '.') continue;
        if (line.toUpperCase() === 'DATA') data = true;
        if (line === '.') data = false;
        answer();
      }
    });
  });
  await new Promise<void>((done) => srv.listen(25, s.addr(1), () => done()));
});
afterAll(async () => {
  for (const c of sockets) c.destroy();
  await new Promise((r) => srv.close(() => r(undefined)));
  await s?.close();
});

it('G16: 100 sessions of fuzzed replies: every recipient exactly one outcome, nothing thrown', async () => {
  const { agent } = s.agent({
    smtpHeloTimeout: '1s',
    smtpMailTimeout: '1s',
    smtpRcptTimeout: '1s',
    smtpDataInitTimeout: '1s',
    smtpDataDoneTimeout: '1s',
    smtpRsetTimeout: '1s',
    smtpQuitTimeout: '1s',
  });
  const tally = { sent: 0, deferred: 0, bounced: 0 };
  for (let i = 0; i < 100; i++) {
    const r = await agent.deliver(
      request({
        recipients: [{ address: `a${i}@fuzz.test` }, { address: `b${i}@fuzz.test` }],
        nexthop: 'fuzz.test',
      }),
    );
    expect(r.recipients.map((x) => x.recipient.address)).toEqual([`a${i}@fuzz.test`, `b${i}@fuzz.test`]);
    for (const x of r.recipients) tally[x.status]++;
  }
  process.stdout.write(`chaos: G16 reply fuzz: sessions=100 ${JSON.stringify(tally)}\n`);
  expect(tally.sent + tally.deferred + tally.bounced).toBe(200);
}, 240_000);
