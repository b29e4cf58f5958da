import { describe, expect, it } from 'vitest';
import {
  capLevelForTlsRequiredNo,
  hasTlsRequiredNo,
  tlsRequiredNoApplies,
} from '../../../src/core/tls-required.ts';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('TLS-Required: no (RFC 8689)', () => {
  it('finds the field in the header section only, any case, folded', () => {
    expect(hasTlsRequiredNo(b('Subject: x\r\nTLS-Required: No\r\n\r\nbody'))).toBe(true);
    expect(hasTlsRequiredNo(b('tls-required:\r\n  no\n\nbody'))).toBe(true);
    expect(hasTlsRequiredNo(b('Subject: x\r\n\r\nTLS-Required: no\r\n'))).toBe(false);
    expect(hasTlsRequiredNo(b('TLS-Required: nope\r\n\r\n'))).toBe(false);
    expect(hasTlsRequiredNo(b('X-TLS-Required: no\r\n\r\n'))).toBe(false);
  });
  it('applies unless disabled or REQUIRETLS was requested', () => {
    expect(tlsRequiredNoApplies({ enabled: true, requireTls: false, headerPresent: true })).toBe(true);
    expect(tlsRequiredNoApplies({ enabled: true, requireTls: true, headerPresent: true })).toBe(false);
    expect(tlsRequiredNoApplies({ enabled: false, requireTls: undefined, headerPresent: true })).toBe(false);
  });
  it('caps at may, encrypt in wrapper mode; none stays none', () => {
    expect(capLevelForTlsRequiredNo('secure', false)).toBe('may');
    expect(capLevelForTlsRequiredNo('verify', true)).toBe('encrypt');
    expect(capLevelForTlsRequiredNo('none', false)).toBe('none');
    expect(capLevelForTlsRequiredNo('may', true)).toBe('may');
  });
});
