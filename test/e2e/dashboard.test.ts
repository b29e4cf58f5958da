/**
 * Scenario: `mxq dashboard` as a real process over a queue a real worker is using: mxq's pages show
 * a queued and a delivered message and a message's history; bull-board's API lists the jobs;
 * actions are refused without the token and allowed with it; bad binds are refused (exit 64).
 * (The same pages in a real browser: dashboard-browser.test.ts.)
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { until } from '../support/wait.ts';
import {
  DASHBOARD_TOKEN,
  type DashboardScene,
  spawnDashboard,
  startDashboardScene,
} from './dashboard-setup.ts';

let scene: DashboardScene;

beforeAll(async () => {
  scene = await startDashboardScene('{e2edash}');
}, 90_000);

afterAll(async () => {
  await scene?.stop();
});

it('the messages page lists the queued message and the delivered one', async () => {
  const html = await (await fetch(`${scene.url}/messages`)).text();
  expect(html).toContain(scene.queued);
  expect(html).toContain(scene.delivered);
  expect(html).toMatch(/alice@dst\.test<\/td><td><span class="sent">sent/);
  expect(html).toMatch(/bob@down\.test<\/td><td><span class="deferred">deferred/);
});

it("a message's history: envelope, recipients, jobs, events", async () => {
  const queued = await (await fetch(`${scene.url}/messages/${scene.queued}`)).text();
  expect(queued).toContain('app@src.test');
  expect(queued).toContain('<span class="queued">queued</span>');
  expect(queued).toMatch(/<td>delayed<\/td><td>\[127\.0\.0\.1\]:\d+<\/td><td>1<\/td>/);
  const delivered = await (await fetch(`${scene.url}/messages/${scene.delivered}`)).text();
  expect(delivered).toContain('left the queue');
  expect(delivered).toMatch(/alice@dst\.test<\/td><td><span class="sent">sent<\/span><\/td><td>2\.0\.0/);
  const none = await (await fetch(`${scene.url}/messages/NOSUCH`)).text();
  expect(none).toContain('NOSUCH: no such message');
  const found = await fetch(`${scene.url}/messages/find?id=${scene.queued}`, { redirect: 'manual' });
  expect(found.headers.get('location')).toBe(`/messages/${scene.queued}`);
});

it('destinations and session cache pages load (the delivered next-hop has lease state)', async () => {
  const d = await fetch(`${scene.url}/destinations`);
  expect(d.status).toBe(200);
  expect(await d.text()).toMatch(/\[127\.0\.0\.1\]:\d+/);
  // Keys as the destination lease code writes them: leases scored by expiry, the state hash.
  const redis = new Redis(scene.redisUrl);
  const now = Date.now();
  await redis.zadd('{e2edash}:dest:slow.test:leases', now + 60_000, 'lease-a', now - 1000, 'expired-lease');
  await redis.zadd('{e2edash}:dest:slow.test:waiters', now, 'w1', now, 'w2');
  await redis.hset('{e2edash}:dest:slow.test:state', {
    suspendedUntil: now + 600_000,
    window: 1,
    reason: '421 <busy>',
  });
  redis.disconnect();
  const shown = await (await fetch(`${scene.url}/destinations`)).text();
  expect(shown).toMatch(
    /<td>slow\.test<\/td><td>1<\/td><td>2<\/td><td><span class="suspended">suspended<\/span>/,
  );
  expect(shown).toContain('reason=421 &lt;busy&gt;');
  const s = await fetch(`${scene.url}/session-cache`);
  expect(await s.text()).toContain('mxq_session_cache_lookups_total');
});

it("bull-board's UI and API serve the deliver queue", async () => {
  const ui = await fetch(`${scene.url}/queues`);
  expect(ui.status).toBe(200);
  expect(await ui.text()).toContain('<div id="root">');
  const api = (await (
    await fetch(`${scene.url}/queues/api/queues?activeQueue=deliver&status=delayed`)
  ).json()) as {
    queues: Array<{ name: string; counts: Record<string, number> }>;
  };
  const q = api.queues.find((x) => x.name.endsWith('deliver'));
  expect(q?.counts.delayed).toBe(1);
});

it('an action is refused without the token (401) and runs with it', async () => {
  const pause = `${scene.url}/queues/api/queues/deliver/pause`;
  const denied = await fetch(pause, { method: 'PUT' });
  expect(denied.status).toBe(401);
  const wrong = await fetch(pause, {
    method: 'PUT',
    headers: { authorization: 'Bearer not-the-token-000000' },
  });
  expect(wrong.status).toBe(401);
  const ok = await fetch(pause, { method: 'PUT', headers: { authorization: `Bearer ${DASHBOARD_TOKEN}` } });
  expect(ok.status).toBeLessThan(300);
  const resume = await fetch(`${scene.url}/queues/api/queues/deliver/resume`, {
    method: 'PUT',
    headers: { cookie: `mxq_dashboard_token=${DASHBOARD_TOKEN}` },
  });
  expect(resume.status).toBeLessThan(300);
});

it('refuses a non-loopback bind without a token and --allow-actions without a token (exit 64)', async () => {
  const open = spawnDashboard(['--listen', '0.0.0.0:0', '--redis', 'redis://127.0.0.1:1']);
  expect(await open.exited).toBe(64);
  expect(open.output()).toContain(
    '--listen: refusing to listen on non-loopback 0.0.0.0 without authentication',
  );
  const actions = spawnDashboard([
    '--listen',
    '127.0.0.1:0',
    '--allow-actions',
    '--redis',
    'redis://127.0.0.1:1',
  ]);
  expect(await actions.exited).toBe(64);
  expect(actions.output()).toContain('--allow-actions: actions need a token');
}, 30_000);

it('read-only by default: actions are refused (403) even with the token', async () => {
  const ro = spawnDashboard([
    '--listen',
    '127.0.0.1:0',
    '--redis',
    scene.redisUrl,
    '--prefix',
    '{e2edash}',
    '--token',
    DASHBOARD_TOKEN,
  ]);
  try {
    const url = await until(
      'read-only dashboard url',
      async () => /serving (http:\/\/\S+)/.exec(ro.output())?.[1],
      20_000,
    );
    const res = await fetch(`${url}queues/api/queues/deliver/pause`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${DASHBOARD_TOKEN}` },
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('read-only dashboard');
    expect((await fetch(`${url}messages`)).status).toBe(200);
  } finally {
    ro.proc.kill('SIGTERM');
    await ro.exited;
  }
}, 30_000);

it('POST /login sets the token cookie for browsers; a wrong token is refused', async () => {
  const login = (token: string) =>
    fetch(`${scene.url}/login`, { method: 'POST', body: new URLSearchParams({ token }), redirect: 'manual' });
  expect((await login('wrong-token-0000000000')).status).toBe(401);
  const ok = await login(DASHBOARD_TOKEN);
  expect(ok.status).toBe(303);
  expect(ok.headers.get('set-cookie')).toMatch(
    /^mxq_dashboard_token=[^;]+; Path=\/; HttpOnly; SameSite=Strict/,
  );
  expect((await fetch(`${scene.url}/login`)).status).toBe(200);
});
