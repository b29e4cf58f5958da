import { describe, expect, it } from 'vitest';
import type { HandshakeParams } from '../../../src/core/ports.ts';
import type { Endpoint, SmtpReply } from '../../../src/core/types.ts';
import { connectFailureText, strerror } from '../../../src/smtp/connect.ts';
import { refusedFailure, replyFailure, streamFailure } from '../../../src/smtp/failures.ts';
import { handshakeFailed, tlsMissing } from '../../../src/smtp/handshake-checks.ts';

const ep: Endpoint = {
  kind: 'inet',
  host: 'mx1.example.test',
  address: '127.0.2.1',
  port: 25,
  family: 4,
  preference: 10,
};
const reply = (code: number, status: string, text: string): SmtpReply => ({
  code,
  status,
  enhanced: true,
  lines: [text],
  text,
});
const params = (over: Partial<HandshakeParams>): HandshakeParams =>
  ({ tls: { level: 'may' }, requireTls: 'disable', ...over }) as HandshakeParams;

describe('engine failure wording', () => {
  it('words replies per §9.2 with handler throttle flags per §9.1', () => {
    const f = replyFailure(
      'rcpt',
      ep,
      'mx1.example.test',
      reply(451, '4.7.1', '451 4.7.1 Try again later'),
      'RCPT TO',
    );
    expect(f).toMatchObject({
      handler: 'rcpt',
      status: '4.7.1',
      throttle: false,
      remoteMta: 'mx1.example.test',
      text: 'host mx1.example.test[127.0.2.1] said: 451 4.7.1 Try again later (in reply to RCPT TO command)',
    });
    const odd = replyFailure('mesg', ep, 'mx1.example.test', reply(250, '2.0.0', '250 ok'), 'DATA');
    expect(odd.status).toBe('5.5.0');
    expect(odd.text.startsWith('Protocol error: host')).toBe(true);
    expect(odd.dontCache).toBe(true);
  });

  it('words stream failures per §5.6', () => {
    expect(streamFailure(ep, 'eof', 'sending RCPT TO')).toMatchObject({
      handler: 'stream',
      status: '4.4.2',
      throttle: true,
      text: 'lost connection with mx1.example.test[127.0.2.1] while sending RCPT TO',
    });
    expect(streamFailure(ep, 'timeout', 'sending DATA command').text).toBe(
      'conversation with mx1.example.test[127.0.2.1] timed out while sending DATA command',
    );
  });

  it('softens only a 5xx greeting when asked', () => {
    expect(refusedFailure(ep, reply(554, '5.7.1', '554 5.7.1 no'), true, 'greeting').status).toBe('4.7.1');
    expect(refusedFailure(ep, reply(554, '5.7.1', '554 5.7.1 no'), false, 'greeting').status).toBe('5.7.1');
  });

  it('words connect failures', () => {
    expect(
      connectFailureText({ endpoint: ep, protocol: 'smtp', connectTimeoutMs: 1 }, strerror('ECONNREFUSED')),
    ).toBe('connect to mx1.example.test[127.0.2.1]:25: Connection refused');
    expect(strerror('EHOSTUNREACH')).toBe('No route to host');
  });

  it('decides TLS refusals per level', () => {
    expect(tlsMissing(params({ tls: { level: 'may' } }), ep)).toBeUndefined();
    expect(tlsMissing(params({ tls: { level: 'secure' } }), ep)?.status).toBe('4.7.4');
    expect(
      tlsMissing(params({ tls: { level: 'may' }, requireTls: 'opportunistic+starttls' }), ep)?.status,
    ).toBe('5.7.30');
    expect(handshakeFailed(params({ tls: { level: 'may' }, plaintextRetryAllowed: true }))).toMatchObject({
      throttle: false,
      retryAsPlaintext: true,
    });
    expect(handshakeFailed(params({ tls: { level: 'encrypt' }, plaintextRetryAllowed: true }))).toMatchObject(
      { throttle: true },
    );
    expect(
      handshakeFailed(params({ tls: { level: 'encrypt' }, plaintextRetryAllowed: true })).retryAsPlaintext,
    ).toBeUndefined();
  });
});

describe('greeting refusal (smtp_helo)', () => {
  it('softens only a 5xx greeting; a 3xx greeting keeps its 5.5.0 (hard)', () => {
    expect(refusedFailure(ep, reply(554, '5.7.1', '554 5.7.1 go away'), true, 'greeting').status).toBe(
      '4.7.1',
    );
    const odd = refusedFailure(ep, reply(354, '5.5.0', '354 hello?'), true, 'greeting');
    expect(odd.status).toBe('5.5.0');
    expect(odd.text).toBe('host mx1.example.test[127.0.2.1] refused to talk to me: 354 hello?');
  });
});
