import { describe, expect, it } from 'vitest';
import { downgradeTo7bit, MIME_NESTING_LIMIT, quotedPrintable } from '../../../src/smtp/mime-downgrade.ts';

const b = (s: string) => Buffer.from(s, 'latin1');
const out = (s: string) => {
  const r = downgradeTo7bit(b(s));
  if (!r.ok) throw new Error(r.text);
  return r.message.toString('latin1');
};
const is7bit = (s: string) => !/[\x80-\xff]/.test(s);

describe('quotedPrintable', () => {
  it('encodes 8-bit, "=", trailing white space, and breaks lines at 76 columns', () => {
    expect(quotedPrintable('caf\xe9 = ok \r\nnext\t')).toBe('caf=E9 =3D ok=20\r\nnext=09');
    const long = quotedPrintable('x'.repeat(100));
    expect(long.split('\r\n').every((l) => l.length <= 76)).toBe(true);
    expect(long.replace(/=\r\n/g, '')).toBe('x'.repeat(100));
  });
});

describe('downgradeTo7bit', () => {
  it('a 7-bit message is untouched', () => {
    expect(out('Subject: a\r\n\r\nhello\r\n')).toBe('Subject: a\r\n\r\nhello\r\n');
  });
  it('text/plain 8bit becomes quoted-printable; the CTE field is replaced', () => {
    const r = out(
      'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncaf\xe9\r\n',
    );
    expect(r).toBe(
      'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9\r\n',
    );
  });
  it('a non-MIME 8-bit message gets MIME-Version, Content-Type unknown-8bit and quoted-printable', () => {
    const r = out('Subject: a\n\nna\xefve\n');
    expect(r).toContain('Content-Transfer-Encoding: quoted-printable\r\n');
    expect(r).toContain('MIME-Version: 1.0\r\n');
    expect(r).toContain('Content-Type: text/plain; charset=unknown-8bit\r\n');
    expect(r.endsWith('\r\n\r\nna=EFve\r\n')).toBe(true);
  });
  it('multipart: each 8-bit part converted (text → QP, other → base64), 7-bit parts and boundaries kept', () => {
    const msg = [
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="BB"',
      'Content-Transfer-Encoding: 8bit',
      '',
      'preamble',
      '--BB',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      'gr\xc3\xbc\xc3\x9fe',
      '--BB',
      'Content-Type: text/plain',
      '',
      'plain ascii',
      '--BB',
      'Content-Type: application/octet-stream',
      'Content-Transfer-Encoding: binary',
      '',
      '\xff\xfe\x00A',
      '--BB--',
      'epilogue',
      '',
    ].join('\r\n');
    const r = out(msg);
    expect(is7bit(r)).toBe(true);
    expect(r).toContain(
      'Content-Type: multipart/mixed; boundary="BB"\r\nContent-Transfer-Encoding: 7bit\r\n',
    );
    expect(r).toContain('Content-Transfer-Encoding: quoted-printable\r\n\r\ngr=C3=BC=C3=9Fe\r\n--BB\r\n');
    expect(r).toContain('Content-Type: text/plain\r\n\r\nplain ascii\r\n--BB\r\n');
    expect(r).toContain(
      `Content-Transfer-Encoding: base64\r\n\r\n${Buffer.from('\xff\xfe\x00A', 'latin1').toString('base64')}\r\n`,
    );
    expect(r).toContain('--BB--\r\nepilogue\r\n');
  });
  it('message/rfc822 is downgraded inside and relabelled 7bit', () => {
    const r = out(
      'Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n\r\nSubject: in\r\n\r\n\xe9t\xe9\r\n',
    );
    expect(r).toContain(
      'Content-Transfer-Encoding: 7bit\r\n\r\nSubject: in\r\nContent-Transfer-Encoding: quoted-printable',
    );
    expect(is7bit(r)).toBe(true);
  });
  it('refuses 8-bit headers, 8-bit data in an encoded part, and too deep nesting', () => {
    expect(downgradeTo7bit(b('Subject: \xe9\r\n\r\nx\xe9\r\n'))).toMatchObject({
      ok: false,
      kind: 'header-8bit',
    });
    expect(
      downgradeTo7bit(b('Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n\xe9\r\n')),
    ).toMatchObject({ ok: false, kind: 'encoded-8bit' });
    let deep = 'Content-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xe9\r\n';
    for (let i = 0; i <= MIME_NESTING_LIMIT; i++) deep = `Content-Type: message/rfc822\r\n\r\n${deep}`;
    expect(downgradeTo7bit(b(deep))).toEqual({
      ok: false,
      kind: 'nesting',
      text: 'MIME nesting exceeds safety limit',
    });
  });
});
