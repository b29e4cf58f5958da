import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLocalSessionCache } from '../../../src/cache/local-session-cache.ts';
import { createMemoryNexthopState } from '../../../src/cache/memory-nexthop-state.ts';
import { runAttempt } from '../../../src/core/attempt.ts';
import { endpointKey } from '../../../src/core/endpoint-memory.ts';
import { type DeliveryOptionsInput, resolveOptions } from '../../../src/core/options.ts';
import type { NexthopStateStore } from '../../../src/core/ports.ts';
import type { AttemptRequest } from '../../../src/core/types.ts';
import { fakeClock, memoryLogger, seededRandom } from '../../support/fakes.ts';
import { fakeDns, fakeWorld, type ServerScript, siteFailure, type Zone } from './attempt-fakes.ts';

const zone = (n: number): Zone => {
  const z: Zone = {
    'example.test': {
      MX: Array.from({ length: n }, (_, i) => [10 * (i + 1), `mx${i}.example.test`] as [number, string]),
    },
  };
  for (let i = 0; i < n; i++) z[`mx${i}.example.test`] = { A: [`127.0.2.${i + 1}`] };
  return z;
};
const key = (i: number): string => endpointKey('smtp', { address: `127.0.2.${i + 1}`, port: 25 });

function req(over: Partial<AttemptRequest> = {}): AttemptRequest {
  return {
    queueId: 'Q',
    sender: 's@x.test',
    recipients: [{ address: 'r0@example.test' }],
    nexthop: 'example.test',
    protocol: 'smtp',
    message: Buffer.from('Subject: x\r\n\r\nx\r\n'),
    size: 16,
    arrivalTime: 0,
    ...over,
  };
}

async function attempt(
  scripts: Record<string, ServerScript>,
  store: NexthopStateStore,
  n: number,
  opts: DeliveryOptionsInput = {},
) {
  const clock = fakeClock();
  const world = fakeWorld(scripts, clock.now);
  const result = await runAttempt(
    req({ arrivalTime: clock.now() }),
    {
      dns: fakeDns(zone(n)),
      connector: world.connector,
      cache: createLocalSessionCache(),
      clock,
      random: seededRandom(1),
      logger: memoryLogger(),
      nexthopState: store,
    },
    resolveOptions({
      inetProtocols: 'ipv4',
      smtpRandomizeAddresses: false,
      smtpTlsSecurityLevel: 'none',
      ...opts,
    }),
  );
  return { result, world };
}

describe('the address walk with the cluster tier', () => {
  it('marks a refusing primary dead, binds the next-hop to the backup, and the next attempt connects to the backup only', async () => {
    const store = createMemoryNexthopState({ clock: fakeClock() });
    const scripts = { '127.0.2.1': { refuse: true } };
    const one = await attempt(scripts, store, 2);
    expect(one.world.connects).toEqual(['127.0.2.1', '127.0.2.2']);
    const two = await attempt(scripts, store, 2);
    expect(two.world.connects).toEqual(['127.0.2.2']);
    expect(two.result.servers.map((s) => s.outcome)).toEqual(['skipped-dead', 'delivered']);
    // Marks off: the binding alone still puts the backup first.
    const three = await attempt(scripts, store, 2, { smtpDeadEndpointTime: 0 });
    expect(three.world.connects).toEqual(['127.0.2.2']);
    // Everything off: the primary is tried again.
    const four = await attempt(scripts, store, 2, { smtpDeadEndpointTime: 0, smtpNexthopBindingTime: 0 });
    expect(four.world.connects).toEqual(['127.0.2.1', '127.0.2.2']);
  });

  it('a skipped dead endpoint does not use up smtpMxAddressLimit', async () => {
    const store = createMemoryNexthopState({ clock: fakeClock() });
    store.markDead(key(0), 60_000);
    const { world, result } = await attempt({}, store, 2, { smtpMxAddressLimit: 1 });
    expect(world.connects).toEqual(['127.0.2.2']);
    expect(result.recipients[0]?.status).toBe('sent');
  });

  it('does not mark a greeting 4xx at may as broken TLS, and never plaintext at encrypt', async () => {
    const store = createMemoryNexthopState({ clock: fakeClock() });
    store.markBrokenTls(key(0), 60_000);
    const scripts = { '127.0.2.1': { handshake: () => undefined } };
    const may = await attempt(scripts, store, 1, { smtpTlsSecurityLevel: 'may' });
    expect(may.world.handshakes[0]?.tls.level).toBe('none');
    const enc = await attempt(scripts, store, 1, { smtpTlsSecurityLevel: 'encrypt' });
    expect(enc.world.handshakes[0]?.tls.level).toBe('encrypt');
    const greet = await attempt(
      { '127.0.2.1': { handshake: (ep) => siteFailure(ep, '421 4.3.2 busy') } },
      store,
      1,
    );
    expect(greet.result.recipients[0]?.status).toBe('deferred');
    expect((await store.read({ binding: 'x', endpoints: [key(0)], tickets: [] })).dead.has(key(0))).toBe(
      true,
    );
  });

  it('property: whatever the memory says, every recipient ends exactly once and some candidate is tried', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        fc.array(fc.constantFrom('ok', 'refuse', 'greet4'), { minLength: 4, maxLength: 4 }),
        fc.integer({ min: -1, max: 3 }),
        async (n, dead, behaviour, bound) => {
          const store = createMemoryNexthopState({ clock: fakeClock() });
          for (let i = 0; i < n; i++) if (dead[i]) store.markDead(key(i), 60_000);
          if (bound >= 0) store.bind('smtp:example.test', key(bound), 60_000);
          const scripts: Record<string, ServerScript> = {};
          for (let i = 0; i < n; i++) {
            const b = behaviour[i];
            scripts[`127.0.2.${i + 1}`] =
              b === 'refuse'
                ? { refuse: true }
                : b === 'greet4'
                  ? { handshake: (ep) => siteFailure(ep, '421 4.3.2 busy') }
                  : {};
          }
          const { result, world } = await attempt(scripts, store, n, { smtpMxAddressLimit: 0 });
          expect(result.recipients).toHaveLength(1);
          expect(['sent', 'deferred']).toContain(result.recipients[0]?.status);
          expect(world.delivered.length).toBe(result.recipients[0]?.status === 'sent' ? 1 : 0);
          expect(world.connects.length).toBeGreaterThan(0);
          // Only dead endpoints are left out, and never all of them.
          const allDead = Array.from({ length: n }, (_, i) => dead[i] === true).every(Boolean);
          for (let i = 0; i < n; i++) {
            const tried = world.connects.includes(`127.0.2.${i + 1}`);
            if (!allDead && dead[i]) expect(tried).toBe(false);
          }
          // With at least one live, working server, the message is sent.
          const live = Array.from({ length: n }, (_, i) => i).filter((i) => allDead || !dead[i]);
          if (live.some((i) => behaviour[i] === 'ok')) expect(result.recipients[0]?.status).toBe('sent');
        },
      ),
      { numRuns: 200 },
    );
  });
});
