/**
 * The supervisor's host session cache on real loopback sockets: labels, newest first, idle bytes
 * and EOF discard, expiry, the idle bound, counters.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SessionState } from '../../../src/core/ports.ts';
import { createHostSessionCache } from '../../../src/pool/host-session-cache.ts';
import { until } from '../../support/wait.ts';

let server: Server;
let port = 0;
const accepted: Socket[] = [];

beforeAll(async () => {
  server = createServer((s) => {
    s.on('error', () => undefined);
    accepted.push(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  port = typeof addr === 'object' && addr !== null ? addr.port : 0;
});

afterAll(async () => {
  for (const s of accepted) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

async function pair(): Promise<{ client: Socket; peer: Socket }> {
  const n = accepted.length;
  const client = connect(port, '127.0.0.1');
  client.on('error', () => undefined);
  await new Promise<void>((r) => client.once('connect', () => r()));
  const peer = await until('accepted', async () => accepted[n]);
  return { client, peer };
}

function state(n: number): SessionState {
  return {
    endpoint: { host: 'mx.test', address: '127.0.0.1', port, preference: 10 },
    protocol: 'smtp',
    serverName: `mx${n}`,
    capabilities: {},
    sizeLimit: 0,
    esmtp: true,
    tls: { active: false, level: 'none' },
    authenticated: false,
    reuseCount: n,
    createdAt: 0,
    lastUsedAt: 0,
  } as SessionState;
}

const DEST = 'smtp\n*\none.test\n0\n0\n0\n';
const EP = 'smtp\n*\n*\n*\n127.0.0.1\n25\n0\n0\n0\n';

it('hands out the newest session by either label, once', async () => {
  const cache = createHostSessionCache();
  const a = await pair();
  const b = await pair();
  cache.put([EP, DEST], state(1), a.client, 10_000);
  cache.put([EP], state(2), b.client, 10_000);
  expect(cache.take(EP)?.state.reuseCount).toBe(2);
  const viaDest = cache.take(DEST);
  expect(viaDest?.state.reuseCount).toBe(1);
  expect(cache.take(EP)).toBeUndefined();
  expect(cache.counters()).toMatchObject({ stores: 2, hitsDest: 1, hitsEndpoint: 1, misses: 1 });
  cache.close();
  a.client.destroy();
  b.client.destroy();
});

it('discards a session that received a byte or EOF while idle', async () => {
  const cache = createHostSessionCache();
  const a = await pair();
  const b = await pair();
  cache.put([EP], state(1), a.client, 10_000);
  cache.put([EP], state(2), b.client, 10_000);
  a.peer.write('421 4.4.2 idle timeout\r\n');
  b.peer.end();
  await until('both discarded', async () => (cache.size() === 0 ? true : undefined), 5000);
  expect(cache.take(EP)).toBeUndefined();
  expect(cache.counters().discards).toBe(2);
  expect(a.client.destroyed && b.client.destroyed).toBe(true);
  cache.close();
});

it('expires an idle session after its ttl and keeps at most maxIdle', async () => {
  const cache = createHostSessionCache({ maxIdle: 2 });
  const s = await Promise.all([pair(), pair(), pair()]);
  cache.put([EP], state(1), s[0].client, 100);
  cache.put([EP], state(2), s[1].client, 10_000);
  cache.put([EP], state(3), s[2].client, 10_000);
  expect(cache.size()).toBe(2); // the oldest went first
  expect(s[0].client.destroyed).toBe(true);
  const c = await pair();
  cache.put([DEST], state(4), c.client, 50);
  await until('expired', async () => (c.client.destroyed ? true : undefined), 5000);
  expect(cache.take(DEST)).toBeUndefined();
  expect(cache.counters().expiries).toBeGreaterThanOrEqual(2);
  cache.close();
  expect(s[1].client.destroyed && s[2].client.destroyed).toBe(true);
});
