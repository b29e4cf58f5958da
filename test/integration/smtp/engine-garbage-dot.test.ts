/**
 * A malformed reply to the final dot, with QUIT pipelined behind it (spec §5.3): the well-formed
 * reply that follows the garbage may be QUIT's, so it never becomes the delivery result. Real
 * sockets: a raw server that answers the dot with garbage, then QUIT with 221 (or Haraka's 503).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { closeRawServers, openSession, rawServer, txRequest } from './engine-fixtures.ts';

afterEach(() => closeRawServers());

/** A pipelining server: garbage instead of the end-of-data reply, then `quitReply` to QUIT. */
function garbageServer(quitReply: string, dotReply = 'garbage-not-a-reply') {
  let inData = false;
  return rawServer((line, sock) => {
    if (inData) {
      if (line === '.') {
        inData = false;
        sock.write(`${dotReply}\r\n`);
      }
      return;
    }
    const verb = line.slice(0, 4).toUpperCase();
    if (verb === 'EHLO') sock.write('250-raw.example.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n');
    else if (verb === 'DATA') {
      inData = true;
      sock.write('354 go ahead\r\n');
    } else if (verb === 'QUIT') sock.end(`${quitReply}\r\n`);
    else sock.write('250 2.1.0 ok\r\n');
  });
}

describe('garbage instead of the end-of-data reply, QUIT pipelined behind the dot', () => {
  for (const quit of ['221 2.0.0 bye', '503 5.5.1 Invalid command: pipelining after QUIT']) {
    it(`"garbage" then "${quit}" (the QUIT reply) is neither sent nor bounced: deferred 4.5.0, with a warning`, async () => {
      const srv = await garbageServer(quit);
      const o = await openSession(srv);
      if (!o.ok) throw new Error(o.failure.text);
      const res = await o.session.transaction(txRequest({ quitAfterData: true }));
      const r = res.recipients[0];
      expect(r?.ok).toBe(false);
      if (r === undefined || r.ok) return;
      expect(r.failure.status).toBe('4.5.0');
      expect(r.failure.text).toContain('sent a malformed reply to end of DATA: garbage-not-a-reply');
      expect(r.failure.text).not.toMatch(/said: garbage/);
      expect(o.lines).toContain('I: warning: non-ESMTP response: garbage-not-a-reply');
      expect(res.reusable).toBe(false);
      o.session.close();
    });
  }

  it('without QUIT behind the dot, garbage then "250" is taken as Postfix does, with the warning', async () => {
    const srv = await garbageServer('221 bye', 'garbage-first\r\n250 2.0.0 queued');
    const o = await openSession(srv);
    if (!o.ok) throw new Error(o.failure.text);
    const res = await o.session.transaction(txRequest({ quitAfterData: false }));
    expect(res.recipients[0]?.ok).toBe(true);
    expect(o.lines).toContain('I: warning: non-ESMTP response: garbage-first');
    o.session.close();
  });
});
