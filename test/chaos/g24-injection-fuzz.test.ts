/**
 * G24 (enqueue side): 10,000 fuzzed values per field with a CR, LF or NUL somewhere in them: the
 * sender, a recipient, ENVID, ORCPT and the next-hop. send()'s validation must refuse every one
 * with a MailQueueInputError naming the field, so no control character can reach a command line.
 * (The wire side — writer and EHLO name — is covered by security-starttls.test.ts and the G23
 * writer property test.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../src/core/options.ts';
import { MailQueueInputError, type SendInput, validateSendInput } from '../../src/queue/validate.ts';

const opts = resolveOptions();
const base: SendInput = { from: 'app@src.test', to: ['u@d.test'], message: 'Subject: x\r\n\r\nx\r\n' };
const evil = fc
  .tuple(
    fc.string({ maxLength: 20 }),
    fc.constantFrom('\r', '\n', '\0', '\r\n', '\r\nRCPT TO:<x@evil.test>\r\n'),
    fc.string({ maxLength: 20 }),
  )
  .map(([a, c, b]) => a + c + b);

const FIELDS: Array<[string, (v: string) => SendInput]> = [
  ['from', (v) => ({ ...base, from: `a${v}@src.test` })],
  ['to', (v) => ({ ...base, to: [`u${v}@d.test`] })],
  ['envid', (v) => ({ ...base, dsn: { envid: v } })],
  ['orcpt', (v) => ({ ...base, dsn: { orcpt: `rfc822;${v}@x.test` } })],
  ['nexthop', (v) => ({ ...base, nexthop: `[127.0.0.1]${v}` })],
];

describe('G24: control characters never pass enqueue validation', () => {
  it.each(FIELDS)('%s: 10,000 fuzzed values with CR/LF/NUL are all refused', (_field, make) => {
    let refused = 0;
    fc.assert(
      fc.property(evil, (v) => {
        let accepted: unknown;
        try {
          accepted = validateSendInput(make(v), opts);
        } catch (e) {
          expect(e).toBeInstanceOf(MailQueueInputError);
          refused++;
          return;
        }
        // a value may be accepted only if the control character did not survive into it
        expect(JSON.stringify(accepted)).not.toMatch(/\\r|\\n|\\u0000/);
      }),
      { numRuns: 10_000, seed: 24 },
    );
    expect(refused).toBeGreaterThan(9_000);
  });
});
