/**
 * `mxq smtp-probe` as a process against the scriptable peer: the transcript with `<-`/`->`/`**`
 * prefixes, AUTH masked, TLS facts after STARTTLS, a message from stdin, and the exit codes
 * (0 ok, 75 soft, 69 hard, 64 usage).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki } from '../../support/certs.ts';
import { allocateLoopbackBlock } from '../../support/loopback.ts';
import { type PeerOptions, type SmtpPeer, startSmtpPeer } from '../../support/smtp-peer.ts';

const MAIN = join(import.meta.dirname, '../../../src/cli/main.ts');
const MX = 'mx.example.test';
const SECRET = 'pr0be-Secret';

const block = allocateLoopbackBlock();
const peers: SmtpPeer[] = [];
let dir = '';
let pki: Awaited<ReturnType<typeof makeTestPki>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mxq-probe-test-'));
  pki = await makeTestPki(MX);
  await writeFile(join(dir, 'ca.pem'), pki.caCert);
});
afterAll(async () => {
  for (const p of peers.splice(0)) await p.stop();
  await rm(dir, { recursive: true, force: true });
  block.release();
});

async function peer(opts: PeerOptions): Promise<SmtpPeer> {
  const p = await startSmtpPeer({ host: block.addr(1), ...opts });
  peers.push(p);
  return p;
}

function probe(args: string[], stdin = '', env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [MAIN, 'smtp-probe', ...args, '--timeout', '5'], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  child.stdin.end(stdin);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    }),
  );
}

describe('mxq smtp-probe', () => {
  it('shows the handshake with AUTH masked, then QUITs', async () => {
    const p = await peer({ auth: { users: { alice: SECRET } } });
    const r = await probe(
      // Plaintext AUTH allowed explicitly (the default, noplaintext, never sends it without TLS).
      [
        `${p.host}:${p.port}`,
        '--tls',
        'none',
        '--auth',
        'alice',
        '--sasl-security-options',
        'noanonymous',
        '--helo',
        'probe.test',
      ],
      '',
      {
        MXQ_PROBE_PASSWORD: SECRET,
      },
    );
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/^<- 220 /m);
    expect(r.out).toContain('-> EHLO probe.test');
    expect(r.out).toMatch(/^-> AUTH (PLAIN|LOGIN)/m);
    expect(r.out).toContain('** authenticated');
    expect(r.out).toContain('-> QUIT');
    for (const secret of [
      SECRET,
      Buffer.from(`\0alice\0${SECRET}`).toString('base64'),
      Buffer.from(SECRET).toString('base64'),
    ]) {
      expect(r.out + r.err).not.toContain(secret);
    }
    expect(p.commands.some((c) => /^AUTH /i.test(c.line))).toBe(true);
    expect(p.commands.some((c) => /^MAIL /i.test(c.line))).toBe(false);
  });

  it('delivers a message from stdin over verified STARTTLS and reports TLS facts', async () => {
    const p = await peer({ tls: { key: pki.valid.key, cert: pki.valid.cert } });
    const args = [
      `[${p.host}]:${p.port}`,
      '--tls',
      'verify',
      '--ca',
      join(dir, 'ca.pem'),
      '--servername',
      MX,
    ];
    const r = await probe(
      [...args, '--from', 'me@example.net', '--to', 'you@example.test'],
      'Subject: probe\n\nhello\n',
    );
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toContain('-> STARTTLS');
    expect(r.out).toMatch(/\*\* TLS: TLSv1\.[23] with cipher \S+, server certificate verified/);
    expect(r.out).toContain('** <you@example.test>: delivered: 250');
    expect(p.messages).toHaveLength(1);
    expect(p.messages[0]).toMatchObject({ from: 'me@example.net', to: ['you@example.test'], tls: true });
    expect(p.messages[0]?.body.toString()).toContain('Subject: probe\r\n\r\nhello\r\n');
  });

  it('speaks SMTPS (--smtps) with TLS before the greeting', async () => {
    const p = await peer({ wrapperTls: true, tls: { key: pki.valid.key, cert: pki.valid.cert } });
    const r = await probe([`[${p.host}]:${p.port}`, '--smtps', '--tls', 'encrypt'], '');
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).not.toContain('-> STARTTLS');
    expect(r.out).toMatch(/\*\* TLS: TLSv1\.[23] with cipher/);
    expect(p.commands.every((c) => c.tls)).toBe(true);
  });

  it('delivers over LMTP on a unix socket to `mxq sink`', async () => {
    const path = join(dir, 'lmtp.sock');
    const sink = spawn(process.execPath, [MAIN, 'sink', '--unix', path, '--lmtp', '--print', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let sinkOut = '';
    sink.stdout.on('data', (d: Buffer) => {
      sinkOut += d.toString();
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('sink did not start')), 10_000);
        sink.stderr.on('data', (d: Buffer) => {
          if (d.toString().includes('listening on')) {
            clearTimeout(t);
            resolve();
          }
        });
      });
      const args = [
        `unix:${path}`,
        '--lmtp',
        '--from',
        'me@example.net',
        '--to',
        'a@example.test',
        '--to',
        'b@example.test',
      ];
      const r = await probe(args, 'Subject: lmtp\n\nhi\n');
      expect(r.code, r.out + r.err).toBe(0);
      expect(r.out).toContain('-> LHLO ');
      expect(r.out).toContain('** <a@example.test>: delivered: 250');
      expect(r.out).toContain('** <b@example.test>: delivered: 250');
      for (let i = 0; i < 100 && sinkOut === ''; i++) await new Promise((res) => setTimeout(res, 20));
      expect(JSON.parse(sinkOut.trim())).toMatchObject({
        protocol: 'lmtp',
        to: ['a@example.test', 'b@example.test'],
      });
    } finally {
      sink.kill('SIGTERM');
      await new Promise((res) => sink.once('exit', res));
    }
  });

  it('exits 69 on a hard rejection and 75 on a soft one', async () => {
    const p = await peer({
      script: { rcpt: (a) => (a.startsWith('hard') ? '550 5.1.1 no such user' : '451 4.3.0 later') },
    });
    const hard = await probe(
      [`${p.host}:${p.port}`, '--from', 'a@example.net', '--to', 'hard@example.test'],
      'x\n',
    );
    expect(hard.code, hard.out).toBe(69);
    expect(hard.out).toContain('550 5.1.1 no such user');
    const soft = await probe(
      [`${p.host}:${p.port}`, '--from', 'a@example.net', '--to', 'soft@example.test'],
      'x\n',
    );
    expect(soft.code, soft.out).toBe(75);
    expect(p.messages).toEqual([]);
  });

  it('exits 75 when TLS is required but not offered', async () => {
    const p = await peer({});
    const r = await probe([`${p.host}:${p.port}`, '--tls', 'encrypt']);
    expect(r.code).toBe(75);
    expect(r.out).toContain('4.7.4 TLS is required, but was not offered by host');
  });

  it('exits 64 on usage errors', async () => {
    expect((await probe(['[not-an-ip]:25'])).code).toBe(64);
    expect((await probe(['127.0.0.1:25', '--from', 'a@b'])).code).toBe(64);
    expect((await probe(['127.0.0.1:25', '--tls', 'bogus'])).code).toBe(64);
    expect((await probe(['127.0.0.1:25', '--auth', 'alice'], '', { MXQ_PROBE_PASSWORD: '' })).code).toBe(64);
  });
});
