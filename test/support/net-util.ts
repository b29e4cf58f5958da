/**
 * Small socket helpers shared by the test support modules: a free TCP port and "wait until it
 * accepts connections". Never: talks to anything but the given local address or socket path.
 */
import { connect, createServer } from 'node:net';

/** A port that was free a moment ago on `host` (the OS picked it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const a = srv.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function tryConnect(target: { host: string; port: number } | { path: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(target);
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Poll (every 20 ms, bounded by timeoutMs) until a connection succeeds; throws otherwise. */
export async function waitForListen(
  target: { host: string; port: number } | { path: string },
  timeoutMs = 10_000,
  alive: () => boolean = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`process exited before listening on ${JSON.stringify(target)}`);
    if (await tryConnect(target)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`nothing listening on ${JSON.stringify(target)} after ${timeoutMs} ms`);
}
