/**
 * G2: the worker holding job X is SIGKILLed each time X is active, 5 times in a row (BullMQ's
 * default maxStalledCount of 1 would fail X silently; mxq allows 10 and puts failed jobs back).
 * X ends delivered, no job is left failed, copies ≤ 1 + kills.
 * G3: a worker holding jobs is frozen (SIGSTOP) for 2× its lock duration while another worker
 * takes the stalled jobs over, then resumed (SIGCONT): its late completions change nothing:
 * every recipient sent exactly as the reconciler expects, duplicates ≤ the jobs it held.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stopWorker, until } from '../e2e/helpers.ts';
import { type ChaosEnv, chaosEnv } from './env.ts';

let env: ChaosEnv;

beforeAll(async () => {
  env = await chaosEnv({ name: 'g2g3' });
});
afterAll(async () => {
  await env?.close();
});

const jobActive = async (jobId: string) => {
  const lock = await env.client.exists(`${env.prefix}:deliver:${jobId}:lock`);
  return lock === 1 ? true : undefined;
};

it('G2: the holder of one job killed 5 times: the job still ends delivered, none failed', async () => {
  const { queueId, jobIds } = await env.mq.send({
    from: 'app@src.test',
    to: ['slowdot-x@d1.test'],
    message: 'Subject: g2\r\n\r\nx\r\n',
  });
  const jobId = jobIds[0] ?? '';
  let kills = 0;
  for (let i = 0; i < 5; i++) {
    const w = await env.spawn();
    await until('job X active', () => jobActive(jobId), 30_000);
    // let the delivery reach the server (the slow dot) before killing its holder
    await until(
      'X reached the server',
      async () => ((env.peer.copies.get('slowdot-x@d1.test') ?? 0) > i ? true : undefined),
      30_000,
    ).catch(() => undefined);
    w.proc.kill('SIGKILL');
    await w.exited;
    kills++;
  }
  const last = await env.spawn();
  const r = await env.settle([{ queueId, recipients: ['slowdot-x@d1.test'] }], 60_000);
  env.report('G2 holder of one job killed repeatedly', r, { kills });
  expect(r.lost).toBe(0);
  expect(r.sent).toBe(1);
  expect(env.peer.copies.get('slowdot-x@d1.test')).toBeLessThanOrEqual(1 + kills);
  const failed = await env.client.zcard(`${env.prefix}:deliver:failed`);
  expect(failed).toBe(0);
  await stopWorker(last);
}, 240_000);

it('G3: a worker frozen past its lock duration, then resumed, causes no loss and no extra side effects', async () => {
  const a = await env.spawn();
  const sent = await env.load(12, (i, j) => (j === 0 ? `slowdot2-g3m${i}` : `g3m${i}x${j}`), 3);
  await until(
    'A has deliveries in flight',
    async () => (env.peer.connections > 0 ? true : undefined),
    30_000,
  );
  await new Promise((r) => setTimeout(r, 500));
  a.proc.kill('SIGSTOP');
  const b = await env.spawn();
  // lock duration is 2 s: stay frozen 4 s (2×) while B recovers the stalled jobs
  await new Promise((r) => setTimeout(r, 4000));
  a.proc.kill('SIGCONT');
  const r = await env.settle(sent, 90_000);
  env.report('G3 SIGSTOP past lock duration then SIGCONT', r, { frozenMs: 4000 });
  expect(r.problems).toEqual([]);
  expect(r.lost).toBe(0);
  expect(r.sent).toBe(r.recipients);
  // A held at most its concurrency (4) jobs of ≤ 3 recipients each
  expect(r.duplicates).toBeLessThanOrEqual(4 * 3);
  expect(await env.client.zcard(`${env.prefix}:deliver:failed`)).toBe(0);
  await stopWorker(a);
  await stopWorker(b);
}, 180_000);
