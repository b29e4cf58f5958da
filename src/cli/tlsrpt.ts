import { createDnsResolver } from '../dns/resolver.ts';
import { createRedisClient } from '../queue/connection.ts';
import { systemClock } from '../runtime/clock.ts';
import { DEFAULT_QUEUE_PREFIX, DEFAULT_REDIS_URL, readMxqEnv } from '../runtime/env.ts';
import { createLogger } from '../runtime/logger.ts';
import { sendDueReports } from '../tlsrpt/send.ts';
import { createRedisTlsRptStore } from '../tlsrpt/store.ts';
import { findEmbeddedRedis } from '../workers/embedded-redis.ts';
import { EXIT, fail, parseCommand } from './cli-kit.ts';
import { CONNECTION_ARGS, openQueueFromArgs } from './queue-connection.ts';

const USAGE = 'usage: mxq tlsrpt [--redis URL] [--prefix P] [--config FILE]\n';

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand({ name: 'tlsrpt', usage: USAGE, options: CONNECTION_ARGS }, argv);
  if (parsed.exit !== undefined) return parsed.exit;
  const values = parsed.values;
  const env = readMxqEnv();
  const url = values.redis ?? env.redisUrl ?? (await findEmbeddedRedis()) ?? DEFAULT_REDIS_URL;
  const prefix = values.prefix ?? env.prefix ?? DEFAULT_QUEUE_PREFIX;
  const q = await openQueueFromArgs({ ...values, redis: url, prefix });
  const redis = createRedisClient(url, { maxRetriesPerRequest: 1, connectTimeout: 5000 });
  try {
    const o = q.resolvedOptions;
    const host = o.myhostname;
    const sender = o.tlsrptSender.includes('@') ? o.tlsrptSender : `${o.tlsrptSender}@${host}`;
    const n = await sendDueReports({
      store: createRedisTlsRptStore(redis, prefix),
      dns: createDnsResolver({ servers: o.dnsServers, timeoutMs: o.dnsTimeout, tries: o.dnsTries }),
      clock: systemClock(),
      logger: createLogger({ destination: process.stderr }),
      mail: q,
      myhostname: host,
      organization: o.tlsrptOrganizationName || host,
      contact: o.tlsrptContactInfo || `postmaster@${host}`,
      sender,
      ca: o.smtpTlsCAfile,
      timeoutMs: o.tlsrptPostTimeout,
    });
    process.stdout.write(`mxq tlsrpt: ${n} report${n === 1 ? '' : 's'} sent\n`);
    return 0;
  } catch (err) {
    return fail('tlsrpt', EXIT.TEMPFAIL, err instanceof Error ? err.message : String(err));
  } finally {
    redis.disconnect();
    await q.close();
  }
}
