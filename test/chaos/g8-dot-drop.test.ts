/**
 * G8: the fault peer receives the whole message, then drops the connection after the final dot
 * without replying (RFC 1047), for about 10 % of the messages (some twice). mxq must defer and
 * resend, never bounce: for every recipient copies == 1 + drops (duplicates == drops), every drop
 * logged with Postfix's "message may be sent more than once", 0 lost.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ChaosEnv, chaosEnv } from './env.ts';

const MESSAGES = 100;
let env: ChaosEnv;

beforeAll(async () => {
  env = await chaosEnv({ name: 'g8' });
  await Promise.all([env.spawn(), env.spawn()]);
});
afterAll(async () => {
  await env?.close();
});

it('G8: replies dropped after the dot: duplicates equal drops, nothing lost or bounced', async () => {
  // message i: every 10th drops once, every 30th (of those) twice
  const local = (i: number, j: number) =>
    j === 0 && i % 10 === 3 ? `dropdot${i % 30 === 3 ? 2 : 1}-m${i}` : `u${i}x${j}`;
  const sent = await env.load(MESSAGES, local, 8);
  const r = await env.settle(sent, 90_000);
  env.report('G8 dot drop', r);
  expect(r.problems).toEqual([]);
  expect(r.lost).toBe(0);
  expect(r.bounced).toBe(0);
  expect(r.sent).toBe(r.recipients);
  let drops = 0;
  for (const m of sent) {
    for (const rcpt of m.recipients) {
      const d = env.peer.drops.get(rcpt) ?? 0;
      drops += d;
      expect({ rcpt, copies: env.peer.copies.get(rcpt) }).toEqual({ rcpt, copies: 1 + d });
    }
  }
  expect(drops).toBeGreaterThanOrEqual(10);
  expect(r.duplicates).toBe(r.drops);
  const logged = env.workers
    .map((w) => w.output().split('message may be sent more than once').length - 1)
    .reduce((a, b) => a + b, 0);
  expect(logged).toBe(drops);
}, 150_000);
