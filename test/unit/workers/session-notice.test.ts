import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../../src/core/options.ts';
import type { SessionNotice } from '../../../src/core/types.ts';
import { buildSessionNotice, dispatchSessionNotices, wrapLine } from '../../../src/workers/session-notice.ts';
import { memoryLogger } from '../../support/fakes.ts';

const notice: SessionNotice = {
  classes: ['protocol'],
  lines: ['In:  220 mx ESMTP', 'Out: RCPT TO:<a@b.test>', 'In:  what is this', 'In:  502 5.5.2 huh'],
  omitted: 0,
  server: 'mx.b.test[192.0.2.7]:25',
  protocol: 'smtp',
};

describe('postmaster transcript (smtp_chat_notify)', () => {
  it('has Postfix wording, headers and the transcript lines with a leading space', () => {
    const text = buildSessionNotice({
      notice,
      myhostname: 'mta.test',
      to: 'postmaster@mta.test',
      now: 0,
    }).toString();
    const [head, body] = text.split('\r\n\r\n', 2);
    expect(head).toContain('From: Mail Delivery System <MAILER-DAEMON@mta.test>');
    expect(head).toContain('To: Postmaster <postmaster@mta.test>');
    expect(head).toContain('Subject: Postfix SMTP client: errors from mx.b.test[192.0.2.7]:25');
    expect(head).toContain('Auto-Submitted: auto-generated');
    expect(text).toContain(
      [
        'Unexpected response from mx.b.test[192.0.2.7]:25.',
        '',
        'Transcript of session follows.',
        '',
        ' In:  220 mx ESMTP',
        ' Out: RCPT TO:<a@b.test>',
        ' In:  what is this',
        ' In:  502 5.5.2 huh',
        '',
        'For other details, see the local mail logfile',
      ].join('\r\n'),
    );
    expect(body).toBeDefined();
    const lmtp = buildSessionNotice({
      notice: { ...notice, protocol: 'lmtp', omitted: 3 },
      myhostname: 'm',
      to: 'p@m',
      now: 0,
    }).toString();
    expect(lmtp).toContain('Subject: Postfix LMTP client: errors from');
    expect(lmtp).toContain(' (3 earlier lines of the session not kept)');
  });

  it('wraps long lines at 78 columns with indented continuations, and makes bytes printable', () => {
    const long = `In:  550 ${'word '.repeat(30)}end`;
    const out = wrapLine(long);
    expect(out.length).toBeGreaterThan(1);
    for (const l of out) expect(l.length).toBeLessThanOrEqual(79);
    expect(out[0]?.startsWith(' In:  550 word')).toBe(true);
    expect(out[1]?.startsWith('     word')).toBe(true);
    expect(out.join(' ').replace(/ +/g, ' ').trim()).toBe(long.replace(/ +/g, ' '));
    expect(wrapLine('In:  250 h\u00e9\u0001')).toEqual([' In:  250 h??']);
    expect(wrapLine('x'.repeat(100))).toEqual([` ${'x'.repeat(78)}`, `     ${'x'.repeat(22)}`]);
  });

  it('sends one notice per session from the double-bounce address to errorNoticeRecipient', async () => {
    const sent: { from: string; to: string[]; message: Buffer }[] = [];
    const sender = {
      send: async (m: { from: string; to: string[]; message: Buffer }) => {
        sent.push(m);
        return { queueId: `Q${sent.length}`, jobIds: [] };
      },
    };
    const logger = memoryLogger();
    const opts = resolveOptions({ myhostname: 'mta.test', notifyClasses: ['protocol'] });
    await dispatchSessionNotices({ opts, sender, logger, now: 0 }, 'QID', [notice, notice]);
    expect(sent.map((m) => [m.from, m.to])).toEqual([
      ['double-bounce@mta.test', ['postmaster@mta.test']],
      ['double-bounce@mta.test', ['postmaster@mta.test']],
    ]);
    const custom = resolveOptions({ myhostname: 'mta.test', errorNoticeRecipient: 'ops@x.test' });
    await dispatchSessionNotices({ opts: custom, sender, logger, now: 0 }, 'QID', [notice]);
    expect(sent.at(-1)?.to).toEqual(['ops@x.test']);
    const none = resolveOptions({ myhostname: 'mta.test', errorNoticeRecipient: '' });
    await dispatchSessionNotices({ opts: none, sender, logger, now: 0 }, 'QID', [notice]);
    expect(sent).toHaveLength(3);
  });

  it('only logs a notice that cannot be queued', async () => {
    const logger = memoryLogger();
    const sender = {
      send: async (): Promise<{ queueId: string; jobIds: string[] }> => {
        throw new Error('redis down');
      },
    };
    const opts = resolveOptions({ myhostname: 'mta.test' });
    await expect(
      dispatchSessionNotices({ opts, sender, logger, now: 0 }, 'QID', [notice]),
    ).resolves.toBeUndefined();
    expect(JSON.stringify(logger.records)).toContain('redis down');
  });
});
