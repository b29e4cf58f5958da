/**
 * The in-process SessionCache (Postfix scache, one process): idle SMTP sessions by label.
 *
 * Decides: how long an idle session is kept (the ttl given at put, i.e.
 * smtpConnectionCacheTimeLimit), that a session stored under several labels is taken by any one
 * of them and then leaves all of them, and that an idle session that is no longer usable (a stray
 * byte or EOF arrived: SmtpSession.isUsable() false) is discarded instead of handed out.
 * Never: probes sessions with RSET (the attempt does that at take time), sends QUIT to sessions
 * taken out, or keeps the process alive (timers are unref'd).
 */
import type { SessionCache, SmtpSession } from '../core/ports.ts';

export interface LocalSessionCache extends SessionCache {
  /** Number of idle sessions held. */
  size(): number;
  /** Close every idle session and stop accepting new ones. */
  close(): Promise<void>;
}

interface Entry {
  session: SmtpSession;
  labels: string[];
  timer: ReturnType<typeof setTimeout>;
}

export function createLocalSessionCache(): LocalSessionCache {
  const byLabel = new Map<string, Entry[]>();
  const entries = new Set<Entry>();
  const state = { closed: false };

  const remove = (entry: Entry): void => {
    if (!entries.delete(entry)) return;
    clearTimeout(entry.timer);
    // In place: the lists are short-lived idle stacks; no copy per take or put.
    for (const label of entry.labels) {
      const list = byLabel.get(label);
      if (list === undefined) continue;
      const i = list.lastIndexOf(entry);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) byLabel.delete(label);
    }
  };

  const discard = (entry: Entry): void => {
    remove(entry);
    entry.session.close();
  };

  return {
    async take(label) {
      const list = byLabel.get(label);
      // Most recently stored first (Postfix scache hands out the newest); remove() and discard()
      // shorten `list` itself, so the loop ends.
      while (list !== undefined && list.length > 0) {
        const entry = list[list.length - 1] as Entry;
        if (entry.session.isUsable()) {
          remove(entry);
          return entry.session;
        }
        discard(entry);
      }
      return undefined;
    },
    async put(labels, session, ttlMs) {
      const unique = [...new Set(labels)];
      if (state.closed || unique.length === 0 || ttlMs <= 0 || !session.isUsable()) {
        session.close();
        return;
      }
      const entry: Entry = { session, labels: unique, timer: setTimeout(() => discard(entry), ttlMs) };
      entry.timer.unref();
      entries.add(entry);
      for (const label of unique) {
        const list = byLabel.get(label);
        if (list === undefined) byLabel.set(label, [entry]);
        else list.push(entry);
      }
    },
    size: () => entries.size,
    async close() {
      state.closed = true;
      for (const entry of [...entries]) discard(entry);
    },
  };
}
