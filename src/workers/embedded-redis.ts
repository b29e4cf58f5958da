/**
 * The embedded default Redis of `mxq worker` when no REDIS_URL or --redis is given: a
 * `redis-server` from PATH, started with AOF and noeviction under ./var/redis, on 127.0.0.1:6379,
 * or on another free port when 6379 is taken (the port is printed).
 *
 * Decides: the redis-server arguments and the port, and where its URL is recorded
 * (`<dir>/redis.url`) so that a second worker and the client commands (send, queue, flush,
 * delete) find the running server instead of starting another one on the same AOF directory.
 * Never: installs anything; when no redis-server is on PATH it throws EmbeddedRedisUnavailable
 * with how to get one.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join, resolve } from 'node:path';

export const EMBEDDED_REDIS_DIR = 'var/redis';
const URL_FILE = 'redis.url';

export class EmbeddedRedisUnavailable extends Error {
  constructor() {
    super(
      'no Redis: set REDIS_URL (or --redis redis://host:port), or install a redis-server ' +
        '(e.g. `apt-get install redis-server`) so that mxq can start one under ./var/redis',
    );
    this.name = 'EmbeddedRedisUnavailable';
  }
}

export interface EmbeddedRedis {
  url: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const srv = createServer();
    srv.once('error', () => done(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => done(true)));
  });
}

function anyFreePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => done(port));
    });
  });
}

function redisServerOnPath(): boolean {
  const r = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return r.status === 0;
}

function waitReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((done, fail) => {
    let out = '';
    const timer = setTimeout(
      () => fail(new Error(`redis-server did not start in ${timeoutMs} ms: ${out.slice(-400)}`)),
      timeoutMs,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        done();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`redis-server exited (${code}): ${out.slice(-400)}`));
    });
  });
}

/** Start the embedded Redis. `dir` defaults to ./var/redis; `preferredPort` to 6379. */
export async function startEmbeddedRedis(
  p: { dir?: string; preferredPort?: number } = {},
): Promise<EmbeddedRedis> {
  if (!redisServerOnPath()) throw new EmbeddedRedisUnavailable();
  const dir = resolve(p.dir ?? EMBEDDED_REDIS_DIR);
  mkdirSync(dir, { recursive: true });
  const preferred = p.preferredPort ?? 6379;
  const port = (await portIsFree(preferred)) ? preferred : await anyFreePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes'];
  args.push(
    '--appendfsync',
    'everysec',
    '--maxmemory-policy',
    'noeviction',
    '--save',
    '3600 1',
    '--daemonize',
    'no',
  );
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  await waitReady(child, 10_000);
  const url = `redis://127.0.0.1:${port}`;
  writeFileSync(join(dir, URL_FILE), `${url}\n`);
  return {
    url,
    port,
    dir,
    stop: () =>
      new Promise<void>((done) => {
        rmSync(join(dir, URL_FILE), { force: true });
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

function answersPing(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port });
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      done(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk: Buffer) => finish(chunk.toString().startsWith('+PONG')));
  });
}

/** The URL of an embedded redis-server that is running now under `dir`, if any. */
export async function findEmbeddedRedis(dir: string = EMBEDDED_REDIS_DIR): Promise<string | undefined> {
  let url: string;
  try {
    url = readFileSync(join(resolve(dir), URL_FILE), 'utf8').trim();
  } catch {
    return undefined;
  }
  const m = /^redis:\/\/127\.0\.0\.1:(\d+)$/.exec(url);
  if (!m?.[1]) return undefined;
  return (await answersPing(Number(m[1]), 1000)) ? url : undefined;
}
