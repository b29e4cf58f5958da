/**
 * Sentinel failover under load: workers and the queue client are given a redis-sentinel:// URL;
 * the primary is killed with SIGKILL while mail is sent and delivered; the sentinels promote the
 * replica and mxq follows it. send() uses sendReplicaAcks: 1 (Redis WAIT), so a send that resolved
 * is on the replica too: every recipient of an accepted message ends sent (0 lost); sends that
 * failed during the failover were refused to the caller.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { until } from '../support/wait.ts';
import type { SentMessage } from './checker.ts';
import { type ChaosEnv, chaosEnv, DOMAINS } from './env.ts';
import { redisControl } from './redis-control.ts';
import { type SentinelSet, startSentinelSet } from './sentinel.ts';

let set: SentinelSet;
let env: ChaosEnv;

beforeAll(async () => {
  set = await startSentinelSet();
  env = await chaosEnv({ name: 'sentinel', redisUrl: set.url, replicaAcks: 1 });
  await Promise.all([env.spawn(), env.spawn()]);
});
let stopOld: (() => Promise<void>) | undefined;
afterAll(async () => {
  await stopOld?.();
  await env?.close();
  await set?.stop();
});

it('Sentinel: the primary killed under load; mxq follows the promoted replica; 0 lost', async () => {
  const before = await set.currentPrimary();
  expect(before).toBe(`127.0.0.1:${set.primary.port}`);
  const sent: SentMessage[] = [];
  let refused = 0;
  let i = 0;
  const sendSome = async (n: number) => {
    for (let k = 0; k < n; k++, i++) {
      const to = [`s${i}@${DOMAINS[i % DOMAINS.length]}`];
      try {
        const { queueId } = await env.mq.send({
          from: 'app@src.test',
          to,
          message: `Subject: s ${i}\r\n\r\nx\r\n`,
        });
        sent.push({ queueId, recipients: to });
      } catch {
        refused++;
      }
    }
  };
  await sendSome(60);
  const old = redisControl(set.primary);
  stopOld = () => old.stop();
  await old.kill9();
  const after = await until(
    'failover',
    async () => {
      await sendSome(1);
      const now = await set.currentPrimary();
      return now !== '' && now !== before ? now : undefined;
    },
    60_000,
  );
  expect(after).toBe(`127.0.0.1:${set.replica.port}`);
  // the old primary comes back; the sentinels make it a replica of the new one, so WAIT 1 holds again
  await old.restart();
  const accepted = sent.length;
  await until(
    'sends accepted again',
    async () => {
      await sendSome(1);
      return sent.length > accepted ? true : undefined;
    },
    60_000,
  );
  await sendSome(40);
  const afterFailover = sent.length - accepted;
  const r = await env.settle(sent, 120_000);
  env.report('Sentinel failover (primary SIGKILL, WAIT 1)', r, { refused, afterFailover });
  expect(afterFailover).toBeGreaterThanOrEqual(40);
  expect(r.problems).toEqual([]);
  expect(r.lost).toBe(0);
  expect(r.sent).toBe(r.recipients);
  expect(env.live()).toHaveLength(2);
}, 240_000);
