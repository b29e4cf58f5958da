/**
 * The chaos suite's fault server: a small raw SMTP (or LMTP) server whose behaviour each
 * recipient's local part selects, in the spirit of KumoMTA's magic addresses, and which counts
 * what it received per recipient (the reconciling checker's ground truth).
 *
 * Local-part prefixes (before the first '-'), applied per recipient address:
 *  - `dropdotN`: the first N transactions that carry this recipient are received whole, then the
 *    connection is closed after the final dot without a reply (the RFC 1047 window). Counted as a
 *    copy AND as a drop: a correct client defers and sends again, so copies == 1 + drops.
 *  - `slowdotN`: the reply after the final dot comes N seconds late (default 3) (a delivery in flight).
 *  - `rcptreject`: RCPT gets 550 5.1.1 (bounce). `rcptdeferN`: RCPT gets 452 4.2.2 the first N times.
 *  - `lmtpdefer`, `lmtpreject` (LMTP only): the per-recipient reply after DATA is 452 / 550.
 *  - `lmtpcut` (LMTP only): the connection closes before this recipient's DATA reply (and those
 *    after it).
 *  - anything else: accepted.
 * Connection-level faults (`setMode`): `normal`, `silent` (accept, never greet), `trickle` (greet
 * one byte every `trickleMs`), `close421:<stage>` (421 at greeting/ehlo/mail/rcpt/data/dot),
 * `reset:<bytes>` (RST after reading that many bytes of the session).
 * Records: copies and drops per recipient, DSNs received (by Final-Recipient), connections,
 * plaintext commands (for transcripts).
 * Never: relays mail, listens beyond the given loopback address, or keeps message bodies beyond
 * the DSN parts it parses.
 */
import { createServer, type Server, type Socket } from 'node:net';

export type FaultMode =
  | 'normal'
  | 'silent'
  | 'trickle'
  | `close421:${'greeting' | 'ehlo' | 'mail' | 'rcpt' | 'data' | 'dot'}`
  | `reset:${number}`;

export interface FaultPeer {
  host: string;
  port: number;
  connections: number;
  /** Transactions received whole (final dot seen), per recipient address. */
  copies: Map<string, number>;
  /** Replies dropped after the final dot, per recipient address. */
  drops: Map<string, number>;
  /** DSNs received: Final-Recipient address → count. */
  dsns: Map<string, number>;
  /** The first 400 lines of each DSN received (at most 100 kept). */
  dsnTexts: string[];
  /** Every command line, in order (no bodies). */
  commands: string[];
  /** When each command arrived (ms since epoch), parallel to `commands`. */
  commandTimes: number[];
  setMode(m: FaultMode): void;
  stop(): Promise<void>;
}

const count = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

function fault(address: string): { kind: string; n: number } {
  const local = address.slice(0, address.lastIndexOf('@')).toLowerCase();
  const m = /^([a-z]+?)(\d*)-/.exec(local);
  if (m === null) return { kind: 'ok', n: 0 };
  return { kind: m[1] ?? 'ok', n: m[2] === '' ? 1 : Number(m[2]) };
}

function addressOf(line: string): string {
  const m = /<([^>]*)>/.exec(line);
  return m?.[1] ?? '';
}

export async function startFaultPeer(opts: {
  host: string;
  port?: number;
  lmtp?: boolean;
  trickleMs?: number;
}): Promise<FaultPeer> {
  const copies = new Map<string, number>();
  const drops = new Map<string, number>();
  const dsns = new Map<string, number>();
  const dsnTexts: string[] = [];
  const r452Seen = new Map<string, number>();
  const commands: string[] = [];
  const commandTimes: number[] = [];
  const sockets = new Set<Socket>();
  let mode: FaultMode = 'normal';
  const peer: FaultPeer = {
    host: opts.host,
    port: 0,
    connections: 0,
    copies,
    drops,
    dsns,
    dsnTexts,
    commands,
    commandTimes,
    setMode(m) {
      mode = m;
    },
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };

  const session = (sock: Socket) => {
    peer.connections++;
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    const connMode = mode;
    let closing = false;
    const write = (s: string) => {
      if (!sock.destroyed) sock.write(s);
    };
    const close421 = (stage: string) => {
      if (connMode === `close421:${stage}`) {
        write('421 4.3.2 fault.test closing: chaos\r\n');
        closing = true;
        sock.end();
        return true;
      }
      return false;
    };
    if (connMode === 'silent') return;
    if (connMode === 'trickle') {
      const text = '220 fault.test ESMTP\r\n';
      let i = 0;
      const t = setInterval(() => {
        if (sock.destroyed || i >= text.length) return clearInterval(t);
        write(text[i++] ?? '');
      }, opts.trickleMs ?? 500);
      sock.on('close', () => clearInterval(t));
      return;
    }
    const resetAt = connMode.startsWith('reset:') ? Number(connMode.slice(6)) : -1;
    let readBytes = 0;
    if (close421('greeting')) return;
    write(`220 fault.test ${opts.lmtp ? 'LMTP' : 'ESMTP'}\r\n`);
    let buf = '';
    let inData = false;
    let body: string[] = [];
    let rcpts: string[] = [];
    const onDot = () => {
      inData = false;
      for (const r of rcpts) count(copies, r);
      const text = body.join('\r\n');
      body = [];
      for (const m of text.matchAll(/^Final-Recipient:\s*rfc822;\s*(\S+)/gim)) count(dsns, m[1] ?? '');
      if (/^Final-Recipient:/im.test(text) && dsnTexts.length < 100) dsnTexts.push(text);
      if (close421('dot')) return;
      const dropper = rcpts.find((r) => {
        const f = fault(r);
        return f.kind === 'dropdot' && (drops.get(r) ?? 0) < f.n;
      });
      if (dropper !== undefined) {
        for (const r of rcpts) count(drops, r);
        sock.destroy();
        return;
      }
      const slow = rcpts.map(fault).find((f) => f.kind === 'slowdot');
      if (!opts.lmtp && slow !== undefined) {
        setTimeout(() => write('250 2.0.0 Ok: queued\r\n'), (slow.n === 1 ? 3 : slow.n) * 1000);
      } else if (!opts.lmtp) {
        write('250 2.0.0 Ok: queued\r\n');
      } else {
        for (const r of rcpts) {
          const f = fault(r).kind;
          if (f === 'lmtpcut') {
            sock.destroy();
            return;
          }
          write(
            f === 'lmtpdefer'
              ? '452 4.2.2 mailbox full\r\n'
              : f === 'lmtpreject'
                ? '550 5.1.1 no such user\r\n'
                : '250 2.0.0 Ok\r\n',
          );
        }
      }
      rcpts = [];
    };
    const command = (line: string) => {
      commands.push(line);
      commandTimes.push(Date.now());
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === 'EHLO' || verb === 'LHLO' || verb === 'HELO') {
        if (close421('ehlo')) return;
        write(
          '250-fault.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 SIZE 20000000\r\n',
        );
      } else if (verb === 'MAIL') {
        if (close421('mail')) return;
        rcpts = [];
        write('250 2.1.0 Ok\r\n');
      } else if (verb === 'RCPT') {
        if (close421('rcpt')) return;
        const a = addressOf(line);
        const f = fault(a);
        if (f.kind === 'rcptreject') write('550 5.1.1 no such user\r\n');
        else if (f.kind === 'rcptdefer' && (r452Seen.get(a) ?? 0) < f.n) {
          count(r452Seen, a);
          write('452 4.2.2 try later\r\n');
        } else {
          rcpts.push(a);
          write('250 2.1.5 Ok\r\n');
        }
      } else if (verb === 'DATA') {
        if (close421('data')) return;
        if (rcpts.length === 0) write('554 5.5.1 no valid recipients\r\n');
        else {
          inData = true;
          write('354 End data with <CR><LF>.<CR><LF>\r\n');
        }
      } else if (verb === 'RSET') {
        rcpts = [];
        write('250 2.0.0 Ok\r\n');
      } else if (verb === 'NOOP') write('250 2.0.0 Ok\r\n');
      else if (verb === 'QUIT') {
        write('221 2.0.0 Bye\r\n');
        sock.end();
      } else write('502 5.5.2 command not recognized\r\n');
    };
    sock.on('data', (d: Buffer) => {
      readBytes += d.length;
      if (resetAt >= 0 && readBytes >= resetAt) {
        sock.resetAndDestroy();
        return;
      }
      buf += d.toString('latin1');
      for (let nl = buf.indexOf('\r\n'); nl >= 0 && !sock.destroyed && !closing; nl = buf.indexOf('\r\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (inData) {
          if (line === '.') onDot();
          else if (body.length < 400) body.push(line);
        } else command(line);
      }
    });
  };

  const server: Server = createServer(session);
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, opts.host, () => done());
  });
  const addr = server.address();
  peer.port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return peer;
}
