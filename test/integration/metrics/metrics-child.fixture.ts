/**
 * A forked child for the aggregation test: its own registry and recorder, fed from argv
 * (`<sent> <suspendedDestination> [silent]`), answering the parent's metrics requests over IPC
 * (never, with `silent`: a child that hangs).
 */
import { answerMetricsRequests } from '../../../src/metrics/aggregate.ts';
import { createMetrics } from '../../../src/metrics/registry.ts';

const { registry, recorder } = createMetrics();
const sent = Number(process.argv[2] ?? '0');
for (let i = 0; i < sent; i++) recorder.deliveryEvent('sent', '2.0.0');
recorder.deliveryEvent('bounced', '5.1.1');
recorder.sessionCacheLookup('host', 'hit');
recorder.destinationSuspended(process.argv[3] ?? 'none.test', true);
recorder.attempt(0.2, { transport: 'smtp', outcome: 'sent' });
if (process.argv[4] !== 'silent') answerMetricsRequests(registry, process);
process.send?.({ type: 'ready' });
process.on('disconnect', () => process.exit(0));
