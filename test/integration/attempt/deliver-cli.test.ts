/** `mxq deliver --json` end to end: a real DNS server, a real peer, the real CLI process. */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Scene } from './harness.ts';
import { message, scene } from './harness.ts';

function runCli(
  args: string[],
  stdin: Buffer,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['src/cli/main.ts', 'deliver', ...args], { cwd: process.cwd() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

let s: Scene | undefined;
let dir: string | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('mxq deliver --json', () => {
  it('prints one JSON line per recipient and exits by the worst outcome', async () => {
    s = await scene((addr) => ({
      'example.test': { MX: [[10, 'mx1.example.test']] },
      'mx1.example.test': { A: [addr(1)] },
    }));
    await s.peer(1, {
      script: {
        rcpt: (a) =>
          a.startsWith('b@') ? '550 5.1.1 unknown' : a.startsWith('c@') ? '451 4.7.1 later' : undefined,
      },
    });
    dir = await mkdtemp(join(tmpdir(), 'mxq-deliver-'));
    const config = join(dir, 'config.json');
    await writeFile(
      config,
      JSON.stringify({
        dnsServers: [s.dns.server],
        inetProtocols: 'ipv4',
        smtpTlsSecurityLevel: 'none',
        myhostname: 'client.test',
      }),
    );
    const sent = await runCli(
      ['--from', 's@client.test', '--to', 'a@example.test', '--config', config, '--json'],
      message(),
    );
    expect(sent.code).toBe(0);
    const line = JSON.parse(sent.stdout.trim()) as Record<string, unknown>;
    expect(line).toMatchObject({
      recipient: 'a@example.test',
      status: 'sent',
      dsn: '2.0.0',
      relay: `mx1.example.test[${s.addr(1)}]:25`,
      servers: [{ host: 'mx1.example.test', addr: s.addr(1), port: 25, outcome: 'delivered' }],
    });
    const mixed = await runCli(
      [
        '--from',
        's@client.test',
        '--to',
        'a@example.test',
        '--to',
        'b@example.test',
        '--to',
        'c@example.test',
        '--config',
        config,
        '--json',
      ],
      message(),
    );
    expect(mixed.code).toBe(75);
    const lines = mixed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { recipient: string; status: string; diagnostic: string });
    expect(lines.map((l) => [l.recipient, l.status])).toEqual([
      ['a@example.test', 'sent'],
      ['b@example.test', 'bounced'],
      ['c@example.test', 'deferred'],
    ]);
    expect(lines[1]?.diagnostic).toBe(
      `host mx1.example.test[${s.addr(1)}] said: 550 5.1.1 unknown (in reply to RCPT TO command)`,
    );
    const bounced = await runCli(
      ['--from', 's@client.test', '--to', 'b@example.test', '--config', config, '--json'],
      message(),
    );
    expect(bounced.code).toBe(69);
  });

  it('rejects recipients of different domains without --nexthop (usage, 64)', async () => {
    const r = await runCli(
      ['--from', 's@x.test', '--to', 'a@one.test', '--to', 'b@two.test'],
      Buffer.from(''),
    );
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('recipients must share one domain');
  });

  it('refuses bad input before connecting to anything (65)', async () => {
    s = await scene((addr) => ({
      'example.test': { MX: [[10, 'mx1.example.test']] },
      'mx1.example.test': { A: [addr(1)] },
    }));
    const peer = await s.peer(1, {});
    dir = await mkdtemp(join(tmpdir(), 'mxq-deliver-'));
    const config = join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ dnsServers: [s.dns.server], inetProtocols: 'ipv4' }));
    const r = await runCli(
      ['--from', 's@client.test\r\nRCPT TO:<x@evil.test>', '--to', 'a@example.test', '--config', config],
      message(),
    );
    expect(r.code).toBe(65);
    expect(r.stderr).toContain('contains CR, LF or NUL');
    expect(r.stdout).toBe('');
    expect(peer.connections).toBe(0);
  });
});
