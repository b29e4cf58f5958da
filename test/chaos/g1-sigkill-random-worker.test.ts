/**
 * G1: SIGKILL a random `mxq worker` process every 1–2 s (seeded) while mail is being sent and
 * delivered; each killed worker is replaced 0.5 s later. Checked by the reconciler: every
 * recipient sent (0 lost, 0 deferred at the end), duplicates bounded by kills × concurrency.
 * Scaled for CI (MXQ_CHAOS_SCALE multiplies the message count).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stopWorker } from '../e2e/helpers.ts';
import { type ChaosEnv, chaosEnv, rng } from './env.ts';

const SCALE = Number(process.env.MXQ_CHAOS_SCALE ?? '1') || 1;
const MESSAGES = Math.round(150 * SCALE);
const CONCURRENCY = 4;
let env: ChaosEnv;

beforeAll(async () => {
  env = await chaosEnv({ name: 'g1', concurrency: CONCURRENCY });
  await Promise.all([env.spawn(), env.spawn(), env.spawn()]);
});
afterAll(async () => {
  await env?.close();
});

it('G1: random SIGKILLs under load lose no recipient', async () => {
  const random = rng(Number(process.env.MXQ_CHAOS_SEED ?? '101'));
  let kills = 0;
  let loading = true;
  const load = env.load(MESSAGES, undefined, 7).finally(() => {
    loading = false;
  });
  // chaos while the load is being sent and for a few seconds after (bounded: ≤ 40 kills)
  const chaosUntil = () => loading || kills < 4;
  while (chaosUntil() && kills < 40) {
    await new Promise((r) => setTimeout(r, 1000 + random() * 1000));
    const live = env.live();
    const victim = live[Math.floor(random() * live.length)];
    if (victim === undefined) continue;
    victim.proc.kill('SIGKILL');
    await victim.exited;
    kills++;
    await new Promise((r) => setTimeout(r, 500));
    await env.spawn();
  }
  const sent = await load;
  const r = await env.settle(sent, 90_000);
  env.report('G1 sigkill random worker', r, { kills });
  expect(r.problems).toEqual([]);
  expect(r.lost).toBe(0);
  expect(r.deferred).toBe(0);
  expect(r.sent).toBe(r.recipients);
  expect(kills).toBeGreaterThanOrEqual(4);
  expect(r.duplicates).toBeLessThanOrEqual(kills * CONCURRENCY * 3);
  for (const w of env.live()) await stopWorker(w);
}, 180_000);
