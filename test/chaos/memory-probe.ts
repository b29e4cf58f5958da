/**
 * Memory probe for the G31 soak: loaded into `mxq worker` processes with NODE_OPTIONS=--import
 * (only the soak sets it). Every MXQ_MEMPROBE_MS (default 10 s) it runs a full garbage collection
 * and writes one line `memprobe {"heapUsed":…,"heapTotal":…,"rss":…,"external":…,"arrayBuffers":…}`
 * to stderr, so the soak can fit the live heap (what a leak grows) next to the RSS (which also
 * follows V8's heap sizing and the allocator).
 *
 * Decides: nothing about delivery. Never: keeps the process alive (the timer is unref'd).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const everyMs = Number(process.env.MXQ_MEMPROBE_MS ?? '10000') || 10_000;

setInterval(() => {
  gc();
  const m = process.memoryUsage();
  const line = {
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    rss: m.rss,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
  };
  process.stderr.write(`memprobe ${JSON.stringify(line)}\n`);
}, everyMs).unref();
