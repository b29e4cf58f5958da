/**
 * G4: redis-server (AOF everysec) is killed with SIGKILL and restarted on the same port and data
 * directory, 2 times, while mail is sent and delivered by 3 worker processes. Every send that
 * resolved was accepted: each of its recipients must end sent (0 lost); sends that failed while
 * Redis was down were refused to the caller (counted, not lost). All workers must complete jobs
 * after the last restart.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SentMessage } from './checker.ts';
import { type ChaosEnv, chaosEnv, DOMAINS } from './env.ts';
import { type RedisControl, redisControl } from './redis-control.ts';

let env: ChaosEnv;
let ctl: RedisControl;

beforeAll(async () => {
  env = await chaosEnv({ name: 'g4', redisArgs: ['--appendfsync', 'everysec'] });
  ctl = redisControl(env.ownRedis(), ['--appendfsync', 'everysec']);
  await Promise.all([env.spawn(), env.spawn(), env.spawn()]);
});
afterAll(async () => {
  await ctl?.stop();
  await env?.close();
});

it('G4: Redis kill -9 and restart under load loses no accepted recipient', async () => {
  const sent: SentMessage[] = [];
  let refused = 0;
  let i = 0;
  const sendSome = async (n: number) => {
    for (let k = 0; k < n; k++, i++) {
      const to = [`u${i}x0@${DOMAINS[i % DOMAINS.length]}`, `u${i}x1@${DOMAINS[(i + 3) % DOMAINS.length]}`];
      try {
        const { queueId } = await env.mq.send({
          from: 'app@src.test',
          to,
          message: `Subject: g4 ${i}\r\n\r\nx\r\n`,
        });
        sent.push({ queueId, recipients: to });
      } catch {
        refused++;
      }
    }
  };
  const restarts = 2;
  for (let round = 0; round < restarts; round++) {
    await sendSome(60);
    await new Promise((r) => setTimeout(r, 300));
    await ctl.kill9();
    await sendSome(2); // refused while down
    await new Promise((r) => setTimeout(r, 500));
    await ctl.restart();
  }
  await sendSome(40);
  const r = await env.settle(sent, 120_000);
  env.report('G4 redis kill -9 + restart (AOF)', r, { restarts, refused });
  expect(r.problems).toEqual([]);
  expect(r.lost).toBe(0);
  expect(r.sent).toBe(r.recipients);
  expect(refused).toBeGreaterThanOrEqual(restarts);
  // every worker is still alive and took part after the restarts
  expect(env.live()).toHaveLength(3);
}, 200_000);
