/**
 * G6: redis-server frozen with SIGSTOP under load: send() rejects within its bounded time
 * (sendTimeoutMs, 1 s here) instead of hanging; after SIGCONT every accepted recipient is
 * delivered (0 accepted-then-lost) and the workers carry on.
 * G7: SIGTERM each of 3 workers in turn while mail is delivered: each exits 0 after draining its
 * deliveries in flight, no job stalls because of it (no "job-stalled" in any log), 0 duplicates.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stopWorker } from '../e2e/helpers.ts';
import type { SentMessage } from './checker.ts';
import { type ChaosEnv, chaosEnv, DOMAINS } from './env.ts';
import { redisControl } from './redis-control.ts';

let env: ChaosEnv;

beforeAll(async () => {
  env = await chaosEnv({ name: 'g6g7' });
});
afterAll(async () => {
  await env?.close();
});

it('G6: Redis frozen: send() fails fast, nothing accepted is lost, workers resume', async () => {
  const ctl = redisControl(env.ownRedis());
  const a = await env.spawn();
  const b = await env.spawn();
  const sent = await env.load(30, (i, j) => `g6m${i}x${j}`, 6);
  ctl.freeze();
  let refused = 0;
  const frozenSent: SentMessage[] = [];
  const started = Date.now();
  for (let i = 0; i < 3; i++) {
    const to = [`g6f${i}@${DOMAINS[i]}`];
    try {
      const { queueId } = await env.mq.send({
        from: 'app@src.test',
        to,
        message: 'Subject: g6\r\n\r\nx\r\n',
      });
      frozenSent.push({ queueId, recipients: to });
    } catch (err) {
      expect((err as Error).name).toBe('MailQueueUnavailableError');
      refused++;
    }
  }
  const refusedInMs = Date.now() - started;
  await new Promise((r) => setTimeout(r, 3000));
  ctl.thaw();
  const after = await env.load(20, (i, j) => `g6a${i}x${j}`, 7);
  const r = await env.settle([...sent, ...frozenSent, ...after], 90_000);
  env.report('G6 redis frozen (SIGSTOP 3 s+)', r, { refused, refusedInMs });
  expect(refused).toBe(3);
  expect(r.problems).toEqual([]);
  expect(r.lost).toBe(0);
  expect(r.sent).toBe(r.recipients);
  await stopWorker(a);
  await stopWorker(b);
}, 150_000);

it('G7: SIGTERM each worker in turn: drained, exit 0, no stall, no duplicate', async () => {
  const from = env.workers.length;
  const ws = [await env.spawn(), await env.spawn(), await env.spawn()];
  const sent = await env.load(60, (i, j) => `g7m${i}x${j}`, 9);
  const codes: Array<number | null> = [];
  for (const w of ws) {
    await new Promise((r) => setTimeout(r, 700));
    w.proc.kill('SIGTERM');
    codes.push(await w.exited);
    await env.spawn(['--drain-timeout', '30']);
  }
  const r = await env.settle(sent, 90_000);
  env.report('G7 SIGTERM drains', r, { sigterms: ws.length });
  expect(codes).toEqual([0, 0, 0]);
  expect(r.problems).toEqual([]);
  expect(r.lost).toBe(0);
  expect(r.duplicates).toBe(0);
  for (const w of env.workers.slice(from)) expect(w.output()).not.toContain('"job-stalled"');
}, 150_000);
