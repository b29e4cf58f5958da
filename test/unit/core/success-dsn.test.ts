import { describe, expect, it } from 'vitest';
import { successActionFor } from '../../../src/core/success-dsn.ts';

describe('successActionFor (spec §10.1)', () => {
  const base = { serverDsn: false, protocol: 'smtp' as const, lmtpAssumeFinal: false };
  it('only for NOTIFY=SUCCESS', () => {
    expect(successActionFor({ ...base, notify: undefined })).toBeUndefined();
    expect(successActionFor({ ...base, notify: ['FAILURE'] })).toBeUndefined();
    expect(successActionFor({ ...base, notify: ['SUCCESS', 'DELAY'] })).toBe('relayed');
  });
  it('a server with DSN takes the duty over; LMTP with lmtpAssumeFinal is "delivered"', () => {
    expect(successActionFor({ ...base, notify: ['SUCCESS'], serverDsn: true })).toBeUndefined();
    expect(successActionFor({ ...base, notify: ['SUCCESS'], protocol: 'lmtp' })).toBe('relayed');
    expect(
      successActionFor({ notify: ['SUCCESS'], serverDsn: true, protocol: 'lmtp', lmtpAssumeFinal: true }),
    ).toBe('delivered');
  });
});
