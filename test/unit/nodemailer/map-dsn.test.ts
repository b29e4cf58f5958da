import { describe, expect, it } from 'vitest';
import { mapDsn } from '../../../src/nodemailer/transport.ts';
import { MailQueueInputError } from '../../../src/queue/validate.ts';

describe('mapDsn: nodemailer dsn → send() dsn', () => {
  it('mxq spellings and nodemailer spellings', () => {
    expect(mapDsn({ ret: 'HDRS', envid: 'e', notify: ['success'], orcpt: 'a@b.test' })).toEqual({
      ret: 'HDRS',
      envid: 'e',
      notify: ['success'],
      orcpt: 'a@b.test',
    });
    expect(mapDsn({ return: 'full', id: 'x', notify: 'failure, delay', recipient: 'o@b.test' })).toEqual({
      ret: 'FULL',
      envid: 'x',
      notify: ['failure', 'delay'],
      orcpt: 'o@b.test',
    });
    expect(mapDsn({ return: 'headers' })).toEqual({ ret: 'HDRS' });
    expect(mapDsn(undefined)).toBeUndefined();
  });
  it('bad values name the field', () => {
    expect(() => mapDsn({ ret: 'ALL' })).toThrow(expect.objectContaining({ field: 'dsn.ret' }));
    expect(() => mapDsn({ notify: 3 })).toThrow(expect.objectContaining({ field: 'dsn.notify' }));
    expect(() => mapDsn('FULL')).toThrow(MailQueueInputError);
  });
});
