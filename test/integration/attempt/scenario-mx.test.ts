/** Spec §14 scenarios about MX order, limits and per-stage replies (1, 2, 7-10, 12, 13, 15-18, 20-23, 43, 51). */
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../support/wait.ts';
import type { Scene } from './harness.ts';
import { message, order, rcpt, request, scene } from './harness.ts';

const mxZone = (n: number) => (addr: (n: number) => string) => {
  const zone: Record<string, { MX?: Array<[number, string]>; A?: string[] }> = {
    'example.test': {
      MX: Array.from({ length: n }, (_, i) => [10 * (i + 1), `mx${i + 1}.example.test`] as [number, string]),
    },
  };
  for (let i = 1; i <= n; i++) zone[`mx${i}.example.test`] = { A: [addr(i)] };
  return zone;
};

let s: Scene | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

describe('scenarios: MX walk', () => {
  it('1: MX 10 mx1, all 250 → sent via mx1', async () => {
    s = await scene(mxZone(1));
    const p = await s.peer(1);
    const { agent, logs } = s.agent();
    const r = await agent.deliver(request());
    expect(order(r)).toEqual([`mx1.example.test[${s.addr(1)}]`]);
    for (const i of [0, 1]) {
      expect(rcpt(r, i)).toMatchObject({
        status: 'sent',
        dsn: '2.0.0',
        relay: `mx1.example.test[${s.addr(1)}]:25`,
      });
      expect(rcpt(r, i).diagnostic).toMatch(/^250 /);
    }
    expect(p.messages).toHaveLength(1);
    expect(
      logs().some((l) => l.startsWith(`QID1: to=<a@example.test>, relay=mx1.example.test[${s?.addr(1)}]:25`)),
    ).toBe(true);
  });

  it('2: no MX, A record → sent via the domain address', async () => {
    s = await scene((addr) => ({ 'example.test': { A: [addr(7)] } }));
    await s.peer(7);
    const r = await s.agent().agent.deliver(request());
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent', relay: `example.test[${s.addr(7)}]:25` });
  });

  it('7: mx1 refuses TCP, mx2 accepts', async () => {
    s = await scene(mxZone(2));
    await s.peer(2);
    const { agent, logs } = s.agent();
    const r = await agent.deliver(request());
    expect(order(r)).toEqual([`mx1.example.test[${s.addr(1)}]`, `mx2.example.test[${s.addr(2)}]`]);
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent', relay: `mx2.example.test[${s.addr(2)}]:25` });
    expect(logs()).toContain(`connect to mx1.example.test[${s.addr(1)}]:25: Connection refused`);
  });

  it('8: both refuse → deferred 4.4.1 (mx2 text), relay=none, throttle', async () => {
    s = await scene(mxZone(2));
    const r = await s.agent().agent.deliver(request());
    expect(order(r)).toEqual([`mx1.example.test[${s.addr(1)}]`, `mx2.example.test[${s.addr(2)}]`]);
    expect(rcpt(r, 1)).toMatchObject({
      status: 'deferred',
      dsn: '4.4.1',
      relay: 'none',
      diagnostic: `connect to mx2.example.test[${s.addr(2)}]:25: Connection refused`,
    });
    expect(r.hopStatus?.status).toBe('4.4.1');
  });

  it('9: six MX all refuse → only mx1..mx5 tried', async () => {
    s = await scene(mxZone(6));
    const r = await s.agent().agent.deliver(request());
    expect(order(r)).toEqual([1, 2, 3, 4, 5].map((i) => `mx${i}.example.test[${s?.addr(i)}]`));
    expect(rcpt(r, 0)).toMatchObject({
      status: 'deferred',
      dsn: '4.4.1',
      relay: 'none',
      diagnostic: `connect to mx5.example.test[${s.addr(5)}]:25: Connection refused`,
    });
  });

  it('10: RCPT 451 everywhere → mx1, mx2 (session limit), deferred 4.7.1 relay=mx2, no throttle', async () => {
    s = await scene(mxZone(3));
    for (const i of [1, 2, 3]) await s.peer(i, { script: { rcpt: '451 4.7.1 later' } });
    const r = await s.agent().agent.deliver(request());
    expect(order(r)).toEqual([`mx1.example.test[${s.addr(1)}]`, `mx2.example.test[${s.addr(2)}]`]);
    expect(rcpt(r, 0)).toMatchObject({
      status: 'deferred',
      dsn: '4.7.1',
      relay: `mx2.example.test[${s.addr(2)}]:25`,
      diagnostic: `host mx2.example.test[${s.addr(2)}] said: 451 4.7.1 later (in reply to RCPT TO command)`,
    });
    expect(r.hopStatus).toBeUndefined();
    expect(s.peers[2]?.connections).toBe(0);
  });

  it('12: greeting 554 with smtpSkip5xxGreeting=no → bounced 5.7.1 at mx1 only', async () => {
    s = await scene(mxZone(2));
    await s.peer(1, { script: { greeting: '554 5.7.1 no' } });
    await s.peer(2);
    const r = await s.agent({ smtpSkip5xxGreeting: false }).agent.deliver(request());
    expect(order(r)).toEqual([`mx1.example.test[${s.addr(1)}]`]);
    expect(rcpt(r, 0)).toMatchObject({
      status: 'bounced',
      dsn: '5.7.1',
      relay: `mx1.example.test[${s.addr(1)}]:25`,
      diagnostic: `host mx1.example.test[${s.addr(1)}] refused to talk to me: 554 5.7.1 no`,
    });
    expect(r.hopStatus).toBeUndefined();
    expect(s.peers[1]?.connections).toBe(0);
  });

  it('13: RCPT a 550, b 250 → a bounced, b sent, mx2 never contacted', async () => {
    s = await scene(mxZone(2));
    await s.peer(1, { script: { rcpt: (a) => (a.startsWith('a@') ? '550 5.1.1 unknown' : undefined) } });
    const p2 = await s.peer(2);
    const r = await s.agent().agent.deliver(request());
    expect(order(r)).toEqual([`mx1.example.test[${s.addr(1)}]`]);
    expect(rcpt(r, 0)).toMatchObject({
      status: 'bounced',
      dsn: '5.1.1',
      relay: `mx1.example.test[${s.addr(1)}]:25`,
      diagnostic: `host mx1.example.test[${s.addr(1)}] said: 550 5.1.1 unknown (in reply to RCPT TO command)`,
    });
    expect(rcpt(r, 1)).toMatchObject({
      status: 'sent',
      dsn: '2.0.0',
      relay: `mx1.example.test[${s.addr(1)}]:25`,
    });
    expect(p2.connections).toBe(0);
  });

  it('15: mx1 MAIL 451 → sent via mx2', async () => {
    s = await scene(mxZone(2));
    await s.peer(1, { script: { mail: '451 4.3.0 busy' } });
    await s.peer(2);
    const r = await s.agent().agent.deliver(request());
    expect(order(r)).toEqual([`mx1.example.test[${s.addr(1)}]`, `mx2.example.test[${s.addr(2)}]`]);
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent', relay: `mx2.example.test[${s.addr(2)}]:25` });
  });

  it('16: MAIL 553 → bounced 5.7.1 (in reply to MAIL FROM command)', async () => {
    s = await scene(mxZone(1));
    const p = await s.peer(1, { script: { mail: '553 5.7.1 sender rejected' } });
    const r = await s.agent().agent.deliver(request());
    expect(rcpt(r, 0)).toMatchObject({
      status: 'bounced',
      dsn: '5.7.1',
      relay: `mx1.example.test[${s.addr(1)}]:25`,
      diagnostic: `host mx1.example.test[${s.addr(1)}] said: 553 5.7.1 sender rejected (in reply to MAIL FROM command)`,
    });
    expect(r.hopStatus).toBeUndefined();
    // QUIT's reply is not awaited (smtp_skip_quit_response), so wait for the peer to log it.
    const lines = await until('QUIT at mx1', async () =>
      p.commands.some((c) => c.line === 'QUIT') ? p.commands.map((c) => c.line) : undefined,
    );
    expect(lines.slice(1).map((l) => l.split(':')[0])).toEqual([
      'MAIL FROM',
      'RCPT TO',
      'RCPT TO',
      'DATA',
      'RSET',
      'QUIT',
    ]);
  });

  it('17: end-of-data 452 → deferred 4.3.1, relay=mx1, no throttle', async () => {
    s = await scene(mxZone(1));
    await s.peer(1, { script: { dataDone: '452 4.3.1 full' } });
    const r = await s.agent().agent.deliver(request());
    expect(rcpt(r, 0)).toMatchObject({
      status: 'deferred',
      dsn: '4.3.1',
      relay: `mx1.example.test[${s.addr(1)}]:25`,
      diagnostic: `host mx1.example.test[${s.addr(1)}] said: 452 4.3.1 full (in reply to end of DATA command)`,
    });
    expect(r.hopStatus).toBeUndefined();
  });

  it('18: lost connection after the final dot → deferred 4.4.2, throttle', async () => {
    s = await scene(mxZone(1));
    await s.peer(1, { script: { disconnectAt: 'dot' } });
    const r = await s.agent().agent.deliver(request());
    expect(rcpt(r, 0)).toMatchObject({
      status: 'deferred',
      dsn: '4.4.2',
      relay: `mx1.example.test[${s.addr(1)}]:25`,
      diagnostic: `lost connection with mx1.example.test[${s.addr(1)}] while sending end of data -- message may be sent more than once`,
    });
    expect(r.hopStatus?.status).toBe('4.4.2');
  });

  it('20: EHLO 502, HELO 250, no PIPELINING → sent', async () => {
    s = await scene(mxZone(1));
    const p = await s.peer(1, { script: { ehlo: '502 5.5.1 no EHLO' }, hidePipelining: true });
    const r = await s.agent().agent.deliver(request());
    expect(rcpt(r, 0).status).toBe('sent');
    expect(p.commands.some((c) => c.line.startsWith('HELO '))).toBe(true);
  });

  it('21: mx1 EHLO 421 → sent via mx2; mx1 never received HELO', async () => {
    s = await scene(mxZone(2));
    const p1 = await s.peer(1, { script: { ehlo: '421 4.3.2 bye' } });
    await s.peer(2);
    const r = await s.agent().agent.deliver(request());
    expect(order(r)).toEqual([`mx1.example.test[${s.addr(1)}]`, `mx2.example.test[${s.addr(2)}]`]);
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent', relay: `mx2.example.test[${s.addr(2)}]:25` });
    expect(p1.commands.some((c) => c.line.startsWith('HELO'))).toBe(false);
  });

  it('22: mx1 EHLO 502, HELO 550 → bounced 5.0.0, mx2 untouched', async () => {
    s = await scene(mxZone(2));
    await s.peer(1, { script: { ehlo: '502 no', helo: '550 denied' } });
    const p2 = await s.peer(2);
    const r = await s.agent().agent.deliver(request());
    expect(order(r)).toEqual([`mx1.example.test[${s.addr(1)}]`]);
    expect(rcpt(r, 0)).toMatchObject({
      status: 'bounced',
      dsn: '5.0.0',
      relay: `mx1.example.test[${s.addr(1)}]:25`,
      diagnostic: `host mx1.example.test[${s.addr(1)}] refused to talk to me: 550 denied`,
    });
    expect(r.hopStatus).toBeUndefined();
    expect(p2.connections).toBe(0);
  });

  it('23: SIZE 1000 and a 5 kB message → bounced 5.3.4, no MAIL, mx2 untouched', async () => {
    s = await scene(mxZone(2));
    const p1 = await s.peer(1, { size: 1000 });
    const p2 = await s.peer(2);
    const body = message('x'.repeat(5000));
    const r = await s.agent().agent.deliver(request({ message: body, size: body.length }));
    expect(order(r)).toEqual([`mx1.example.test[${s.addr(1)}]`]);
    expect(rcpt(r, 0)).toMatchObject({
      status: 'bounced',
      dsn: '5.3.4',
      relay: `mx1.example.test[${s.addr(1)}]:25`,
      diagnostic: `message size ${body.length} exceeds size limit 1000 of server mx1.example.test[${s.addr(1)}]`,
    });
    expect(p1.commands.some((c) => c.line.startsWith('MAIL'))).toBe(false);
    expect(p2.connections).toBe(0);
  });

  it('43: RCPT 550 without an enhanced code → bounced 5.0.0', async () => {
    s = await scene(mxZone(1));
    await s.peer(1, { script: { rcpt: '550 No such user' } });
    const r = await s.agent().agent.deliver(request());
    expect(rcpt(r, 0)).toMatchObject({
      status: 'bounced',
      dsn: '5.0.0',
      relay: `mx1.example.test[${s.addr(1)}]:25`,
      diagnostic: `host mx1.example.test[${s.addr(1)}] said: 550 No such user (in reply to RCPT TO command)`,
    });
  });

  it('51: soft_bounce with RCPT 550 5.1.1 → deferred 4.1.1, status=SOFTBOUNCE', async () => {
    s = await scene(mxZone(1));
    await s.peer(1, { script: { rcpt: '550 5.1.1 unknown' } });
    const { agent, logs } = s.agent({ softBounce: true });
    const r = await agent.deliver(request());
    expect(rcpt(r, 0)).toMatchObject({
      status: 'deferred',
      dsn: '4.1.1',
      softBounce: true,
      relay: `mx1.example.test[${s.addr(1)}]:25`,
      diagnostic: `host mx1.example.test[${s.addr(1)}] said: 550 5.1.1 unknown (in reply to RCPT TO command)`,
    });
    expect(r.hopStatus).toBeUndefined();
    expect(
      logs().some((l) =>
        l.endsWith(
          `dsn=4.1.1, status=SOFTBOUNCE (host mx1.example.test[${s?.addr(1)}] said: 550 5.1.1 unknown (in reply to RCPT TO command))`,
        ),
      ),
    ).toBe(true);
  });
});
