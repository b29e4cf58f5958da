import { describe, expect, it } from 'vitest';
import { attemptOutcome, dsnClass } from '../../../src/metrics/recorder.ts';
import { checkBindPolicy, isLoopbackHost, parseListen } from '../../../src/runtime/listen-address.ts';

describe('parseListen', () => {
  it('a bare port binds 127.0.0.1; HOST:PORT and [IPv6]:PORT', () => {
    expect(parseListen('9464', '--metrics')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListen('127.0.0.2:80', '--metrics')).toEqual({ host: '127.0.0.2', port: 80 });
    expect(parseListen('[::1]:9464', '--metrics')).toEqual({ host: '::1', port: 9464 });
  });
  it('bad values name the flag', () => {
    expect(() => parseListen('x', '--listen')).toThrow(/^--listen: not a port number/);
    expect(() => parseListen('::1:80', '--listen')).toThrow(/^--listen: expected PORT/);
    expect(() => parseListen('1.2.3.4:70000', '--listen')).toThrow(/not a port number/);
  });
});

describe('bind policy', () => {
  it('loopback hosts', () => {
    expect(['127.0.0.1', '127.9.8.7', '::1', 'localhost'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '10.0.0.1', '::', '128.0.0.1', '127.0.0.256'].some(isLoopbackHost)).toBe(false);
  });
  it('non-loopback needs a token of 16+ characters', () => {
    expect(() => checkBindPolicy({ host: '0.0.0.0', port: 1 }, undefined, '--listen', '--token')).toThrow(
      /^--listen: refusing to listen on non-loopback 0.0.0.0 without authentication \(give --token\)/,
    );
    expect(() => checkBindPolicy({ host: '0.0.0.0', port: 1 }, 'short', '--listen', '--token')).toThrow(
      /^--token:/,
    );
    expect(() =>
      checkBindPolicy({ host: '0.0.0.0', port: 1 }, 'x'.repeat(16), '--listen', '--token'),
    ).not.toThrow();
    expect(() =>
      checkBindPolicy({ host: '127.0.0.1', port: 1 }, undefined, '--listen', '--token'),
    ).not.toThrow();
  });
});

describe('recorder labels', () => {
  it('dsn class and attempt outcome', () => {
    expect([dsnClass('2.0.0'), dsnClass('4.4.1'), dsnClass('5.1.1'), dsnClass('')]).toEqual([
      '2',
      '4',
      '5',
      'none',
    ]);
    expect(attemptOutcome([{ event: 'sent' }, { event: 'sent' }])).toBe('sent');
    expect(attemptOutcome([{ event: 'bounced' }, { event: 'expired' }])).toBe('bounced');
    expect(attemptOutcome([{ event: 'deferred' }, { event: 'delayed' }])).toBe('deferred');
    expect(attemptOutcome([{ event: 'sent' }, { event: 'deferred' }])).toBe('mixed');
  });
});
