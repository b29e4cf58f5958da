/**
 * G17: reply bombs against a real delivery agent: a 10 MB greeting line, 100,000 EHLO keywords
 * (~1.7 MB multi-line reply) and an endless multi-line RCPT reply. As Postfix's smtp_chat_resp(),
 * over-long lines are cut at 2048 bytes and multi-line text is kept up to 2048 bytes: the first
 * two deliver, the endless one is ended by the RCPT stage deadline and deferred (4.4.2). Process
 * memory stays bounded (growth well under the bytes the servers sent).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Scene } from '../integration/attempt/harness.ts';
import { rcpt, request, scene } from '../integration/attempt/harness.ts';

type Bomb = 'greeting' | 'ehlo' | 'rcpt';
let s: Scene;
const servers: Server[] = [];
const sockets = new Set<Socket>();

function bombServer(host: string, bomb: Bomb): Promise<Server> {
  const srv = createServer((sock: Socket) => {
    sock.on('error', () => {});
    const send = (text: string) => {
      if (!sock.destroyed) sock.write(text);
    };
    if (bomb === 'greeting') {
      for (let i = 0; i < 10; i++) send('220-'.padEnd(1_000_000, 'g'));
      send('\r\n220 bomb.test ESMTP\r\n');
    } else send('220 bomb.test ESMTP\r\n');
    let buf = '';
    let data = false;
    let bombing = false;
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let nl = buf.indexOf('\r\n'); nl >= 0; nl = buf.indexOf('\r\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (data) {
          if (line === '.') {
            data = false;
            send('250 2.0.0 queued\r\n');
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (bombing) continue; // the endless reply owns the connection
        if (verb === 'EHLO') {
          if (bomb === 'ehlo') {
            const kw: string[] = [];
            for (let i = 0; i < 100_000; i++) kw.push(`250-X-KEYWORD-${i}\r\n`);
            send(kw.join(''));
          }
          send('250-bomb.test\r\n250 PIPELINING\r\n');
        } else if (verb === 'RCPT' && bomb === 'rcpt') {
          bombing = true;
          const chunk = '250-endless endless endless endless endless endless\r\n'.repeat(500);
          let n = 0;
          const pump = (): void => {
            if (sock.destroyed || n++ > 200) return;
            sock.write(chunk, () => setImmediate(pump));
          };
          pump();
        } else if (verb === 'DATA') {
          data = true;
          send('354 go\r\n');
        } else if (verb === 'QUIT') {
          send('221 bye\r\n');
          sock.end();
        } else send('250 2.0.0 ok\r\n');
      }
    });
  });
  servers.push(srv);
  srv.on('connection', (c) => sockets.add(c));
  return new Promise((done) => srv.listen(25, host, () => done(srv)));
}

beforeAll(async () => {
  s = await scene((addr) => ({
    'greeting.test': { A: [addr(1)] },
    'ehlo.test': { A: [addr(2)] },
    'rcpt.test': { A: [addr(3)] },
  }));
  await bombServer(s.addr(1), 'greeting');
  await bombServer(s.addr(2), 'ehlo');
  await bombServer(s.addr(3), 'rcpt');
});
afterAll(async () => {
  for (const c of sockets) c.destroy();
  for (const srv of servers) await new Promise((r) => srv.close(() => r(undefined)));
  await s?.close();
});

const to = (domain: string) => request({ recipients: [{ address: `a@${domain}` }], nexthop: domain });

it('G17: a 10 MB greeting line and 100,000 EHLO keywords still deliver; memory stays bounded', async () => {
  const { agent, logs } = s.agent({ smtpRcptTimeout: '3s' });
  const before = process.memoryUsage().rss;
  const g = await agent.deliver(to('greeting.test'));
  const e = await agent.deliver(to('ehlo.test'));
  const growthMb = (process.memoryUsage().rss - before) / 1e6;
  process.stdout.write(
    `chaos: G17 reply bombs: rss growth ${growthMb.toFixed(1)} MB for ~11.7 MB of replies\n`,
  );
  expect(rcpt(g, 0)).toMatchObject({ status: 'sent' });
  expect(rcpt(e, 0)).toMatchObject({ status: 'sent' });
  expect(logs().some((l) => /response longer than 2048/.test(l))).toBe(true);
  expect(logs().some((l) => /multi-line response longer than 2048/.test(l))).toBe(true);
  expect(growthMb).toBeLessThan(96);
}, 60_000);

it('G17: an endless multi-line reply is ended by the stage deadline and deferred', async () => {
  const { agent } = s.agent({ smtpRcptTimeout: '2s' });
  const t0 = Date.now();
  const r = await agent.deliver(to('rcpt.test'));
  process.stdout.write(`chaos: G17 endless reply ended after ${Date.now() - t0} ms\n`);
  expect(rcpt(r, 0)).toMatchObject({ status: 'deferred', dsn: '4.4.2' });
  expect(rcpt(r, 0).diagnostic).toMatch(/timed out while sending RCPT TO/);
}, 60_000);
