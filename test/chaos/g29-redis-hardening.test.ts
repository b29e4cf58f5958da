/**
 * G29: mxq against a hardened Redis. The redis-server listens on TLS only (`port 0`, `tls-port`,
 * `tls-auth-clients yes`: a client certificate of the test CA is required), the default user is
 * off, and mxq gets an ACL user limited to its prefix's keys and to the commands it needs
 * (MXQ_ACL below: what BullMQ and mxq use, found by running this suite and reading ACL LOG). mxq is
 * given `rediss://mxq:…@…?tls_ca_file=…&tls_cert_file=…&tls_key_file=…`.
 *
 * A real `mxq worker` delivers 12 messages (one recipient refused: a DSN goes back), then an
 * `mxq pool -n 2` 12 more; the checker reconciles every recipient and ACL LOG (read over an admin
 * connection) shows 0 denials. Then the refusals: no plaintext port, a plain connection to the
 * TLS port, no client certificate, a certificate of another CA, the default user, keys and
 * commands outside the ACL user's grant (which do show up in ACL LOG: the 0 above is not
 * vacuous), a bad URL parameter or unreadable file, and a user without INFO (the safety check
 * says it cannot decide).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRedisClient } from '../../src/queue/connection.ts';
import { checkRedisSafety } from '../../src/workers/redis-safety.ts';
import { stopWorker } from '../e2e/helpers.ts';
import { poolReady, spawnPool, stopPool } from '../e2e/pool-helpers.ts';
import { type RedisHandle, type RedisTlsFiles, startRedis } from '../support/redis.ts';
import { type ChaosEnv, chaosEnv } from './env.ts';

const MAIN = resolve(import.meta.dirname, '../../src/cli/main.ts');
const PREFIX = '{g29}';
/** The grant of the mxq user (docs/reliability.md "Hardened Redis (G29)"), keys limited to the prefix. */
const MXQ_ACL =
  `resetkeys ~${PREFIX}:* resetchannels -@all +@read +@write +@transaction +@blocking +@connection ` +
  '-@admin -@dangerous -scan -randomkey +eval +evalsha +info';

const adminPw = randomBytes(16).toString('hex');
const mxqPw = randomBytes(16).toString('hex');
let redis: RedisHandle;
let tls: RedisTlsFiles;
let admin: Redis;
let env: ChaosEnv;

const query = (t: RedisTlsFiles, withCert = true) =>
  `tls_ca_file=${encodeURIComponent(t.caFile)}` +
  (withCert
    ? `&tls_cert_file=${encodeURIComponent(t.certFile)}&tls_key_file=${encodeURIComponent(t.keyFile)}`
    : '');
const mxqUrl = (user = 'mxq', pw = mxqPw, q = query(tls)) =>
  `rediss://${user}:${pw}@127.0.0.1:${redis.port}?${q}`;

function tlsOptions(t: RedisTlsFiles) {
  return { ca: t.ca, cert: t.cert, key: t.key, servername: '127.0.0.1' };
}

/** ACL LOG as entries of field → value. */
async function aclLog(): Promise<Array<Record<string, string>>> {
  const log = (await admin.call('ACL', 'LOG', '1000')) as unknown[][];
  return log.map((e) => {
    const m: Record<string, string> = {};
    for (let i = 0; i + 1 < e.length; i += 2) m[String(e[i])] = String(e[i + 1]);
    return m;
  });
}
const denials = (log: Array<Record<string, string>>) => log.reduce((n, e) => n + Number(e.count ?? 1), 0);

function mxq(args: string[], untilText?: string): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const take = (d: Buffer) => {
      out += d.toString();
      if (untilText !== undefined && out.includes(untilText)) p.kill('SIGTERM');
    };
    p.stdout.on('data', take);
    p.stderr.on('data', take);
    p.once('exit', (code) => done({ code, out }));
  });
}

beforeAll(async () => {
  redis = await startRedis({
    tls: { authClients: 'yes' },
    acl: [
      'user default off',
      `user admin on >${adminPw} ~* &* +@all`,
      `user mxq on >${mxqPw} ${MXQ_ACL}`,
      `user noinfo on >${mxqPw} ${MXQ_ACL} -info`,
    ],
  });
  tls = redis.tls as RedisTlsFiles;
  admin = new Redis({
    host: redis.host,
    port: redis.port,
    username: 'admin',
    password: adminPw,
    tls: tlsOptions(tls),
    maxRetriesPerRequest: 2,
  });
  env = await chaosEnv({ name: 'g29', redisUrl: mxqUrl() });
  await env.spawn();
}, 120_000);

afterAll(async () => {
  await env?.close();
  admin?.disconnect();
  await redis?.stop();
});

it('G29: a worker and an mxq pool deliver over TLS as the ACL user: every recipient reconciled, 0 ACL denials', async () => {
  expect(env.prefix).toBe(PREFIX);
  const sent = await env.load(
    12,
    (i, j) => (i === 4 && j === 0 ? `rcptreject-u${i}x${j}` : `u${i}x${j}`),
    29,
  );
  const r = await env.settle(sent, 120_000);
  expect(r.problems).toEqual([]);
  expect(r.lost).toBe(0);
  expect(r.duplicates).toBe(0);
  expect(r.bounced).toBe(1);
  expect(r.sent).toBe(r.recipients - 1);

  for (const w of env.workers) await stopWorker(w);
  const pool = spawnPool({ config: env.config, redis: env.url, prefix: env.prefix, processes: 2 });
  let r2: typeof r;
  try {
    await poolReady(pool, 2);
    const sent2 = await env.load(12, (i, j) => `p${i}x${j}`, 2);
    r2 = await env.settle(sent2, 120_000);
  } finally {
    expect(await stopPool(pool)).toBe(0);
  }
  expect(r2.problems).toEqual([]);
  expect(r2.lost).toBe(0);
  expect(r2.sent).toBe(r2.recipients);

  const log = await aclLog();
  const total = {
    ...r,
    messages: r.messages + r2.messages,
    recipients: r.recipients + r2.recipients,
    sent: r.sent + r2.sent,
    deferred: r.deferred + r2.deferred,
    bounced: r.bounced + r2.bounced,
    duplicates: r.duplicates + r2.duplicates,
    drops: r.drops + r2.drops,
    lost: r.lost + r2.lost,
  };
  env.report('G29 hardened Redis (TLS only, client cert, ACL user; worker then pool -n 2)', total, {
    aclDenials: denials(log),
  });
  expect(log).toEqual([]);
  // the safety check passed on INFO alone: the worker never asked CONFIG
  expect(await checkRedisSafety(env.client)).toEqual({ safe: true, problems: [] });
  expect(await aclLog()).toEqual([]);
}, 300_000);

it('G29: no plaintext: port 0, and a plain connection to the TLS port gets no answer', async () => {
  expect(await admin.config('GET', 'port')).toEqual(['port', '0']);
  const reply = await new Promise<string>((done) => {
    const s = connect({ host: redis.host, port: redis.port });
    let data = '';
    s.setTimeout(5000, () => s.destroy());
    s.on('connect', () => s.write(`AUTH mxq ${mxqPw}\r\nPING\r\n`));
    s.on('data', (d) => {
      data += d.toString('latin1');
    });
    s.on('error', () => undefined);
    s.on('close', () => done(data));
  });
  expect(reply).not.toContain('+OK');
  expect(reply).not.toContain('PONG');
  const url = `redis://mxq:${mxqPw}@127.0.0.1:${redis.port}`;
  const w = await mxq(['worker', '--redis', url, '--prefix', PREFIX]);
  expect(w.code).toBe(69);
  expect(w.out).toContain('cannot reach Redis at 127.0.0.1');
  expect(w.out).not.toContain(mxqPw);
}, 60_000);

it('G29: a client without a certificate, or with one of another CA, is refused', async () => {
  const handshake = (opts: { cert?: string; key?: string }) =>
    new Promise<string>((done) => {
      const s = tlsConnect({
        host: redis.host,
        port: redis.port,
        ca: tls.ca,
        servername: '127.0.0.1',
        ...opts,
      });
      let data = '';
      s.setTimeout(5000, () => s.destroy());
      s.on('secureConnect', () => s.write(`AUTH mxq ${mxqPw}\r\nPING\r\n`));
      s.on('data', (d) => {
        data += d.toString();
      });
      s.on('error', (err) => {
        data += ` error: ${err.message}`;
      });
      s.on('close', () => done(data));
    });
  const none = await handshake({});
  expect(none).not.toContain('+OK');
  expect(none).toMatch(/error:/);
  const other = await handshake({
    cert: await readFile(tls.otherCertFile, 'utf8'),
    key: await readFile(tls.otherKeyFile, 'utf8'),
  });
  expect(other).not.toContain('+OK');
  expect(other).toMatch(/error:/);
  const w = await mxq(['worker', '--redis', mxqUrl('mxq', mxqPw, query(tls, false)), '--prefix', PREFIX]);
  expect(w.code).toBe(69);
  expect(w.out).toContain('cannot reach Redis');
  expect(w.out).not.toContain(mxqPw);
}, 60_000);

it('G29: the default user is off: no password gets NOAUTH, AUTH as default is refused (exit 77)', async () => {
  const replies = await new Promise<string>((done) => {
    const s = tlsConnect({ host: redis.host, port: redis.port, ...tlsOptions(tls) });
    let data = '';
    s.setTimeout(5000, () => s.destroy());
    s.on('secureConnect', () => s.write('PING\r\nAUTH default anything\r\nAUTH anything\r\n'));
    s.on('data', (d) => {
      data += d.toString();
      if (data.split('\r\n').length > 3) s.end();
    });
    s.on('error', () => undefined);
    s.on('close', () => done(data));
  });
  const lines = replies.split('\r\n');
  expect(lines[0]).toMatch(/^-NOAUTH/);
  expect(lines[1]).toMatch(/^-WRONGPASS/);
  expect(lines[2]).toMatch(/^-WRONGPASS/);
  const w = await mxq([
    'worker',
    '--redis',
    `rediss://127.0.0.1:${redis.port}?${query(tls)}`,
    '--prefix',
    PREFIX,
  ]);
  expect(w.code).toBe(77);
  const wrong = await mxq(['worker', '--redis', mxqUrl('mxq', 'not-the-password'), '--prefix', PREFIX]);
  expect(wrong.code).toBe(77);
  expect(wrong.out).not.toContain('not-the-password');
}, 60_000);

it('G29: the ACL user cannot touch keys outside the prefix nor run admin commands; ACL LOG names each', async () => {
  await admin.call('ACL', 'LOG', 'RESET'); // the refused logins above are logged too (reason "auth")
  const c = createRedisClient(mxqUrl(), { maxRetriesPerRequest: 0 });
  try {
    expect(await c.set(`${PREFIX}:probe`, '1')).toBe('OK');
    await expect(c.set('{other}:k', 'v')).rejects.toThrow(/NOPERM/);
    await expect(c.get('bull:deliver:id')).rejects.toThrow(/NOPERM/);
    await expect(c.del('somekey')).rejects.toThrow(/NOPERM/);
    await expect(c.eval("return redis.call('SET', KEYS[1], 'x')", 1, 'outside')).rejects.toThrow(/NOPERM/);
    // a key the script did not declare: refused inside the script
    await expect(c.eval("return redis.call('GET', 'outside')", 0)).rejects.toThrow(/can't access/);
    await expect(c.config('GET', 'save')).rejects.toThrow(/NOPERM/);
    await expect(c.flushall()).rejects.toThrow(/NOPERM/);
    await expect(c.keys('*')).rejects.toThrow(/NOPERM/);
    await expect(c.scan('0')).rejects.toThrow(/NOPERM/); // would list key names outside the prefix
    await expect(c.call('ACL', 'WHOAMI')).rejects.toThrow(/NOPERM/);
    await expect(c.call('CLIENT', 'LIST')).rejects.toThrow(/NOPERM/);
    await expect(c.call('SAVE')).rejects.toThrow(/NOPERM/);
    await c.del(`${PREFIX}:probe`);
  } finally {
    c.disconnect();
  }
  const log = await aclLog();
  const mine = log.filter((e) => e.username === 'mxq');
  expect(denials(log)).toBe(12);
  expect(new Set(mine.map((e) => e.reason))).toEqual(new Set(['key', 'command']));
  expect(mine.map((e) => e.object)).toContain('{other}:k');
}, 60_000);

it('G29: URL parameters are checked before connecting (exit 78, named, no password)', async () => {
  const unknown = await mxq(['worker', '--redis', `${mxqUrl()}&db=2`, '--prefix', PREFIX]);
  expect(unknown.code).toBe(78);
  expect(unknown.out).toContain('unknown query parameter "db"');
  expect(unknown.out).not.toContain(mxqPw);
  const missing = `${redis.dir}/no-such-ca.pem`;
  const unreadable = await mxq([
    'worker',
    '--redis',
    mxqUrl('mxq', mxqPw, `tls_ca_file=${encodeURIComponent(missing)}`),
    '--prefix',
    PREFIX,
  ]);
  expect(unreadable.code).toBe(78);
  expect(unreadable.out).toContain(`cannot read tls_ca_file "${missing}" of the Redis URL (ENOENT)`);
  expect(unreadable.out).not.toContain(mxqPw);
}, 60_000);

it('G29: a user without INFO: the safety check says it cannot decide (exit 78, naming what is unknown)', async () => {
  // BullMQ itself needs INFO (Redis version check), so such a user cannot run mxq anyway; the
  // override (--allow-unsafe-redis) is G5's case.
  const c = createRedisClient(mxqUrl('noinfo'), { maxRetriesPerRequest: 0 });
  try {
    const v = await checkRedisSafety(c);
    expect(v.safe).toBe(false);
    expect(v.problems).toHaveLength(2);
  } finally {
    c.disconnect();
  }
  const refused = await mxq(['worker', '--redis', mxqUrl('noinfo'), '--prefix', PREFIX]);
  expect(refused.code).toBe(78);
  expect(refused.out).toContain('maxmemory-policy is unknown (neither INFO memory nor CONFIG GET answered)');
  expect(refused.out).toContain('persistence is unknown');
  expect(refused.out).toContain('give the Redis user +info');
  expect(refused.out).not.toContain(mxqPw);
}, 60_000);
