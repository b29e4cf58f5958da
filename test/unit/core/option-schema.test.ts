import { describe, expect, it } from 'vitest';
import { escapeControls } from '../../../src/core/escape.ts';
import { resolveOptions } from '../../../src/core/options.ts';
import { MailQueueInputError, validateSendInput } from '../../../src/queue/validate.ts';

describe('resolveOptions refuses what it cannot honour, naming the key', () => {
  it('a wrong type (messageSizeLimit: "big" used to disable the limit)', () => {
    expect(() => resolveOptions({ messageSizeLimit: 'big' } as never)).toThrow(
      /messageSizeLimit must be a number ≥ 0, not the string "big"/,
    );
    expect(() => resolveOptions({ smtpRandomizeAddresses: 'yes' } as never)).toThrow(
      /smtpRandomizeAddresses/,
    );
    expect(() => resolveOptions({ smtpConnectTimeout: 'soon' } as never)).toThrow(/smtpConnectTimeout/);
    expect(() => resolveOptions({ inetProtocols: 'ipv5' } as never)).toThrow(/inetProtocols must be one of/);
    expect(() => resolveOptions({ dnsServers: '127.0.0.1' } as never)).toThrow(/dnsServers must be a list/);
  });
  it('minimalBackoffTime above maximalBackoffTime', () => {
    expect(() => resolveOptions({ minimalBackoffTime: '2h', maximalBackoffTime: '1h' })).toThrow(
      'minimalBackoffTime (7200s) must not be above maximalBackoffTime (3600s)',
    );
    expect(() => resolveOptions({ minimalBackoffTime: '5000s' })).toThrow(/maximalBackoffTime \(4000s\)/);
    expect(resolveOptions({ minimalBackoffTime: '1h', maximalBackoffTime: '1h' }).minimalBackoffTime).toBe(
      3_600_000,
    );
  });
});

describe('send() input is strict', () => {
  const opts = resolveOptions({});
  const base = { from: 'a@x.test', to: ['b@y.test'], message: 'x\n' };
  it('an unknown field (cc) is refused naming it', () => {
    const err = (() => {
      try {
        validateSendInput({ ...base, cc: ['c@y.test'] } as never, opts);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(MailQueueInputError);
    expect((err as MailQueueInputError).field).toBe('cc');
    expect((err as Error).message).toMatch(/unknown field "cc"/);
    expect(() =>
      validateSendInput({ ...base, dsn: { ret: 'FULL', notfy: ['DELAY'] } } as never, opts),
    ).toThrow(/dsn\.notfy/);
  });
  it('U+FFFD (invalid UTF-8 decoded) in an address is refused', () => {
    expect(() => validateSendInput({ ...base, to: ['b\uFFFD@y.test'], smtputf8: true }, opts)).toThrow(
      /to\[0\].*invalid UTF-8/,
    );
  });
  it('control bytes in a refused value are escaped (ESC as \\x1b)', () => {
    let text = '';
    try {
      validateSendInput({ ...base, to: ['b\x1b[31m@y.test'] }, opts);
    } catch (e) {
      text = (e as Error).message;
    }
    expect(text).toContain('\\x1b[31m');
    expect(text).not.toContain('\x1b');
  });
});

describe('escapeControls', () => {
  it('escapes C0, DEL and C1, keeps UTF-8', () => {
    expect(escapeControls('a\x1bb\x7fc\u009bd\r\n\tü')).toBe('a\\x1bb\\x7fc\\x9bd\\r\\n\\tü');
  });
});
