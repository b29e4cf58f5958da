/**
 * G31 soak (npm run test:soak; MXQ_CHAOS_SOAK=1, not in CI): measure peak throughput for 20 s
 * (3 workers, no faults), then run MXQ_CHAOS_SOAK_MINUTES (default 30) at half of it while a
 * random worker other than the observed one is SIGKILLed every 30 s. Checks: 0 lost, every
 * recipient sent at the end; the observed worker's RSS slope and Redis used_memory stay flat
 * (linear fit over per-minute samples after a 3-minute warm-up: < 1 MB/min).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SentMessage } from './checker.ts';
import { type ChaosEnv, chaosEnv, DOMAINS, rng } from './env.ts';

const MINUTES = Number(process.env.MXQ_CHAOS_SOAK_MINUTES ?? '30') || 30;
let env: ChaosEnv;

const rssMb = (pid: number | undefined): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
};

/** Least-squares slope of ys per step. */
function slope(ys: number[]): number {
  const n = ys.length;
  if (n < 2) return 0;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

beforeAll(async () => {
  env = await chaosEnv({ name: 'g31', options: { smtpConnectionCacheOnDemand: true } });
  await Promise.all([env.spawn(), env.spawn(), env.spawn()]);
});
afterAll(async () => {
  await env?.close();
});

it(
  `G31: ${MINUTES} min at half of peak with kills: nothing lost, memory flat`,
  async () => {
    const sent: SentMessage[] = [];
    let n = 0;
    const sendOne = async () => {
      const to = [`s${n}x0@${DOMAINS[n % DOMAINS.length]}`];
      n++;
      const { queueId } = await env.mq.send({
        from: 'app@src.test',
        to,
        message: `Subject: soak ${n}\r\n\r\nx\r\n`,
      });
      sent.push({ queueId, recipients: to });
    };
    // peak: as fast as the producer can go for 20 s, measured by completions
    const peakStart = Date.now();
    while (Date.now() - peakStart < 20_000) await sendOne();
    const warm = await env.settle([...sent], 300_000);
    const peakRate = warm.sent / ((Date.now() - peakStart) / 1000);
    const rate = peakRate / 2;
    const observed = env.workers[0];
    const random = rng(31);
    const rss: number[] = [];
    const redisMem: number[] = [];
    let kills = 0;
    const end = Date.now() + MINUTES * 60_000;
    let nextKill = Date.now() + 30_000;
    let nextSample = Date.now() + 60_000;
    const t0 = Date.now();
    let due = 0;
    while (Date.now() < end) {
      due += rate / 10;
      while (due >= 1) {
        await sendOne();
        due--;
      }
      if (Date.now() >= nextKill) {
        const victims = env.live().filter((w) => w !== observed);
        const v = victims[Math.floor(random() * victims.length)];
        if (v !== undefined) {
          v.proc.kill('SIGKILL');
          await v.exited;
          kills++;
          await env.spawn();
        }
        nextKill += 30_000;
      }
      if (Date.now() >= nextSample) {
        rss.push(rssMb(observed?.proc.pid));
        const info = await env.client.info('memory');
        redisMem.push(Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0) / 1e6);
        nextSample += 60_000;
      }
      await new Promise((r) =>
        setTimeout(r, Math.max(0, t0 + 100 * Math.ceil((Date.now() - t0 + 1) / 100) - Date.now())),
      );
    }
    const r = await env.settle(sent, 600_000);
    const rssSlope = slope(rss.slice(3));
    const redisSlope = slope(redisMem.slice(3));
    env.report('G31 soak', r, {
      minutes: MINUTES,
      peakPerSec: Math.round(peakRate),
      kills,
      rssSlopeKbPerMin: Math.round(rssSlope * 1024),
      redisSlopeKbPerMin: Math.round(redisSlope * 1000),
    });
    expect(r.lost).toBe(0);
    expect(r.sent).toBe(r.recipients);
    expect(rssSlope).toBeLessThan(1);
    expect(redisSlope).toBeLessThan(1);
  },
  (MINUTES + 20) * 60_000,
);
