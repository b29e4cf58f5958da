/**
 * The pool's metrics path with two real child processes (child_process.fork): each child answers
 * over IPC with its registry's JSON; the parent aggregates (counters and histograms sum, shared
 * state such as a suspension takes the max); a child that is gone is left out.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { aggregateMetrics } from '../../../src/metrics/aggregate.ts';
import { createMetrics } from '../../../src/metrics/registry.ts';
import { sampleValue } from './prom-text.ts';

const CHILD = resolve(import.meta.dirname, 'metrics-child.fixture.ts');
const children: ChildProcess[] = [];

function start(args: string[]): Promise<ChildProcess> {
  const child = fork(CHILD, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  return new Promise((done, fail) => {
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`child exited ${code}`)));
    child.on('message', (m) => {
      if (typeof m === 'object' && m !== null && 'type' in m && m.type === 'ready') done(child);
    });
  });
}

beforeAll(async () => {
  await Promise.all([start(['3', 'slow.test']), start(['4', 'slow.test'])]);
});

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

it('sums two children and the parent; shared gauges are not doubled', async () => {
  const parent = createMetrics({ processMetrics: false });
  parent.recorder.deliveryEvent('sent', '2.0.0');
  const out = await aggregateMetrics(parent.registry, children, 10_000);
  expect(out.answered).toBe(2);
  expect(sampleValue(out.body, 'mxq_deliveries_total', { status: 'sent', dsn_class: '2' })).toBe(8);
  expect(sampleValue(out.body, 'mxq_deliveries_total', { status: 'bounced', dsn_class: '5' })).toBe(2);
  expect(sampleValue(out.body, 'mxq_session_cache_lookups_total', { tier: 'host', result: 'hit' })).toBe(2);
  expect(sampleValue(out.body, 'mxq_destination_suspended', { destination: 'slow.test' })).toBe(1);
  expect(sampleValue(out.body, 'mxq_destination_suspensions_total', { destination: 'slow.test' })).toBe(2);
  expect(
    sampleValue(out.body, 'mxq_attempt_duration_seconds_count', { transport: 'smtp', outcome: 'sent' }),
  ).toBe(2);
  expect(sampleValue(out.body, 'mxq_pool_children_scraped', {})).toBe(2);
  // Node's process metrics come from the children too.
  expect(out.body).toContain('process_cpu_user_seconds_total');
}, 30_000);

it('a child that is gone is left out of the scrape', async () => {
  const [first] = children;
  if (first === undefined) throw new Error('no child');
  const gone = new Promise((done) => first.once('exit', done));
  first.kill('SIGKILL');
  await gone;
  const parent = createMetrics({ processMetrics: false });
  const out = await aggregateMetrics(parent.registry, children, 5_000);
  expect(out.answered).toBe(1);
  expect(sampleValue(out.body, 'mxq_deliveries_total', { status: 'sent', dsn_class: '2' })).toBe(4);
  expect(sampleValue(out.body, 'mxq_pool_children_scraped', {})).toBe(1);
}, 30_000);
