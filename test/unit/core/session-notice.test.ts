import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../../src/core/options.ts';
import { keepsSessionHistory, noteSession, sessionNotice } from '../../../src/core/session-notice.ts';
import type { ChatHistory, Endpoint, SessionNotice } from '../../../src/core/types.ts';

const ep: Endpoint = { kind: 'inet', host: 'mx.example.com', address: '127.0.9.1', port: 25, preference: 10 };
const history: ChatHistory = {
  classes: ['protocol'],
  lines: ['Out: RCPT TO:<a@b>', 'In:  502 huh'],
  omitted: 0,
};
const withClasses = (notifyClasses: string[]) => resolveOptions({ myhostname: 'mta.test', notifyClasses });

describe('session notices (smtp_cleanup_session, POSSIBLE_NOTIFICATION)', () => {
  it('keeps histories only when notifyClasses lists a class the engine raises', () => {
    expect(keepsSessionHistory(resolveOptions({}))).toBe(false); // default resource, software
    expect(keepsSessionHistory(withClasses(['bounce', 'delay']))).toBe(false);
    expect(keepsSessionHistory(withClasses([' Protocol ']))).toBe(true);
  });

  it('owes a notice for a listed class, with the server and protocol', () => {
    const n = sessionNotice(
      withClasses(['protocol']),
      { sender: 'app@x.test', protocol: 'smtp' },
      ep,
      history,
    );
    expect(n).toEqual({ ...history, server: 'mx.example.com[127.0.9.1]:25', protocol: 'smtp' });
  });

  it('owes none for an unlisted class, no history, or an empty one', () => {
    const req = { sender: 'app@x.test', protocol: 'smtp' as const };
    expect(sessionNotice(withClasses(['resource', 'software']), req, ep, history)).toBeUndefined();
    expect(sessionNotice(withClasses(['protocol']), req, ep, undefined)).toBeUndefined();
    expect(sessionNotice(withClasses(['protocol']), req, ep, { ...history, lines: [] })).toBeUndefined();
  });

  it('never for mail from the null sender or the double-bounce address (no loops)', () => {
    const opts = withClasses(['protocol']);
    for (const sender of ['', 'double-bounce@mta.test', 'Double-Bounce@MTA.test']) {
      expect(sessionNotice(opts, { sender, protocol: 'smtp' }, ep, history)).toBeUndefined();
    }
    const custom = resolveOptions({
      myhostname: 'mta.test',
      notifyClasses: ['protocol'],
      doubleBounceSender: 'db@x.test',
    });
    expect(sessionNotice(custom, { sender: 'db@x.test', protocol: 'lmtp' }, ep, history)).toBeUndefined();
    expect(
      sessionNotice(custom, { sender: 'double-bounce@mta.test', protocol: 'lmtp' }, ep, history)?.protocol,
    ).toBe('lmtp');
  });

  it('collects notices on the attempt', () => {
    const run: {
      opts: ReturnType<typeof withClasses>;
      req: { sender: string; protocol: 'smtp' };
      notices?: SessionNotice[];
    } = { opts: withClasses(['protocol']), req: { sender: 'a@b.test', protocol: 'smtp' } };
    noteSession(run, ep, undefined);
    expect(run.notices).toBeUndefined();
    noteSession(run, ep, history);
    noteSession(run, ep, history);
    expect(run.notices).toHaveLength(2);
  });
});
