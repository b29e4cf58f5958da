/**
 * `mxq sink` as a process: accepts SMTP over TCP into a Maildir, LMTP over a unix socket with one
 * reply per recipient, prints one summary line per message, stops cleanly on SIGTERM/SIGINT.
 * The client here is a minimal line-by-line SMTP client over node:net (lock-step, no mocks).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const MAIN = join(import.meta.dirname, '../../../src/cli/main.ts');

interface SinkProcess {
  child: ChildProcess;
  where: string;
  stdout: () => string;
  exit: Promise<number | null>;
}

const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mxq-sink-test-'));
  dirs.push(d);
  return d;
}

function startSink(args: string[]): Promise<SinkProcess> {
  const child = spawn(process.execPath, [MAIN, 'sink', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sink did not start: ${err}`)), 10_000);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (\S+)/.exec(err);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve({ child, where: m[1], stdout: () => out, exit });
      }
    });
    child.on('exit', (code) => reject(new Error(`sink exited ${code}: ${err}`)));
  });
}

/** Minimal lock-step client: each call sends one line (or nothing) and reads `replies` full replies. */
function lineClient(socket: Socket) {
  let buf = '';
  const waiters: Array<() => void> = [];
  socket.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    for (const w of waiters.splice(0)) w();
  });
  const takeReply = (): string | undefined => {
    const lines = buf.split('\r\n');
    for (let i = 0; i < lines.length - 1; i++) {
      if (/^\d{3} /.test(lines[i] ?? '')) {
        const reply = lines.slice(0, i + 1).join('\r\n');
        buf = lines.slice(i + 1).join('\r\n');
        return reply;
      }
    }
    return undefined;
  };
  const read = async (): Promise<string> => {
    for (let i = 0; i < 200; i++) {
      const r = takeReply();
      if (r !== undefined) return r;
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    throw new Error(`no reply; buffer: ${buf}`);
  };
  return {
    read,
    async cmd(line: string, replies = 1): Promise<string[]> {
      socket.write(`${line}\r\n`);
      const out: string[] = [];
      for (let i = 0; i < replies; i++) out.push(await read());
      return out;
    },
  };
}

function open(where: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const m = /^(?:unix:(.+)|\[?([^\]]+?)\]?:(\d+))$/.exec(where);
    const s = m?.[1] !== undefined ? connect(m[1]) : connect(Number(m?.[3]), m?.[2] ?? '127.0.0.1');
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

describe('mxq sink', () => {
  it('stores SMTP mail over TCP in a Maildir and prints a summary line per message', async () => {
    const dir = await tempDir();
    const sink = await startSink(['--listen', '127.0.0.1:0', '--maildir', dir]);
    const socket = await open(sink.where);
    const c = lineClient(socket);
    expect(await c.read()).toMatch(/^220 /);
    const ehlo = await c.cmd('EHLO client.test');
    expect(ehlo[0]).toMatch(/250[- ]PIPELINING/);
    for (const [i, rcpts] of [['a@x.test'], ['b@y.test', 'c@y.test']].entries()) {
      expect((await c.cmd(`MAIL FROM:<sender${i}@example.test>`))[0]).toMatch(/^250/);
      for (const r of rcpts) expect((await c.cmd(`RCPT TO:<${r}>`))[0]).toMatch(/^250/);
      expect((await c.cmd('DATA'))[0]).toMatch(/^354/);
      expect((await c.cmd(`Subject: m${i}\r\n\r\n..dotted line ${i}\r\n.`))[0]).toMatch(/^250/);
    }
    expect((await c.cmd('QUIT'))[0]).toMatch(/^221/);
    socket.destroy();

    const files = (await readdir(join(dir, 'new'))).sort();
    expect(files).toHaveLength(2);
    const texts = await Promise.all(files.map((f) => readFile(join(dir, 'new', f), 'utf8')));
    const second = texts.find((t) => t.includes('Subject: m1'));
    expect(second).toContain('Return-Path: <sender1@example.test>\r\n');
    expect(second).toContain('Delivered-To: b@y.test\r\nDelivered-To: c@y.test\r\n');
    expect(second).toContain('\r\n.dotted line 1\r\n');
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);

    const lines = sink.stdout().trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/smtp from=<sender1@example.test> to=<b@y.test>,<c@y.test> size=\d+ .*file=/);

    sink.child.kill('SIGTERM');
    expect(await sink.exit).toBe(0);
  });

  it('answers LMTP over a unix socket once per recipient and prints JSON', async () => {
    const dir = await tempDir();
    const path = join(dir, 'lmtp.sock');
    const sink = await startSink(['--unix', path, '--lmtp', '--print', '--json']);
    expect(sink.where).toBe(`unix:${path}`);
    const socket = await open(sink.where);
    const c = lineClient(socket);
    expect(await c.read()).toMatch(/^220 .*LMTP/);
    expect((await c.cmd('LHLO client.test'))[0]).toMatch(/^250/);
    await c.cmd('MAIL FROM:<>');
    await c.cmd('RCPT TO:<one@x.test>');
    await c.cmd('RCPT TO:<two@x.test>');
    expect((await c.cmd('DATA'))[0]).toMatch(/^354/);
    const replies = await c.cmd('Subject: lmtp\r\n\r\nhello\r\n.', 2);
    expect(replies.map((r) => r.slice(0, 3))).toEqual(['250', '250']);
    await c.cmd('QUIT');
    socket.destroy();

    const record = JSON.parse(sink.stdout().trim()) as Record<string, unknown>;
    expect(record).toMatchObject({
      protocol: 'lmtp',
      from: '',
      to: ['one@x.test', 'two@x.test'],
      tls: false,
    });
    expect(record.file).toBeUndefined();

    sink.child.kill('SIGINT');
    expect(await sink.exit).toBe(0);
    expect(existsSync(path)).toBe(false);
  });

  it('refuses contradictory options with exit 64', async () => {
    const child = spawn(process.execPath, [MAIN, 'sink', '--print', '--maildir', '/nonexistent'], {
      stdio: 'ignore',
    });
    children.push(child);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(64);
  });
});
