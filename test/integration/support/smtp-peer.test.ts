import { describe, expect, it } from 'vitest';
import { startSmtpPeer, tempSocketPath } from '../../support/smtp-peer.ts';
import { rawConnect } from './raw-client.ts';

describe('smtp-peer (plain)', () => {
  it('runs a default SMTP transaction and records it as on the wire', async () => {
    const peer = await startSmtpPeer({ size: 1000, chunking: true });
    try {
      const c = await rawConnect({ port: peer.port });
      expect(await c.reply()).toMatch(/^220 peer\.test ESMTP/);
      c.send('EHLO client.test\r\n');
      const ehlo = await c.reply();
      expect(ehlo).toMatch(/^250-peer\.test/);
      expect(ehlo).toContain('PIPELINING');
      expect(ehlo).toContain('SIZE 1000');
      expect(ehlo).toContain('CHUNKING');
      expect(ehlo).not.toContain('STARTTLS');
      expect(ehlo).not.toContain('AUTH');
      c.send('MAIL FROM:<a@x.test> SIZE=2000\r\n');
      expect(await c.reply()).toMatch(/^552/);
      c.send('MAIL FROM:<a@x.test> BODY=8BITMIME SIZE=20\r\nRCPT TO:<b@y.test> NOTIFY=NEVER\r\nDATA\r\n');
      expect(await c.reply()).toMatch(/^250/);
      expect(await c.reply()).toMatch(/^250/);
      expect(await c.reply()).toMatch(/^354/);
      c.send('Subject: t\r\n\r\n..dot\r\n.\r\n');
      expect(await c.reply()).toMatch(/^250/);
      c.send('QUIT\r\n');
      expect(await c.reply()).toMatch(/^221/);
      await c.closed;
      expect(peer.connections).toBe(1);
      expect(peer.messages).toHaveLength(1);
      const m = peer.messages[0];
      expect(m?.from).toBe('a@x.test');
      expect(m?.to).toEqual(['b@y.test']);
      expect(m?.mailParams).toMatchObject({ BODY: '8BITMIME', SIZE: '20' });
      expect(m?.rcptParams[0]).toMatchObject({ NOTIFY: 'NEVER' });
      expect(m?.body.toString()).toBe('Subject: t\r\n\r\n..dot\r\n');
      expect(m?.tls).toBe(false);
      expect(peer.commands.map((x) => x.line)).toEqual([
        'EHLO client.test',
        'MAIL FROM:<a@x.test> SIZE=2000',
        'MAIL FROM:<a@x.test> BODY=8BITMIME SIZE=20',
        'RCPT TO:<b@y.test> NOTIFY=NEVER',
        'DATA',
        'QUIT',
      ]);
    } finally {
      await peer.stop();
    }
  });

  it('plays scripted replies, ehloName and hidden keywords', async () => {
    const peer = await startSmtpPeer({
      hidePipelining: true,
      hideDsn: true,
      script: {
        greeting: '220-first\r\n220 second',
        ehloName: 'mx.scripted.test',
        mail: '250 2.1.0 fine',
        rcpt: (a) => (a.startsWith('bad') ? '550 5.1.1 no such user' : undefined),
        dataDone: '451 4.3.0 try later',
      },
    });
    try {
      const c = await rawConnect({ port: peer.port });
      expect(await c.reply()).toBe('220-first\r\n220 second');
      c.send('EHLO c.test\r\n');
      const ehlo = await c.reply();
      expect(ehlo.startsWith('250-mx.scripted.test')).toBe(true);
      expect(ehlo).not.toContain('PIPELINING');
      expect(ehlo).not.toContain('DSN');
      c.send('MAIL FROM:<a@x.test>\r\n');
      expect(await c.reply()).toBe('250 2.1.0 fine');
      c.send('RCPT TO:<bad@y.test>\r\n');
      expect(await c.reply()).toBe('550 5.1.1 no such user');
      c.send('RCPT TO:<good@y.test>\r\n');
      expect(await c.reply()).toMatch(/^250/);
      c.send('DATA\r\n');
      expect(await c.reply()).toMatch(/^354/);
      c.send('x\r\n.\r\n');
      expect(await c.reply()).toBe('451 4.3.0 try later');
      expect(peer.messages[0]?.to).toEqual(['good@y.test']);
      c.socket.destroy();
    } finally {
      await peer.stop();
    }
  });

  it('rejects EHLO and HELO by script, then disconnects at the dot', async () => {
    const peer = await startSmtpPeer({
      script: { ehlo: '502 5.5.2 no EHLO', helo: '550 5.7.1 go away' },
    });
    try {
      const c = await rawConnect({ port: peer.port });
      await c.reply();
      c.send('EHLO c.test\r\n');
      expect(await c.reply()).toBe('502 5.5.2 no EHLO');
      c.send('HELO c.test\r\n');
      expect(await c.reply()).toBe('550 5.7.1 go away');
      peer.setScript({ disconnectAt: 'dot' });
      c.send('HELO c.test\r\n');
      expect(await c.reply()).toMatch(/^250/);
      c.send('MAIL FROM:<>\r\n');
      expect(await c.reply()).toMatch(/^250/);
      c.send('RCPT TO:<r@y.test>\r\n');
      expect(await c.reply()).toMatch(/^250/);
      c.send('DATA\r\n');
      expect(await c.reply()).toMatch(/^354/);
      c.send('body\r\n.\r\n');
      expect(await c.reply()).toBe('');
      await c.closed;
      expect(peer.messages).toHaveLength(1);
    } finally {
      await peer.stop();
    }
  });

  it('greets with 554 or 421 and can disconnect at the greeting', async () => {
    const peer = await startSmtpPeer({ script: { greeting: '554 5.3.2 not now' } });
    try {
      const c = await rawConnect({ port: peer.port });
      expect(await c.reply()).toBe('554 5.3.2 not now');
      c.send('QUIT\r\n');
      expect(await c.reply()).toMatch(/^221/);
      peer.setScript({ greeting: '421 4.3.2 busy' });
      const d = await rawConnect({ port: peer.port });
      expect(await d.reply()).toBe('421 4.3.2 busy');
      await d.closed;
      peer.setScript({ disconnectAt: 'greeting' });
      const e = await rawConnect({ port: peer.port });
      expect(await e.reply()).toBe('');
      expect(peer.connections).toBe(3);
    } finally {
      await peer.stop();
    }
  });

  it('speaks LMTP on a unix socket with per-recipient replies', async () => {
    const path = await tempSocketPath();
    const peer = await startSmtpPeer({
      lmtp: true,
      socketPath: path,
      script: {
        dataDone: (rcpts) => rcpts.map((r) => (r.startsWith('a') ? '250 2.0.0 ok' : '452 4.2.2 full')),
      },
    });
    try {
      expect(peer.socketPath).toBe(path);
      const c = await rawConnect({ path });
      expect(await c.reply()).toMatch(/^220 .*LMTP/);
      c.send('LHLO c.test\r\n');
      expect(await c.reply()).toMatch(/^250/);
      c.send('MAIL FROM:<s@x.test>\r\nRCPT TO:<a@y.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n');
      for (let i = 0; i < 3; i++) expect(await c.reply()).toMatch(/^250/);
      expect(await c.reply()).toMatch(/^354/);
      c.send('hi\r\n.\r\n');
      expect(await c.reply()).toBe('250 2.0.0 ok');
      expect(await c.reply()).toBe('452 4.2.2 full');
      c.socket.destroy();
    } finally {
      await peer.stop();
    }
  });

  it('authenticates PLAIN and LOGIN users and records AUTH lines raw', async () => {
    const peer = await startSmtpPeer({ auth: { users: { u: 'p' } } });
    try {
      const c = await rawConnect({ port: peer.port });
      await c.reply();
      c.send('EHLO c.test\r\n');
      expect(await c.reply()).toContain('AUTH PLAIN LOGIN');
      const bad = Buffer.from('\0u\0wrong').toString('base64');
      c.send(`AUTH PLAIN ${bad}\r\n`);
      expect(await c.reply()).toMatch(/^535/);
      c.send('AUTH LOGIN\r\n');
      expect(await c.reply()).toMatch(/^334/);
      c.send(`${Buffer.from('u').toString('base64')}\r\n`);
      expect(await c.reply()).toMatch(/^334/);
      c.send(`${Buffer.from('p').toString('base64')}\r\n`);
      expect(await c.reply()).toMatch(/^235/);
      expect(peer.commands.map((x) => x.line)).toContain(`AUTH PLAIN ${bad}`);
      expect(peer.commands.map((x) => x.line)).toContain(Buffer.from('p').toString('base64'));
      c.socket.destroy();
    } finally {
      await peer.stop();
    }
  });
});

describe('smtp-peer delays and disconnects', () => {
  it('delays a reply, closes after a scripted 421 and disconnects at a stage', async () => {
    const peer = await startSmtpPeer({ script: { delayMs: { mail: 300 }, rcpt: '421 4.4.2 bye now' } });
    try {
      const c = await rawConnect({ port: peer.port });
      await c.reply();
      c.send('EHLO c.test\r\nMAIL FROM:<a@x.test>\r\n');
      await c.reply();
      await new Promise((r) => setTimeout(r, 50));
      expect(c.pending()).toBe('');
      expect(await c.reply()).toMatch(/^250/);
      c.send('RCPT TO:<b@y.test>\r\n');
      expect(await c.reply()).toBe('421 4.4.2 bye now');
      await c.closed;
      peer.setScript({ disconnectAt: 'rcpt', rset: '250 2.0.0 reset ok' });
      const d = await rawConnect({ port: peer.port });
      await d.reply();
      d.send('HELO c.test\r\nRSET\r\n');
      expect(await d.reply()).toMatch(/^250/);
      expect(await d.reply()).toBe('250 2.0.0 reset ok');
      d.send('MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\n');
      expect(await d.reply()).toMatch(/^250/);
      expect(await d.reply()).toBe('');
      await d.closed;
      expect(peer.messages).toHaveLength(0);
      expect(peer.connections).toBe(2);
      expect(peer.commands.filter((x) => x.conn === 2).map((x) => x.line.split(' ')[0])).toEqual([
        'HELO',
        'RSET',
        'MAIL',
        'RCPT',
      ]);
    } finally {
      await peer.stop();
    }
  });

  it('closes during the body when told to', async () => {
    const peer = await startSmtpPeer({ script: { disconnectAt: 'body' } });
    try {
      const c = await rawConnect({ port: peer.port });
      await c.reply();
      c.send('EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n');
      for (let i = 0; i < 3; i++) await c.reply();
      expect(await c.reply()).toMatch(/^354/);
      c.send('part one\r\n');
      expect(await c.reply()).toBe('');
      await c.closed;
    } finally {
      await peer.stop();
    }
  });
});
