/**
 * The dashboard's pluggable pages: a page is a path, a title and a render function over Redis.
 * The built-in ones: messages (queued and recent outcomes), a message's history, destinations,
 * the session cache. Other areas add pages by passing more DashboardPage objects.
 *
 * Decides: what each built-in page reads (read-only commands only: ZREVRANGE, XREVRANGE, HGETALL,
 * SCAN, ZCARD, PTTL, BullMQ getJob/getState) and how much (bounded counts).
 * Never: writes to Redis; shows session tickets or other secrets (only their size and TTL).
 */
import type { Redis } from 'ioredis';
import { type Cell, link, raw, section, status, table, time } from './html.ts';
import { messageHistory, recentEvents } from './message-history.ts';
import type { DashboardPage } from './page-types.ts';

const LIST_LIMIT = 100;
const SCAN_LIMIT = 2000;

/** Every key matching `pattern`, at most SCAN_LIMIT (SCAN, never KEYS). */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  for (let i = 0; i < 1000 && out.length < SCAN_LIMIT; i++) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    out.push(...keys);
    cursor = next;
    if (cursor === '0') break;
  }
  return out.slice(0, SCAN_LIMIT).sort();
}

const messagesPage: DashboardPage = {
  path: '/messages',
  title: 'Messages',
  nav: true,
  async render({ redis, keys }) {
    const queued = await redis.zrevrange(keys.messageIndex, 0, LIST_LIMIT - 1, 'WITHSCORES');
    const rows: Cell[][] = [];
    for (let i = 0; i + 1 < queued.length; i += 2) {
      const id = queued[i] ?? '';
      rows.push([link(`/messages/${encodeURIComponent(id)}`, id), time(Number(queued[i + 1]))]);
    }
    const events = await recentEvents(redis, keys, LIST_LIMIT);
    const evRows: Cell[][] = events.map((e) => [
      time(e.at),
      link(`/messages/${encodeURIComponent(e.queueId)}`, e.queueId),
      e.recipient,
      status(e.event),
      e.dsn,
      e.relay,
      e.diagnostic,
    ]);
    const form = raw(
      '<form action="/messages/find" method="get"><input name="id" placeholder="queue id"> <button>show</button></form>',
    );
    return {
      title: 'Messages',
      body: raw(
        form.html +
          section(
            `In the queue (newest ${LIST_LIMIT})`,
            table(['queue id', 'arrival'], rows, 'the queue is empty'),
          ).html +
          section(
            `Recent delivery events (newest ${LIST_LIMIT})`,
            table(
              ['time', 'queue id', 'recipient', 'event', 'dsn', 'relay', 'diagnostic'],
              evRows,
              'no events',
            ),
          ).html,
      ),
    };
  },
};

const messagePage: DashboardPage = {
  path: '/messages/:queueId',
  title: 'Message',
  nav: false,
  async render(ctx) {
    const queueId = ctx.params.queueId ?? '';
    return { title: `Message ${queueId}`, body: await messageHistory(ctx, queueId) };
  },
};

/** Pool-wide destination state (issue 9's keys: `<prefix>:dest:<dest>:leases|state|waiters`). */
const destinationsPage: DashboardPage = {
  path: '/destinations',
  title: 'Destinations',
  nav: true,
  async render({ redis, prefix }) {
    const keysFound = await scanKeys(redis, `${prefix}:dest:*`);
    const dests = new Map<string, { leases?: string; state?: string; waiters?: string }>();
    for (const k of keysFound) {
      const m = /^.*?:dest:(.+):(leases|state|waiters)$/.exec(k);
      if (m === null) continue;
      const d = dests.get(m[1] ?? '') ?? {};
      d[m[2] as 'leases' | 'state' | 'waiters'] = k;
      dests.set(m[1] ?? '', d);
    }
    const now = Date.now();
    const rows: Cell[][] = [];
    for (const [dest, k] of dests) {
      // Lease scores are expiry times (ms): the live ones are held now.
      const leases = k.leases === undefined ? 0 : await redis.zcount(k.leases, now, '+inf');
      const waiting = k.waiters === undefined ? 0 : await redis.zcard(k.waiters);
      const state = k.state === undefined ? {} : await redis.hgetall(k.state);
      const suspended = Object.entries(state).some(
        ([f, v]) =>
          /suspend/i.test(f) && v !== '' && v !== '0' && (Number.isNaN(Number(v)) || Number(v) > now),
      );
      const fields = Object.entries(state)
        .map(([f, v]) => `${f}=${v}`)
        .join(' ');
      rows.push([dest, leases, waiting, suspended ? status('suspended') : 'no', fields]);
    }
    const body = table(
      ['destination', 'leases held', 'jobs waiting', 'suspended', 'state'],
      rows,
      'no destination state in Redis (leases and suspensions appear here once workers use them)',
    );
    return { title: 'Destinations', body };
  },
};

/** The Redis tier of the session cache (`<prefix>:nh:*`): bindings, dead endpoints, TLS facts. */
const sessionCachePage: DashboardPage = {
  path: '/session-cache',
  title: 'Session cache',
  nav: true,
  async render({ redis, prefix }) {
    const found = await scanKeys(redis, `${prefix}:nh:*`);
    const rows: Cell[][] = [];
    for (const k of found.slice(0, 500)) {
      const m = /:nh:([a-z]+):(.*)$/.exec(k);
      const kind = m?.[1] ?? '?';
      const [ttl, len] = await Promise.all([redis.pttl(k), redis.strlen(k).catch(() => 0)]);
      // Tickets are secrets: only their size is shown.
      const value = kind === 'ticket' ? `${len} bytes` : await redis.get(k).catch(() => '(not a string)');
      rows.push([kind, m?.[2] ?? k, value, ttl > 0 ? `${Math.round(ttl / 1000)} s` : '']);
    }
    const note = raw(
      '<p class="note">The local and host tiers hold live sockets in worker and pool memory; their hits and misses are in the metrics (mxq_session_cache_lookups_total).</p>',
    );
    const body = raw(
      note.html +
        table(['kind', 'key', 'value', 'expires in'], rows, 'no shared session-cache state in Redis').html,
    );
    return { title: 'Session cache', body };
  },
};

export const BUILTIN_PAGES: readonly DashboardPage[] = [
  messagesPage,
  messagePage,
  destinationsPage,
  sessionCachePage,
];
