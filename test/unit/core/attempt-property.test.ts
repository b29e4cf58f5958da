import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLocalSessionCache } from '../../../src/cache/local-session-cache.ts';
import { runAttempt } from '../../../src/core/attempt.ts';
import { resolveOptions } from '../../../src/core/options.ts';
import type { DeliveryFailure, Endpoint } from '../../../src/core/types.ts';
import { fakeClock, memoryLogger, seededRandom } from '../../support/fakes.ts';
import type { ServerScript, Zone } from './attempt-fakes.ts';
import { fakeDns, fakeWorld, lostFailure, saidFailure, siteFailure } from './attempt-fakes.ts';

type Answer = 'ok' | '4xx' | '5xx';
type Stage = 'refuse' | 'greet4' | 'greet5' | 'utf8' | 'mail4' | 'mail5' | 'data4' | 'data5' | 'eof' | 'rcpt';

const answer = fc.constantFrom<Answer>('ok', '4xx', '5xx');
const server = fc.record({
  stage: fc.constantFrom<Stage>(
    'refuse',
    'greet4',
    'greet5',
    'utf8',
    'mail4',
    'mail5',
    'data4',
    'data5',
    'eof',
    'rcpt',
  ),
  answers: fc.array(answer, { minLength: 4, maxLength: 4 }),
});

function scriptFor(s: { stage: Stage; answers: Answer[] }, accepted: string[]): ServerScript {
  const bulk = (ep: Endpoint): DeliveryFailure | undefined => {
    if (s.stage === 'mail4') return saidFailure(ep, '451 4.3.0 busy', 'MAIL FROM');
    if (s.stage === 'mail5') return saidFailure(ep, '553 5.7.1 no', 'MAIL FROM');
    if (s.stage === 'data4') return saidFailure(ep, '452 4.3.1 full', 'end of DATA');
    if (s.stage === 'data5') return saidFailure(ep, '554 5.6.0 bad', 'end of DATA');
    if (s.stage === 'eof')
      return lostFailure(ep, 'sending end of data -- message may be sent more than once');
    return undefined;
  };
  return {
    refuse: s.stage === 'refuse',
    handshake: (ep) => {
      if (s.stage === 'greet4') return siteFailure(ep, '421 4.3.2 busy');
      if (s.stage === 'greet5') return siteFailure(ep, '554 5.7.1 go away');
      if (s.stage === 'utf8') {
        return {
          handler: 'misc',
          status: '5.6.7',
          text: 'message requires SMTPUTF8',
          throttle: false,
          softNonFinal: true,
        };
      }
      return undefined;
    },
    bulk,
    rcpt: (address, ep) => {
      const i = Number(address.slice(1, address.indexOf('@')));
      const a = s.answers[i] ?? 'ok';
      if (a === '4xx') return saidFailure(ep, '451 4.7.1 later', 'RCPT TO');
      if (a === '5xx') return saidFailure(ep, '550 5.1.1 unknown', 'RCPT TO');
      accepted.push(address);
      return undefined;
    },
  };
}

describe('runAttempt property: every recipient ends exactly once', () => {
  it('whatever the servers answer', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(server, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.record({
          addr: fc.integer({ min: 0, max: 4 }),
          sess: fc.integer({ min: 0, max: 3 }),
          softBounce: fc.boolean(),
          fallback: fc.boolean(),
        }),
        async (servers, n, o) => {
          const zone: Zone = {
            'example.test': {
              MX: servers.map((_, i) => [10 * (i + 1), `mx${i}.example.test`] as [number, string]),
            },
          };
          const accepted: string[] = [];
          const scripts: Record<string, ServerScript> = {};
          for (const [i, s] of servers.entries()) {
            zone[`mx${i}.example.test`] = { A: [`127.0.2.${i + 1}`] };
            scripts[`127.0.2.${i + 1}`] = scriptFor(s, accepted);
          }
          zone['fb.test'] = { A: ['127.0.2.50'] };
          scripts['127.0.2.50'] = scriptFor(servers[0] ?? { stage: 'rcpt', answers: [] }, accepted);
          const clock = fakeClock();
          const world = fakeWorld(scripts, clock.now);
          const recipients = Array.from({ length: n }, (_, i) => ({ address: `r${i}@example.test` }));
          const result = await runAttempt(
            {
              queueId: 'Q',
              sender: 's@x.test',
              recipients,
              nexthop: 'example.test',
              protocol: 'smtp',
              message: Buffer.from('Subject: x\r\n\r\nx\r\n'),
              size: 16,
              arrivalTime: clock.now(),
            },
            {
              dns: fakeDns(zone),
              connector: world.connector,
              cache: createLocalSessionCache(),
              clock,
              random: seededRandom(3),
              logger: memoryLogger(),
            },
            resolveOptions({
              inetProtocols: 'ipv4',
              smtpRandomizeAddresses: false,
              smtpTlsSecurityLevel: 'none',
              smtpMxAddressLimit: o.addr,
              smtpMxSessionLimit: o.sess,
              softBounce: o.softBounce,
              smtpFallbackRelay: o.fallback ? ['[fb.test]'] : [],
            }),
          );
          expect(result.recipients.map((r) => r.recipient.address)).toEqual(recipients.map((r) => r.address));
          for (const r of result.recipients) {
            expect(['sent', 'deferred', 'bounced']).toContain(r.status);
            const deliveries = world.delivered.filter((a) => a === r.recipient.address).length;
            expect(deliveries).toBe(r.status === 'sent' ? 1 : 0);
            expect(r.dsn[0]).toBe(r.status === 'sent' ? '2' : r.status === 'deferred' ? '4' : '5');
            if (r.status !== 'sent') expect(r.diagnostic).not.toBe('');
            if (r.status === 'sent') expect(accepted).toContain(r.recipient.address);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
