/**
 * Issue 11's command-line surprises, as processes against real redis-servers: no silent
 * fallback Redis, one exit-code table, --help everywhere, flag names in errors, delete's
 * reports, caller-relative paths through ./run, escaped control bytes, send --wait progress.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeDeliveryEvent, type RecipientJournalEntry } from '../../../src/queue/job-schema.ts';
import { queueKeys } from '../../../src/queue/keys.ts';
import { freePort } from '../../support/net-util.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const MAIN = join(ROOT, 'src/cli/main.ts');
const PREFIX = '{ops}';
/** Each test starts several node processes; generous under a loaded machine. */
const LONG = 180_000;
const keys = queueKeys(PREFIX);
let redis: RedisHandle;
let admin: Redis;
let dir: string;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function runIn(file: string, args: string[], env: NodeJS.ProcessEnv, cwd = dir): Promise<Ran> {
  return new Promise((done) => {
    execFile(file, args, { env, cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      done({ code, stdout, stderr });
    });
  });
}

/** The environment without any Redis hint (REDIS_URL, MXQ_*). */
function bareEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.REDIS_URL;
  delete env.MXQ_PREFIX;
  delete env.MXQ_CALLER_CWD;
  return env;
}

const mxq = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
  runIn(process.execPath, [MAIN, ...args], {
    ...bareEnv(),
    REDIS_URL: redis.url,
    MXQ_PREFIX: PREFIX,
    ...extra,
  });

beforeAll(async () => {
  redis = await startRedis({ appendonly: false });
  admin = new Redis(redis.url);
  dir = await mkdtemp(join(tmpdir(), 'mxq-ops-'));
  await writeFile(join(dir, 'm.eml'), 'Subject: ops\n\nhello\n');
});
afterAll(async () => {
  admin.disconnect();
  await redis.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('which Redis a client command uses', () => {
  it(
    'send without REDIS_URL/--redis and no running embedded Redis stops (69), never guesses 127.0.0.1:6379',
    async () => {
      const r = await runIn(
        process.execPath,
        [MAIN, 'send', '--from', 'a@x.test', '--to', 'b@y.test', '--file', 'm.eml'],
        bareEnv(),
      );
      expect(r.code).toBe(69);
      expect(r.stderr).toMatch(/no Redis: the embedded redis-server of `mxq worker` is not running/);
      expect(r.stdout).toBe('');
    },
    LONG,
  );
  it(
    'an unreachable Redis is 69 and a refused password 77, one line each, for client commands and the worker',
    async () => {
      const port = await freePort();
      const down = `redis://127.0.0.1:${port}`;
      for (const cmd of [
        ['queue'],
        ['flush'],
        ['send', '--from', 'a@x.test', '--to', 'b@y.test', '--file', 'm.eml'],
      ]) {
        const r = await mxq([...cmd, '--redis', down]);
        expect(r.code, cmd[0]).toBe(69);
        expect(r.stderr.trim().split('\n'), cmd[0]).toEqual([
          expect.stringContaining(`cannot reach Redis at 127.0.0.1:${port}`),
        ]);
      }
      const w = await mxq(['worker', '--redis', down]);
      expect(w.code).toBe(69);
      expect(w.stderr).toContain('cannot reach Redis');
      expect(w.stderr).not.toMatch(/\n\s+at /);
      const locked = await startRedis();
      const setter = new Redis(locked.url);
      await setter.config('SET', 'requirepass', 'right-one');
      setter.disconnect();
      try {
        const wrong = `redis://:wrong-one@127.0.0.1:${locked.port}`;
        const q = await mxq(['queue', '--redis', wrong]);
        expect(q.code).toBe(77);
        expect(q.stderr).toContain('refused authentication');
        expect(q.stderr).not.toContain('wrong-one');
        const wk = await mxq(['worker', '--redis', wrong]);
        expect(wk.code).toBe(77);
        expect(wk.stderr).not.toContain('wrong-one');
      } finally {
        await locked.stop();
      }
    },
    LONG,
  );
  it(
    'the worker refuses a Redis with RDB snapshots but no AOF (78) unless --allow-unsafe-redis',
    async () => {
      const rdb = await startRedis({ appendonly: false, args: ['--save', '3600 1'] });
      try {
        const r = await mxq(['worker', '--redis', rdb.url, '--prefix', '{rdb}']);
        expect(r.code).toBe(78);
        expect(r.stderr).toContain('RDB snapshots only');
      } finally {
        await rdb.stop();
      }
    },
    LONG,
  );
});

describe('--help and usage', () => {
  it(
    'every command answers --help with its usage on stdout and exit 0',
    async () => {
      const { stdout } = await mxq(['--help']);
      const names = [...stdout.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1] ?? '');
      expect(names).toEqual(
        expect.arrayContaining([
          'send',
          'queue',
          'flush',
          'delete',
          'worker',
          'deliver',
          'sink',
          'smtp-probe',
        ]),
      );
      for (const name of names) {
        const r = await mxq([name, '--help']);
        expect(r.code, name).toBe(0);
        expect(r.stdout, name).toMatch(new RegExp(`^usage: mxq ${name}`));
      }
      expect((await mxq(['help', 'send'])).stdout).toMatch(/^usage: mxq send/);
    },
    LONG,
  );
  it(
    './run --help prints its whole header, not cut mid-sentence, and lists the commands',
    async () => {
      const r = await runIn('bash', [join(ROOT, 'run'), '--help'], bareEnv());
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('redis-server package when it is not on PATH (needs root).');
      expect(r.stdout).toMatch(/^ {2}delete +delete queued mail/m);
    },
    LONG,
  );
  it(
    'errors name the flag the user typed and escape control bytes',
    async () => {
      const r = await mxq([
        'send',
        '--from',
        'a@x.test',
        '--to',
        'ok@y.test',
        '--to',
        'b\x1b[31m@y.test',
        '--file',
        'm.eml',
      ]);
      expect(r.code).toBe(65);
      expect(r.stderr).toContain('--to #2: bad recipient address <b\\x1b[31m@y.test>');
      expect(r.stderr).not.toContain('\x1b');
      expect(r.stderr).not.toContain('to[1]');
      const t = await mxq(['send', '--from', 'a@x.test', '--to', 'b@y.test', '--wait', '--timeout', 'soon']);
      expect(t.code).toBe(64);
      expect(t.stderr).toContain('--timeout');
      const u = await mxq(['queue', '--jsn']);
      expect(u.code).toBe(64);
      expect(u.stderr).toContain("'--jsn'");
    },
    LONG,
  );
  it(
    'invalid UTF-8 in --to with --smtputf8 is refused (65), not queued as U+FFFD',
    async () => {
      const before = await admin.dbsize();
      const r = await runIn(
        'bash',
        [
          '-c',
          `exec "$0" "$1" send --smtputf8 --from a@x.test --to "$(printf 'b\\377\\376@y.test')" --file m.eml`,
          process.execPath,
          MAIN,
        ],
        { ...bareEnv(), REDIS_URL: redis.url, MXQ_PREFIX: PREFIX },
      );
      expect(r.code).toBe(65);
      expect(r.stderr).toContain('invalid UTF-8');
      expect(await admin.dbsize()).toBe(before);
    },
    LONG,
  );
});

describe('paths are relative to the caller, also through ./run', () => {
  it(
    '--file and --config given relative to another directory',
    async () => {
      const sub = join(dir, 'elsewhere');
      await mkdir(sub, { recursive: true });
      await writeFile(join(sub, 'here.eml'), 'Subject: here\n\nhi\n');
      await writeFile(join(sub, 'conf.json'), JSON.stringify({ messageSizeLimit: 5 }));
      const env = { ...bareEnv(), REDIS_URL: redis.url, MXQ_PREFIX: PREFIX };
      const ok = await runIn(
        'bash',
        [join(ROOT, 'run'), 'send', '--from', 'a@x.test', '--to', 'b@y.test', '--file', 'here.eml'],
        env,
        sub,
      );
      expect(ok.stderr).toBe('');
      expect(ok.code).toBe(0);
      expect(ok.stdout.trim()).toMatch(/^[0-9A-Za-z]{14}$/);
      const big = await runIn(
        'bash',
        [
          join(ROOT, 'run'),
          'send',
          '--from',
          'a@x.test',
          '--to',
          'b@y.test',
          '--file',
          'here.eml',
          '--config',
          'conf.json',
        ],
        env,
        sub,
      );
      expect(big.code).toBe(65);
      expect(big.stderr).toContain('exceeds messageSizeLimit 5');
      const missing = await runIn(
        'bash',
        [join(ROOT, 'run'), 'send', '--from', 'a@x.test', '--to', 'b@y.test', '--file', 'nope.eml'],
        env,
        sub,
      );
      expect(missing.code).toBe(66);
      expect(missing.stderr).toContain(join(sub, 'nope.eml'));
      const badConf = await mxq(['queue', '--config', join(sub, 'here.eml')]);
      expect(badConf.code).toBe(78);
      await mxq(['delete', 'ALL']);
    },
    LONG,
  );
});

describe('delete reports what it did not find', () => {
  it(
    'delete NOSUCHID exits 66 naming it; delete all (lower case) is a usage error',
    async () => {
      const id = '0000000000NONE';
      const r = await mxq(['delete', id]);
      expect(r.code).toBe(66);
      expect(r.stderr).toContain(`${id}: no such message`);
      const all = await mxq(['delete', 'all']);
      expect(all.code).toBe(64);
      expect(all.stderr).toContain('ALL in capitals');
      const sent = await mxq(['send', '--from', 'a@x.test', '--to', 'b@y.test', '--file', 'm.eml']);
      const json = await mxq(['delete', '--json', sent.stdout.trim()]);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual({ deleted: 1, missing: [], busy: [] });
    },
    LONG,
  );
});

describe('send --wait', () => {
  it(
    'reports each deferral while waiting, then the outcome',
    async () => {
      const running = mxq([
        'send',
        '--from',
        'a@x.test',
        '--to',
        'b@y.test',
        '--file',
        'm.eml',
        '--wait',
        '--timeout',
        '30',
      ]);
      let ids: string[] = [];
      for (let i = 0; i < 400 && ids.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        ids = await admin.zrange(keys.messageIndex, 0, -1);
      }
      const queueId = ids[0] ?? '';
      expect(queueId).not.toBe('');
      // Give the waiting process time to start following the stream, then a deferral, then the end.
      await new Promise((r) => setTimeout(r, 1500));
      const deferral = {
        queueId,
        jobId: `${queueId}.1`,
        recipient: 'b@y.test',
        event: 'deferred' as const,
        dsn: '4.2.0',
        relay: 'mx.y.test[127.0.0.1]:25',
        diagnostic: 'host mx.y.test[127.0.0.1] said: 451 4.2.0 try later (in reply to RCPT TO command)',
        at: 1,
      };
      await admin.xadd(keys.events, '*', ...encodeDeliveryEvent(deferral));
      const entry: RecipientJournalEntry = {
        recipient: 'b@y.test',
        status: 'sent',
        dsn: '2.0.0',
        relay: 'mx.y.test[127.0.0.1]:25',
        diagnostic: '250 2.0.0 ok',
        at: 2,
        jobId: `${queueId}.1`,
      };
      await admin.hset(keys.journal(queueId), 'b@y.test', JSON.stringify(entry));
      await admin.xadd(keys.events, '*', ...encodeDeliveryEvent({ ...entry, queueId, event: 'sent' }));
      const done = await running;
      expect(done.code).toBe(0);
      expect(done.stderr).toContain(
        `${queueId}: to=<b@y.test>, relay=mx.y.test[127.0.0.1]:25, dsn=4.2.0, status=deferred (host mx.y.test`,
      );
      expect(done.stdout).toContain(
        `${queueId}: to=<b@y.test>, relay=mx.y.test[127.0.0.1]:25, dsn=2.0.0, status=sent`,
      );
      await mxq(['delete', 'ALL']);
    },
    LONG,
  );
  it(
    'at the timeout: exit 75 naming the pending recipients',
    async () => {
      const r = await mxq([
        'send',
        '--from',
        'a@x.test',
        '--to',
        'b@y.test',
        '--file',
        'm.eml',
        '--wait',
        '--timeout',
        '0.5',
      ]);
      expect(r.code).toBe(75);
      expect(r.stderr).toContain('still pending: b@y.test');
      await mxq(['delete', 'ALL']);
    },
    LONG,
  );
});

describe('the worker while Redis goes away', () => {
  it(
    'one line when Redis goes, one when it is back, no stacks; SIGTERM finishes while it is down',
    async () => {
      const port = await freePort();
      const rdir = await mkdtemp(join(tmpdir(), 'mxq-ops-redis-'));
      const startServer = () =>
        spawn(
          'redis-server',
          ['--bind', '127.0.0.1', '--port', String(port), '--dir', rdir, '--appendonly', 'yes', '--save', ''],
          {
            stdio: 'ignore',
          },
        );
      const until = async (what: () => boolean | Promise<boolean>, ms: number) => {
        const end = Date.now() + ms;
        while (Date.now() < end) {
          if (await what()) return true;
          await new Promise((r) => setTimeout(r, 100));
        }
        return false;
      };
      const pong = async () => {
        const c = new Redis({
          port,
          host: '127.0.0.1',
          lazyConnect: true,
          retryStrategy: () => null,
          maxRetriesPerRequest: 0,
        });
        c.on('error', () => {});
        try {
          await c.connect();
          return (await c.ping()) === 'PONG';
        } catch {
          return false;
        } finally {
          c.disconnect();
        }
      };
      let server = startServer();
      expect(await until(pong, 10_000)).toBe(true);
      const worker = spawn(
        process.execPath,
        [MAIN, 'worker', '--redis', `redis://127.0.0.1:${port}`, '--prefix', '{opsw}'],
        {
          env: bareEnv(),
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      let err = '';
      worker.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      worker.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      const exited = new Promise<number | null>((done) => worker.once('exit', (code) => done(code)));
      try {
        expect(await until(() => out.includes('"worker-started"'), 30_000)).toBe(true);
        server.kill('SIGKILL');
        expect(await until(() => out.includes('"redis-unavailable"'), 20_000)).toBe(true);
        await new Promise((r) => setTimeout(r, 2000)); // many reconnect attempts fail meanwhile
        server = startServer();
        expect(await until(() => out.includes('"redis-reconnected"'), 30_000)).toBe(true);
        server.kill('SIGKILL');
        expect(await until(() => (out.match(/"redis-unavailable"/g) ?? []).length === 2, 20_000)).toBe(true);
        worker.kill('SIGTERM');
        expect(await exited).toBe(0);
        const events = out
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { event?: string }).event);
        expect(events.filter((e) => e === 'redis-unavailable')).toHaveLength(2);
        expect(events.filter((e) => e === 'redis-reconnected')).toHaveLength(1);
        expect(events).not.toContain('worker-error');
        expect(events).toContain('worker-stopped');
        expect(err).not.toMatch(/ECONNREFUSED|\n\s+at /);
      } finally {
        if (worker.exitCode === null) worker.kill('SIGKILL');
        server.kill('SIGKILL');
        await rm(rdir, { recursive: true, force: true });
      }
    },
    LONG,
  );
});

describe('mxq config check / show', () => {
  it(
    'check names the bad key (78), a missing file is 66; show lists what the file sets, never a password',
    async () => {
      await writeFile(
        join(dir, 'good.json'),
        JSON.stringify({
          myhostname: 'mx.ops.test',
          smtpSaslAuthEnable: true,
          smtpSaslPasswordMaps: { '[relay.ops.test]:587': { username: 'u', password: 'hunter2-secret' } },
        }),
      );
      await writeFile(
        join(dir, 'bad.json'),
        JSON.stringify({ minimalBackoffTime: '2h', maximalBackoffTime: '1h' }),
      );
      const ok = await mxq(['config', 'check', '--config', 'good.json']);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toBe('mxq config: good.json: ok (3 options set)\n');
      const bad = await mxq(['config', 'check', '--config', 'bad.json']);
      expect(bad.code).toBe(78);
      expect(bad.stderr).toContain('minimalBackoffTime (7200s) must not be above maximalBackoffTime (3600s)');
      expect((await mxq(['config', 'check', '--config', 'none.json'])).code).toBe(66);
      const shown = await mxq(['config', 'show', '--config', 'good.json']);
      expect(shown.stdout.split('\n')[0]).toBe('myhostname = mx.ops.test');
      expect(shown.stdout).not.toContain('hunter2');
      expect(shown.stdout).toContain('"password":"*****"');
      const defaults = await mxq(['config', 'show', '-d']);
      expect(defaults.stdout).toContain('smtpSaslSecurityOptions = noplaintext, noanonymous\n');
      expect(defaults.stdout).toContain('maximalQueueLifetime = 5d\n');
    },
    LONG,
  );
});
