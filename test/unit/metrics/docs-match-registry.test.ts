/**
 * docs/metrics.md and docs/grafana-dashboard.json name only metrics the registry defines, and the
 * docs list every mxq_ metric the registry defines.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';
import { registerPoolMetrics } from '../../../src/metrics/pool-metrics.ts';
import { type createQueueProbe, registerQueueMetrics } from '../../../src/metrics/queue-probe.ts';
import { createMetrics } from '../../../src/metrics/registry.ts';

const DOCS = resolve(import.meta.dirname, '../../../docs');

it('the documented and dashboard metric names are the registry names', async () => {
  const { registry } = createMetrics({ processMetrics: false });
  const never = () => Promise.reject(new Error('not scraped'));
  registerQueueMetrics(registry, { jobCounts: never, messages: never, ping: never } as ReturnType<
    typeof createQueueProbe
  >);
  registerPoolMetrics(registry, () => {
    throw new Error('not scraped');
  });
  const defined = new Set(registry.getMetricsAsArray().map((m) => m.name));
  defined.add('mxq_pool_children_scraped');
  const doc = readFileSync(resolve(DOCS, 'metrics.md'), 'utf8');
  const documented = new Set([...doc.matchAll(/`(mxq_[a-z_]+)`/g)].map((m) => m[1] ?? ''));
  expect([...documented].sort()).toEqual([...defined].sort());
  const grafana = readFileSync(resolve(DOCS, 'grafana-dashboard.json'), 'utf8');
  const used = new Set(
    [...grafana.matchAll(/\b(mxq_[a-z_]+?)(?:_bucket|_count|_sum)?\b/g)].map((m) => m[1] ?? ''),
  );
  for (const name of used) expect(defined, name).toContain(name);
  JSON.parse(grafana);
});
