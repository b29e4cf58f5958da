/**
 * Postmaster transcripts (notify_classes `protocol`, Postfix smtp_chat_notify, spec §10.3) through
 * a real delivery agent, real DNS and a real SMTP peer: a garbage line and a 502 at RCPT make the
 * attempt return one notice with the session's "Out:"/"In:" lines, AUTH masked (a canary password
 * never shows); none without `protocol` in notifyClasses, none for the null or double-bounce
 * sender, none for ordinary rejections.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Scene } from './harness.ts';
import { rcpt, request, scene } from './harness.ts';

const CANARY = 'CANARY-pw-7Zq9';
const zone = (addr: (n: number) => string) => ({
  'example.test': { MX: [[10, 'mx1.example.test']] as Array<[number, string]> },
  'mx1.example.test': { A: [addr(1)] },
});
const opts = {
  smtpSaslAuthEnable: true,
  smtpSaslPasswordMaps: { 'example.test': { username: 'alice', password: CANARY } },
  smtpSaslSecurityOptions: ['noanonymous'],
  notifyClasses: ['protocol'],
};
const garbageAtRcpt = (a: string) => (a.startsWith('b@') ? 'this is not smtp\r\n502 5.5.2 huh' : undefined);

let s: Scene | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const secrets = [
  CANARY,
  Buffer.from(CANARY).toString('base64'),
  Buffer.from(`\0alice\0${CANARY}`).toString('base64'),
];

describe('postmaster transcripts (notify class protocol)', () => {
  it('garbage and 502 at RCPT: one notice with Out:/In: lines, AUTH masked, no password', async () => {
    s = await scene(zone);
    const peer = await s.peer(1, { auth: { users: { alice: CANARY } }, script: { rcpt: garbageAtRcpt } });
    const { agent } = s.agent(opts);
    const result = await agent.deliver(request());
    expect(rcpt(result, 0).status).toBe('sent');
    expect(rcpt(result, 1).status).toBe('bounced');
    expect(peer.commands.some((c) => /^AUTH\b/i.test(c.line))).toBe(true);
    expect(result.notices).toHaveLength(1);
    const n = result.notices?.[0];
    expect(n?.server).toBe(`mx1.example.test[${s.addr(1)}]:25`);
    expect(n?.classes).toEqual(['protocol']);
    expect(n?.protocol).toBe('smtp');
    const lines = n?.lines ?? [];
    expect(lines[0]).toMatch(/^In: {2}220 /);
    expect(lines).toContain('Out: MAIL FROM:<s@client.test>');
    expect(lines).toContain('Out: RCPT TO:<b@example.test>');
    expect(lines).toContain('In:  this is not smtp');
    expect(lines).toContain('In:  502 5.5.2 huh');
    expect(lines.some((l) => /^Out: AUTH /i.test(l))).toBe(true);
    expect(lines.filter((l) => /^Out: AUTH /i.test(l)).every((l) => /^Out: AUTH \S+( \*{5})?$/.test(l))).toBe(
      true,
    );
    const all = lines.join('\n');
    for (const secret of secrets) expect(all).not.toContain(secret);
  });

  it('without protocol in notifyClasses (default resource, software): no notice', async () => {
    s = await scene(zone);
    await s.peer(1, { auth: { users: { alice: CANARY } }, script: { rcpt: garbageAtRcpt } });
    const { agent } = s.agent({ ...opts, notifyClasses: ['resource', 'software'] });
    const result = await agent.deliver(request());
    expect(rcpt(result, 1).status).toBe('bounced');
    expect(result.notices).toBeUndefined();
  });

  it('never while delivering a notification (null or double-bounce sender)', async () => {
    s = await scene(zone);
    await s.peer(1, { script: { rcpt: garbageAtRcpt } });
    const { agent } = s.agent(opts);
    for (const sender of ['', 'double-bounce@client.test']) {
      const result = await agent.deliver(request({ sender }));
      expect(rcpt(result, 1).status).toBe('bounced');
      expect(result.notices).toBeUndefined();
    }
  });

  it('an ordinary 550 is no protocol error: no notice', async () => {
    s = await scene(zone);
    await s.peer(1, { script: { rcpt: (a) => (a.startsWith('b@') ? '550 5.1.1 unknown user' : undefined) } });
    const { agent } = s.agent(opts);
    const result = await agent.deliver(request());
    expect(rcpt(result, 1).status).toBe('bounced');
    expect(result.notices).toBeUndefined();
  });

  it('a 502 to MAIL FROM: the session notice names the failed command', async () => {
    s = await scene(zone);
    await s.peer(1, { script: { mail: '502 5.5.1 MAIL not understood' } });
    const { agent } = s.agent(opts);
    const result = await agent.deliver(request());
    expect(rcpt(result, 0).status).toBe('bounced');
    expect(result.notices).toHaveLength(1);
    expect(result.notices?.[0]?.lines).toContain('In:  502 5.5.1 MAIL not understood');
  });
});
