/**
 * `mxq tlsrpt` as a process against a real redis-server and DNS server: a day's counts for a
 * domain with a mailto: rua become one queued report; bad flags exit 64.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { queueKeys } from '../../../src/queue/keys.ts';
import { createRedisTlsRptStore } from '../../../src/tlsrpt/store.ts';
import { type DnsServer, startDnsServer } from '../../support/dns-server.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';

const MAIN = join(import.meta.dirname, '../../../src/cli/main.ts');
const PREFIX = '{rptcli}';
let redis: RedisHandle;
let admin: Redis;
let dns: DnsServer;
let dir: string;

function mxq(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { env: { ...process.env, REDIS_URL: redis.url, MXQ_PREFIX: PREFIX }, timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  redis = await startRedis({ appendonly: false });
  admin = new Redis(redis.url);
  dns = await startDnsServer({ '_smtp._tls.example.test': { TXT: ['v=TLSRPTv1; rua=mailto:tls@rep.test'] } });
  dir = await mkdtemp(join(tmpdir(), 'mxq-tlsrpt-'));
});
afterAll(async () => {
  admin.disconnect();
  await dns.stop();
  await redis.stop();
  await rm(dir, { recursive: true, force: true });
});

it('sends the due report through the queue and forgets the counts', async () => {
  const store = createRedisTlsRptStore(admin, PREFIX);
  await store.add(
    '2020-01-02',
    'example.test',
    { type: 'no-policy-found', strings: [], mxPatterns: [] },
    { ok: true },
  );
  const config = join(dir, 'mxq.json');
  await writeFile(config, JSON.stringify({ myhostname: 'mta.test', dnsServers: [dns.server] }));
  const r = await mxq(['tlsrpt', '--config', config]);
  expect(r).toMatchObject({ code: 0, stdout: 'mxq tlsrpt: 1 report sent\n' });
  expect(await store.pending()).toEqual([]);
  const queueId = /queued for tls@rep\.test: (\S+)"/.exec(r.stderr)?.[1] ?? expect.fail(r.stderr);
  const body = await admin.hget(queueKeys(PREFIX).message(queueId), 'body');
  expect(body).toContain('TLS-Report-Domain: example.test');
  expect(body).toContain('Content-Type: application/tlsrpt+gzip');
});

it('a bad flag is a usage error (64)', async () => {
  const r = await mxq(['tlsrpt', '--bogus']);
  expect(r.code).toBe(64);
  expect(r.stderr).toContain('usage: mxq tlsrpt');
});
