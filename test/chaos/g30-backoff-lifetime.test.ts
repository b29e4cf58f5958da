/**
 * G30: an always-4xx recipient (RCPT 452 every time) with minimalBackoffTime 1 s,
 * maximalBackoffTime 2 s and maximalQueueLifetime 8 s: retried with gaps never shorter than the
 * minimal backoff less its 10 % jitter, then returned at expiry with exactly one DSN, which is an
 * RFC 3464 report (multipart/report; report-type=delivery-status, Action: failed, the 4.x.x
 * status, and the server's reply in Diagnostic-Code). Upper bounds on the gaps are not asserted
 * (timing under shared load); the measured gaps are printed.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ChaosEnv, chaosEnv } from './env.ts';

let env: ChaosEnv;

beforeAll(async () => {
  env = await chaosEnv({
    name: 'g30',
    options: { minimalBackoffTime: 1, maximalBackoffTime: 2, maximalQueueLifetime: 8 },
  });
  await env.spawn();
});
afterAll(async () => {
  await env?.close();
});

it('G30: retries respect the backoff; one RFC 3464 DSN at expiry', async () => {
  const rcpt = 'rcptdefer999-g30@d2.test';
  const { queueId } = await env.mq.send({
    from: 'app@src.test',
    to: [rcpt],
    message: 'Subject: g30\r\n\r\nx\r\n',
  });
  const r = await env.settle([{ queueId, recipients: [rcpt] }], 25_000);
  const tries = env.peer.commands
    .map((c, i) => ({ c, at: env.peer.commandTimes[i] ?? 0 }))
    .filter(({ c }) => c.toLowerCase().includes(`rcpt to:<${rcpt}>`))
    .map(({ at }) => at);
  const gaps = tries.slice(1).map((t, i) => t - (tries[i] ?? t));
  env.report('G30 backoff and lifetime', r, { attempts: tries.length });
  process.stdout.write(`chaos: G30 gaps ms: ${gaps.join(', ')}\n`);
  expect(r.lost).toBe(0);
  expect(r.bounced).toBe(1);
  expect(env.peer.dsns.get(rcpt)).toBe(1);
  expect(tries.length).toBeGreaterThanOrEqual(3);
  for (const g of gaps) expect(g).toBeGreaterThanOrEqual(900);
  const dsn = env.peer.dsnTexts.find((t) => t.includes(rcpt)) ?? '';
  expect(dsn).toMatch(/Content-Type: multipart\/report;[\s\S]*report-type="?delivery-status/i);
  expect(dsn).toMatch(/Content-Type: message\/delivery-status/i);
  expect(dsn).toMatch(/^Action: failed/im);
  expect(dsn).toMatch(/^Status: 4\.2\.2/im);
  expect(dsn).toMatch(/^Diagnostic-Code: smtp; 452 4\.2\.2 try later/im);
}, 90_000);
