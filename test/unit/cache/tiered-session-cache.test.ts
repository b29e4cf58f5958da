/**
 * The worker's two-tier SessionCache and the IPC client of the host tier, with a scripted channel:
 * where sessions go (plaintext → host, TLS → local, a busy label's sessions → local), lookup order,
 * request ids, timeouts, late replies, counters.
 */
import type { Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect, it } from 'vitest';
import { createHostCacheClient } from '../../../src/cache/host-cache-client.ts';
import { createLocalSessionCache } from '../../../src/cache/local-session-cache.ts';
import type { ChildMsg } from '../../../src/cache/pool-ipc.ts';
import { createTieredSessionCache } from '../../../src/cache/tiered-session-cache.ts';
import type { SessionState, SmtpSession } from '../../../src/core/ports.ts';

const DEST = 'smtp\n*\none.test\n0\n0\n0\n';
const EP = 'smtp\n*\n*\n*\n127.0.0.1\n25\n0\n0\n0\n';

function fakeSocket(): Socket & { destroyedByTest: boolean } {
  const s = { destroyedByTest: false, write: () => true, destroy: () => undefined };
  s.destroy = () => {
    s.destroyedByTest = true;
  };
  return s as unknown as Socket & { destroyedByTest: boolean };
}

function fakeSession(tls: boolean, n = 0): SmtpSession & { detach(): unknown } {
  const state = {
    tls: { active: tls, level: tls ? 'may' : 'none' },
    reuseCount: n,
  } as unknown as SessionState;
  let closed = false;
  return {
    state,
    transaction: async () => ({ recipients: [], completeSession: true, reusable: true }),
    reset: async () => true,
    quit: async () => undefined,
    close: () => {
      closed = true;
    },
    isUsable: () => !closed,
    detach: () => (tls || closed ? undefined : { socket: fakeSocket(), state: structuredClone(state) }),
  };
}

function channel() {
  const sent: Array<{ msg: ChildMsg; handle?: Socket }> = [];
  return {
    sent,
    ipc: {
      send(msg: ChildMsg, handle?: Socket) {
        sent.push(handle === undefined ? { msg } : { msg, handle });
        return true;
      },
    },
  };
}

it('plaintext sessions go to the host tier, TLS sessions stay local', async () => {
  const ch = channel();
  const host = createHostCacheClient({ ipc: ch.ipc, resume: () => fakeSession(false) });
  const cache = createTieredSessionCache({ local: createLocalSessionCache(), host });
  await cache.put([EP, DEST], fakeSession(false, 3), 2000);
  expect(ch.sent.map((s) => s.msg.t)).toEqual(['cache-put']);
  expect(ch.sent[0]?.msg).toMatchObject({ labels: [EP, DEST], ttlMs: 2000, state: { reuseCount: 3 } });
  expect(ch.sent[0]?.handle).toBeDefined();
  const tls = fakeSession(true);
  await cache.put([EP], tls, 2000);
  expect(ch.sent).toHaveLength(1);
  expect(await cache.take(EP)).toBe(tls);
  expect(cache.counters()).toMatchObject({ storesHost: 1, storesLocal: 1, hitsLocalEndpoint: 1 });
  await cache.close();
});

it('a local miss asks the host tier; a hit resumes the handed-over socket', async () => {
  const ch = channel();
  const resumed = fakeSession(false, 7);
  const host = createHostCacheClient({ ipc: ch.ipc, resume: () => resumed });
  const cache = createTieredSessionCache({ local: createLocalSessionCache(), host });
  const taking = cache.take(DEST);
  await Promise.resolve();
  const req = ch.sent[0]?.msg;
  if (req?.t !== 'cache-take') throw new Error('no take request');
  expect(req.label).toBe(DEST);
  const socket = fakeSocket();
  expect(
    host.onMessage({ t: 'cache-hit', reqId: req.reqId, state: resumed.state, labels: [DEST] }, socket),
  ).toBe(true);
  expect(await taking).toBe(resumed);
  expect(cache.counters()).toMatchObject({ hitsHostDest: 1, misses: 0, handovers: 1 });
  const missing = cache.take(EP);
  await Promise.resolve();
  const req2 = ch.sent[1]?.msg;
  if (req2?.t !== 'cache-take') throw new Error('no take request');
  host.onMessage({ t: 'cache-miss', reqId: req2.reqId }, undefined);
  expect(await missing).toBeUndefined();
  expect(cache.counters().misses).toBe(1);
  await cache.close();
});

it('no reply in time is a miss, and a late hit closes its socket', async () => {
  const ch = channel();
  const host = createHostCacheClient({ ipc: ch.ipc, resume: () => fakeSession(false), replyTimeoutMs: 20 });
  expect(await host.take(EP)).toBeUndefined();
  const req = ch.sent[0]?.msg;
  if (req?.t !== 'cache-take') throw new Error('no take request');
  const late = fakeSocket();
  host.onMessage({ t: 'cache-hit', reqId: req.reqId, state: fakeSession(false).state, labels: [EP] }, late);
  expect(late.destroyedByTest).toBe(true);
  host.close();
});

it('a closed channel loses only the idle session: put closes it, take misses', async () => {
  const host = createHostCacheClient({ ipc: { send: () => false }, resume: () => fakeSession(false) });
  const s = fakeSession(false);
  expect(host.put([EP], s, 2000)).toBe(true);
  expect(await host.take(EP)).toBeUndefined();
});

it('counts a local session that nobody took within its ttl as an expiry', async () => {
  const cache = createTieredSessionCache({ local: createLocalSessionCache() });
  await cache.put([EP], fakeSession(true), 20);
  const taken = fakeSession(true);
  await cache.put([DEST], taken, 10_000);
  expect(await cache.take(DEST)).toBe(taken);
  await new Promise((r) => setTimeout(r, 60));
  expect(cache.counters()).toMatchObject({ expiriesLocal: 1, storesLocal: 2, hitsLocalDest: 1 });
  await cache.close();
});

it('a session given back while another one of its label is in use here stays local; the last goes to the host tier', async () => {
  const ch = channel();
  const host = createHostCacheClient({ ipc: ch.ipc, resume: () => fakeSession(false) });
  const cache = createTieredSessionCache({ local: createLocalSessionCache(), host });
  const takeFromHost = async () => {
    const taking = cache.take(EP);
    await Promise.resolve();
    const req = ch.sent.at(-1)?.msg;
    if (req?.t !== 'cache-take') throw new Error('no take request');
    host.onMessage(
      { t: 'cache-hit', reqId: req.reqId, state: fakeSession(false).state, labels: [EP] },
      fakeSocket(),
    );
    const s = await taking;
    if (s === undefined) throw new Error('no session');
    return s;
  };
  const a = await takeFromHost();
  const b = await takeFromHost();
  expect(ch.sent).toHaveLength(2);
  // b is still in use: a stays in this process, and the next take finds it without asking
  await cache.put([EP], a, 2000);
  expect(ch.sent).toHaveLength(2);
  expect(await cache.take(EP)).toBe(a);
  expect(ch.sent).toHaveLength(2);
  await cache.put([EP], b, 2000);
  expect(ch.sent).toHaveLength(2);
  // a is the last one in use: it goes to the host tier for any process
  await cache.put([EP], a, 2000);
  expect(ch.sent.map((s) => s.msg.t)).toEqual(['cache-take', 'cache-take', 'cache-put']);
  expect(cache.counters()).toMatchObject({
    keptBusy: 2,
    storesLocal: 2,
    storesHost: 1,
    hitsLocalEndpoint: 1,
  });
  await cache.close();
});

it('a session opened here and given back for the first time stays local while another of one of its labels is in use', async () => {
  const ch = channel();
  const host = createHostCacheClient({ ipc: ch.ipc, resume: () => fakeSession(false) });
  const cache = createTieredSessionCache({ local: createLocalSessionCache(), host });
  // one session of the endpoint taken from the host tier and still in use here
  const taking = cache.take(EP);
  await Promise.resolve();
  const req = ch.sent.at(-1)?.msg;
  if (req?.t !== 'cache-take') throw new Error('no take request');
  host.onMessage(
    { t: 'cache-hit', reqId: req.reqId, state: fakeSession(false).state, labels: [EP] },
    fakeSocket(),
  );
  const inUse = await taking;
  if (inUse === undefined) throw new Error('no session');
  // a fresh session (opened here, never taken) stored under the dest and endpoint labels: busy
  const fresh = fakeSession(false);
  await cache.put([DEST, EP], fresh, 2000);
  expect(ch.sent.map((x) => x.msg.t)).toEqual(['cache-take']);
  expect(cache.counters()).toMatchObject({ keptBusy: 1, storesLocal: 1, storesHost: 0 });
  // the one in use comes back: nothing else of its label is in use, so it goes to the host tier
  await cache.put([EP], inUse, 2000);
  expect(ch.sent.map((x) => x.msg.t)).toEqual(['cache-take', 'cache-put']);
  // and a fresh session with nothing of its labels in use goes there too
  await cache.put([DEST, EP], fakeSession(false), 2000);
  expect(ch.sent.map((x) => x.msg.t)).toEqual(['cache-take', 'cache-put', 'cache-put']);
  expect(cache.counters()).toMatchObject({ keptBusy: 1, storesLocal: 1, storesHost: 2 });
  await cache.close();
});

it('a session taken and then closed without being given back is not kept (any later give-back forgets it)', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const cache = createTieredSessionCache({ local: createLocalSessionCache() });
  const ref = await (async () => {
    const s = fakeSession(true);
    await cache.put([DEST], s, 60_000);
    const taken = await cache.take(DEST);
    if (taken !== s) throw new Error('not taken');
    s.close(); // e.g. its RSET probe failed: closed, never given back
    return new WeakRef(s);
  })();
  // another destination's session comes back
  await cache.put([EP], fakeSession(true), 60_000);
  for (let i = 0; i < 20 && ref.deref() !== undefined; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  expect(ref.deref()).toBeUndefined();
  await cache.close();
});
