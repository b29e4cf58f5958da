/** Spec §14 scenario 45 and connection reuse across deliveries (one TCP connection; stale idle sessions replaced). */
import { afterEach, describe, expect, it } from 'vitest';
import type { Scene } from './harness.ts';
import { PORT, rcpt, request, scene } from './harness.ts';

const oneMx = (addr: (n: number) => string) => ({
  'example.test': { MX: [[10, 'mx1.example.test']] as Array<[number, string]> },
  'mx1.example.test': { A: [addr(1)] },
});

let s: Scene | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

describe('scenarios: connection reuse', () => {
  it.each(['none', 'may'] as const)(
    '45: two messages to a cached destination use one connection (level %s)',
    async (level) => {
      s = await scene(oneMx);
      const p = await s.peer(1);
      const { agent, logs } = s.agent({
        smtpConnectionCacheDestinations: ['example.test'],
        smtpTlsSecurityLevel: level,
      });
      const first = await agent.deliver(request());
      const second = await agent.deliver(request({ queueId: 'QID2' }));
      expect(first.recipients.map((r) => r.status)).toEqual(['sent', 'sent']);
      expect(rcpt(second, 0)).toMatchObject({ status: 'sent', connUse: 2 });
      expect(p.connections).toBe(1);
      expect(p.messages).toHaveLength(2);
      const conn2 = p.commands.filter((c) => !c.line.startsWith('EHLO'));
      const rsetAt = conn2.findIndex((c) => c.line === 'RSET');
      const secondMail = conn2.findLastIndex((c) => c.line.startsWith('MAIL FROM'));
      expect(rsetAt).toBeGreaterThan(0);
      expect(rsetAt).toBeLessThan(secondMail);
      expect(logs().some((l) => l.startsWith('QID2: to=<a@example.test>') && l.includes('conn_use=2'))).toBe(
        true,
      );
    },
  );

  it('an idle session the peer closed is replaced by a fresh connection, with no error', async () => {
    s = await scene(oneMx);
    const p1 = await s.peer(1);
    const { agent } = s.agent({ smtpConnectionCacheDestinations: ['example.test'] });
    await agent.deliver(request());
    await p1.stop();
    s.peers.splice(s.peers.indexOf(p1), 1);
    const p2 = await s.peer(1, { port: PORT });
    const r = await agent.deliver(request({ queueId: 'QID2' }));
    expect(r.recipients.map((x) => x.status)).toEqual(['sent', 'sent']);
    expect(rcpt(r, 0).connUse).toBeUndefined();
    expect(r.servers.map((x) => x.outcome)).toEqual(['delivered']);
    expect(p2.connections).toBe(1);
  });

  it('smtpConnectionReuseCountLimit=1: the reused session is closed with QUIT, the next message connects anew', async () => {
    s = await scene(oneMx);
    const p = await s.peer(1);
    const { agent } = s.agent({
      smtpConnectionCacheDestinations: ['example.test'],
      smtpConnectionReuseCountLimit: 1,
    });
    const first = await agent.deliver(request());
    const second = await agent.deliver(request({ queueId: 'QID2' }));
    const third = await agent.deliver(request({ queueId: 'QID3' }));
    expect(rcpt(first, 0).connUse).toBeUndefined();
    expect(rcpt(second, 0)).toMatchObject({ status: 'sent', connUse: 2 });
    expect(rcpt(third, 0)).toMatchObject({ status: 'sent' });
    expect(rcpt(third, 0).connUse).toBeUndefined();
    expect(p.connections).toBe(2);
    expect(p.messages).toHaveLength(3);
    const firstConn = p.commands
      .filter((c) => c.conn === p.commands[0]?.conn)
      .map((c) => c.line.split(':')[0]);
    expect(firstConn).toEqual([
      'EHLO client.test',
      'MAIL FROM',
      'RCPT TO',
      'RCPT TO',
      'DATA',
      'RSET',
      'MAIL FROM',
      'RCPT TO',
      'RCPT TO',
      'DATA',
      'QUIT',
    ]);
  });

  it('without a cache policy every delivery opens its own connection', async () => {
    s = await scene(oneMx);
    const p = await s.peer(1);
    const { agent } = s.agent();
    await agent.deliver(request());
    await agent.deliver(request({ queueId: 'QID2' }));
    expect(p.connections).toBe(2);
  });
});
