import { describe, expect, it } from 'vitest';
import { postfixTool, runPostfixTool, startSmtpSink } from '../../support/postfix.ts';
import { tempSocketPath } from '../../support/smtp-peer.ts';
import { rawConnect } from './raw-client.ts';

describe('postfix tools', () => {
  it('finds every tool with a working library path and config', async () => {
    for (const name of ['smtp-sink', 'smtp-source', 'posttls-finger'] as const) {
      expect(postfixTool(name).path.endsWith(`/usr/sbin/${name}`)).toBe(true);
    }
    const sink = await startSmtpSink({ args: ['-h', 'sink.test'] });
    try {
      const r = await runPostfixTool('posttls-finger', ['-t', '2', '-T', '2', `[127.0.0.1]:${sink.port}`]);
      expect(r.output).toContain('< 220 sink.test');
      expect(r.output).toContain('< 250-PIPELINING');
    } finally {
      await sink.stop();
    }
  });

  it('smtp-sink answers EHLO over TCP and stops', async () => {
    const sink = await startSmtpSink({ args: ['-h', 'sink.test'] });
    try {
      const c = await rawConnect({ host: sink.host, port: sink.port });
      expect(await c.reply()).toMatch(/^220 sink\.test/);
      c.send('EHLO c.test\r\n');
      const ehlo = await c.reply();
      expect(ehlo).toMatch(/^250-sink\.test/);
      expect(ehlo).toContain('PIPELINING');
      c.send('QUIT\r\n');
      expect(await c.reply()).toMatch(/^221/);
    } finally {
      await sink.stop();
    }
    await expect(rawConnect({ host: sink.host, port: sink.port })).rejects.toThrow();
  });

  it('smtp-sink speaks LMTP on a unix socket', async () => {
    const path = await tempSocketPath('sink.sock');
    const sink = await startSmtpSink({ lmtp: true, unixPath: path });
    try {
      expect(sink.unixPath).toBe(path);
      const c = await rawConnect({ path });
      expect(await c.reply()).toMatch(/^220/);
      c.send('LHLO c.test\r\n');
      expect(await c.reply()).toMatch(/^250/);
      c.socket.destroy();
    } finally {
      await sink.stop();
    }
  });
});
