/**
 * A TCP proxy on loopback that delays every chunk by `delayMs` in each direction: a receiving
 * server "far away" (10 ms each way = 20 ms round trip) for benchmarks (bench/pool-sharing.ts,
 * bench/postfix-compare).
 *
 * Decides: per accepted connection one upstream connection to the target; each chunk read on one
 * side is written to the other `delayMs` later (timers of equal delay fire in order, so bytes keep
 * their order; writes are not coalesced, so one client write stays one delayed segment); an end is
 * passed on after the same delay, an error destroys the other side. Counts accepted connections.
 * Never: listens off the host it is given, reads or changes the bytes, applies back-pressure.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface DelayingProxy {
  server: Server;
  host: string;
  port: number;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

export async function startDelayingProxy(p: {
  host: string;
  /** 0: any free port. */
  port: number;
  target: { host: string; port: number };
  delayMs: number;
}): Promise<DelayingProxy> {
  const open = new Set<Socket>();
  let accepted = 0;
  const relay = (from: Socket, to: Socket): void => {
    from.on('data', (d) => setTimeout(() => to.write(d), p.delayMs));
    from.on('end', () => setTimeout(() => to.end(), p.delayMs));
    from.on('error', () => to.destroy());
    from.on('close', () => setTimeout(() => to.destroy(), p.delayMs + 5));
  };
  const server = createServer((down) => {
    accepted += 1;
    const up = connect(p.target.port, p.target.host);
    for (const s of [down, up]) {
      s.setNoDelay(true);
      open.add(s);
      s.once('close', () => open.delete(s));
    }
    relay(down, up);
    relay(up, down);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(p.port, p.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : p.port;
  return {
    server,
    host: p.host,
    port,
    connections: () => accepted,
    async close() {
      for (const s of open) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
