/**
 * A minimal SMTP sink that records how many connections it holds at once, for destination
 * concurrency tests. Listens on one loopback address.
 *
 * Modes (switchable at runtime): 'accept' (greeting 220, every command 250/354, the final dot
 * answered after `dotDelayMs`), 'refuse' (greeting 421, then close: a handshake failure), 'hang'
 * (accept and never answer). A connection counts as held from accept until QUIT (answered after
 * the final reply of a pending transaction) or close. PIPELINING is offered.
 * Records: `events` in order ('open' with the count after it, 'done' per message accepted,
 * 'refused', 'close' with the count after it), `max` (most held at once), `accepted` messages.
 * Never: parses more SMTP than a client needs to send one message per transaction.
 */
import { createServer, type Server, type Socket } from 'node:net';

export type SinkMode = 'accept' | 'refuse' | 'hang';
export interface SinkEvent {
  kind: 'open' | 'close' | 'done' | 'refused';
  held: number;
}

export interface CountingSink {
  port: number;
  host: string;
  events: SinkEvent[];
  max(): number;
  held(): number;
  accepted(): number;
  setMode(m: SinkMode): void;
  /** Reset `max` (events are kept). */
  resetMax(): void;
  stop(): Promise<void>;
}

export async function startCountingSink(p: {
  host: string;
  port?: number;
  dotDelayMs?: number;
  mode?: SinkMode;
}): Promise<CountingSink> {
  const events: SinkEvent[] = [];
  const sockets = new Set<Socket>();
  const st = { held: 0, max: 0, mode: p.mode ?? 'accept', accepted: 0 };
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    let counted = true;
    st.held++;
    st.max = Math.max(st.max, st.held);
    events.push({ kind: 'open', held: st.held });
    const uncount = () => {
      if (!counted) return;
      counted = false;
      st.held--;
      events.push({ kind: 'close', held: st.held });
    };
    sock.on('close', () => {
      sockets.delete(sock);
      uncount();
    });
    sock.on('error', () => {});
    if (st.mode !== 'accept') sock.resume(); // read (and drop) so that the client's FIN is seen
    if (st.mode === 'hang') return;
    if (st.mode === 'refuse') {
      events.push({ kind: 'refused', held: st.held });
      sock.end('421 4.3.2 sink refuses for now\r\n');
      return;
    }
    sock.write('220 sink.test ESMTP\r\n');
    let buf = '';
    let inData = false;
    const pending = { dot: false, quit: false };
    const quit = () => {
      uncount();
      sock.end('221 2.0.0 Bye\r\n');
    };
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (;;) {
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            pending.dot = true;
            setTimeout(() => {
              pending.dot = false;
              st.accepted++;
              events.push({ kind: 'done', held: st.held });
              if (!sock.destroyed) sock.write('250 2.0.0 Ok: queued\r\n');
              if (pending.quit) quit();
            }, p.dotDelayMs ?? 0);
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') sock.write('250-sink.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n');
        else if (verb === 'DATA') {
          inData = true;
          sock.write('354 go ahead\r\n');
        } else if (verb === 'QUIT') {
          // A QUIT pipelined behind the dot counts once the dot is answered: the client holds
          // its lease until it has that answer, so the count never drops before the lease does.
          if (pending.dot) pending.quit = true;
          else quit();
        } else sock.write('250 2.0.0 Ok\r\n');
      }
    });
  });
  await new Promise<void>((done) => server.listen(p.port ?? 0, p.host, done));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    port,
    host: p.host,
    events,
    max: () => st.max,
    held: () => st.held,
    accepted: () => st.accepted,
    setMode: (m) => {
      st.mode = m;
    },
    resetMax: () => {
      st.max = st.held;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
