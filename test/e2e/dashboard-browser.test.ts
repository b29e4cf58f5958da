/**
 * Scenario in a real browser: Debian's headless Chromium (driven by playwright-core) opens
 * `mxq dashboard` (a real process, over a queue a real worker uses): bull-board and mxq's pages
 * load and show a queued and a delivered message; an action from the page without the token is
 * refused. Screenshots go to .cache/test-output/dashboard/.
 * When Chromium is not installed (`./run setup` installs it when it can), the test prints why and
 * passes without a browser; the same pages are checked over HTTP in dashboard.test.ts.
 */
import { accessSync, constants } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type DashboardScene, startDashboardScene } from './dashboard-setup.ts';

const CHROMIUM = process.env.MXQ_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = resolve(import.meta.dirname, '../../.cache/test-output/dashboard');
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function chromiumMissing(): string | undefined {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return undefined;
  } catch {
    return `no Chromium at ${CHROMIUM} (./run setup installs Debian's chromium when apt works)`;
  }
}

const missing = chromiumMissing();
let scene: DashboardScene | undefined;
let context: BrowserContext | undefined;
let profile = '';
const offLoopback: string[] = [];

beforeAll(async () => {
  if (missing !== undefined) return;
  scene = await startDashboardScene('{e2ebrowser}');
  profile = await mkdtemp(join(tmpdir(), 'mxq-chromium-'));
  await mkdir(SHOTS, { recursive: true });
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 800 },
  });
  // Loopback only: anything else the pages might ask for is refused and recorded.
  await context.route('**/*', (route) => {
    const host = new URL(route.request().url()).hostname;
    if (host === '127.0.0.1' || host === 'localhost') return route.continue();
    offLoopback.push(route.request().url());
    return route.abort();
  });
}, 120_000);

afterAll(async () => {
  await context?.close();
  await scene?.stop();
  if (profile !== '') await rm(profile, { recursive: true, force: true });
});

it('pages load in Chromium, show a queued and a delivered message; an action without the token is refused', async () => {
  if (missing !== undefined || scene === undefined || context === undefined) {
    process.stderr.write(`dashboard-browser: browser part not run: ${missing ?? 'set-up incomplete'}\n`);
    expect(missing).toBeDefined();
    return;
  }
  const page = await context.newPage();
  // Rendered text with cells separated by whitespace (Playwright's Locator.innerText).
  // biome-ignore lint/performance/useDomNodeTextContent: a Playwright Locator method, not the DOM property
  const mainText = () => page.locator('main').innerText();
  // bull-board: the React app renders the deliver queue with its delayed (queued) job.
  await page.goto(`${scene.url}/queues`);
  await page.getByText('deliver', { exact: false }).first().waitFor({ timeout: 20_000 });
  await page.screenshot({ path: join(SHOTS, 'bull-board.png'), fullPage: true });
  await page.goto(`${scene.url}/queues/queue/deliver?status=delayed`);
  await page.getByText(scene.queued, { exact: false }).first().waitFor({ timeout: 20_000 });
  await page.screenshot({ path: join(SHOTS, 'bull-board-delayed.png'), fullPage: true });

  await page.goto(`${scene.url}/messages`);
  await expect.poll(mainText).toContain(scene.queued);
  expect(await mainText()).toContain(scene.delivered);
  await page.screenshot({ path: join(SHOTS, 'messages.png'), fullPage: true });

  await page.goto(`${scene.url}/messages/${scene.delivered}`);
  const delivered = await mainText();
  expect(delivered).toContain('alice@dst.test');
  expect(delivered).toMatch(/sent\s+2\.0\.0/);
  await page.screenshot({ path: join(SHOTS, 'message-delivered.png'), fullPage: true });

  await page.goto(`${scene.url}/messages/${scene.queued}`);
  const queued = await mainText();
  expect(queued).toMatch(/bob@down\.test\s+queued/);
  expect(queued).toContain('delayed');
  await page.screenshot({ path: join(SHOTS, 'message-queued.png'), fullPage: true });

  // An action from bull-board's page, as its buttons send it, without the token.
  await page.goto(`${scene.url}/queues`);
  const status = await page.evaluate(
    async (u) => (await fetch(u, { method: 'PUT' })).status,
    `${scene.url}/queues/api/queues/deliver/pause`,
  );
  expect(status).toBe(401);
  await page.goto(`${scene.url}/destinations`);
  await page.screenshot({ path: join(SHOTS, 'destinations.png'), fullPage: true });
  expect(offLoopback).toEqual([]);
  process.stderr.write(`dashboard-browser: screenshots in ${SHOTS}\n`);
}, 120_000);
