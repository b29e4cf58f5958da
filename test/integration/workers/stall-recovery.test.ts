/**
 * putBack() on a real redis-server: a failed job that is already gone (removeOnFail) is re-added
 * under its own id (so the message's meta, `mxq queue` and `mxq delete` still find it) with the
 * retention of every deliver job (removed once completed, bounded once failed).
 */
import { Job, Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { jobRetention } from '../../../src/queue/enqueue.ts';
import { putBack } from '../../../src/workers/stall-recovery.ts';
import { memoryLogger } from '../../support/fakes.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';

let server: RedisHandle;
let queue: Queue;

beforeAll(async () => {
  server = await startRedis({ appendonly: false });
  queue = new Queue('deliver', { connection: { host: server.host, port: server.port }, prefix: '{sr}' });
});
afterAll(async () => {
  await queue?.close();
  await server?.stop();
});

it('re-adds a failed job that is gone under its own id, with the retention of deliver jobs', async () => {
  const data = { v: 1, queueId: 'Q1' };
  const job = await queue.add('deliver', data, { jobId: 'Q1.1', attempts: 1 });
  job.failedReason = 'job stalled more than allowable limit';
  await queue.remove('Q1.1');
  await putBack(queue, job, memoryLogger());
  const again = await Job.fromId(queue, 'Q1.1');
  expect(again?.data).toEqual(data);
  expect(again?.opts.removeOnComplete).toEqual(jobRetention().removeOnComplete);
  expect(again?.opts.removeOnFail).toEqual(jobRetention().removeOnFail);
  expect(await queue.count()).toBe(1);
});
