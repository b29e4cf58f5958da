/**
 * `mxq dashboard`'s web app: bull-board for the `deliver` queue (mounted at /queues) plus mxq's
 * own pages (messages, a message's history, destinations, session cache), on one listener.
 *
 * Decides: the access rules. The bind is loopback unless configured; a non-loopback bind needs a
 * token and then every request must carry it. Actions (any non-GET under /queues/api) are refused
 * (403) unless the dashboard was started with allowActions, and then they need the token (401
 * without): `Authorization: Bearer T` or the `mxq_dashboard_token` cookie set by POST /login
 * (HttpOnly, SameSite=Strict). bull-board runs in readOnlyMode unless actions are allowed.
 * Never: writes to Redis itself (only bull-board's actions do, when allowed), logs the token.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serve } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Queue } from 'bullmq';
import { type Context, Hono } from 'hono';
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../queue/keys.ts';
import { bearerOf, cookieOf, tokenMatches } from '../runtime/http-auth.ts';
import { checkBindPolicy, isLoopbackHost, type ListenAddress } from '../runtime/listen-address.ts';
import { esc, page, raw } from './html.ts';
import type { DashboardPage } from './page-types.ts';
import { BUILTIN_PAGES } from './pages.ts';

export const TOKEN_COOKIE = 'mxq_dashboard_token';
const OWN_PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const LOGIN_FORM =
  '<form action="/login" method="post"><input type="password" name="token" placeholder="token"> <button>log in</button></form>';
const BOARD_CSP =
  "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

export interface DashboardOptions {
  listen: ListenAddress;
  redis: Redis;
  queue: Queue;
  keys: QueueKeys;
  prefix: string;
  token?: string;
  allowActions?: boolean;
  /** More pages (other areas' views); they are added after the built-in ones. */
  pages?: readonly DashboardPage[];
}

export interface Dashboard {
  url: string;
  close(): Promise<void>;
}

function checkOptions(o: DashboardOptions): void {
  checkBindPolicy(o.listen, o.token, '--listen', '--token');
  if (o.allowActions === true && o.token === undefined) {
    throw new Error('--allow-actions: actions need a token (give --token or MXQ_DASHBOARD_TOKEN)');
  }
}

export function createDashboardApp(o: DashboardOptions): Hono {
  checkOptions(o);
  const allowActions = o.allowActions === true;
  const everyRequestNeedsToken = !isLoopbackHost(o.listen.host);
  const authed = (c: Context) =>
    o.token !== undefined &&
    (tokenMatches(bearerOf(c.req.header('authorization')), o.token) ||
      tokenMatches(cookieOf(c.req.header('cookie'), TOKEN_COOKIE), o.token));
  const app = new Hono();
  app.post('/login', async (c) => {
    const form = await c.req.parseBody();
    const given = typeof form.token === 'string' ? form.token : undefined;
    if (o.token === undefined || !tokenMatches(given, o.token)) return c.text('wrong token\n', 401);
    c.header(
      'set-cookie',
      `${TOKEN_COOKIE}=${encodeURIComponent(given ?? '')}; Path=/; HttpOnly; SameSite=Strict`,
    );
    return c.redirect('/', 303);
  });
  app.get('/login', (c) => {
    for (const [k, v] of Object.entries(OWN_PAGE_HEADERS)) c.header(k, v);
    return c.html(page('Log in', raw(LOGIN_FORM), []));
  });
  app.use('*', async (c, next) => {
    if (everyRequestNeedsToken && !authed(c))
      return c.text('unauthorized: this dashboard needs its token (browsers: log in at /login)\n', 401);
    const isAction =
      c.req.path.startsWith('/queues/api') && c.req.method !== 'GET' && c.req.method !== 'HEAD';
    if (isAction && !allowActions) {
      return c.json(
        { error: 'read-only dashboard: actions are disabled (start with --allow-actions and a token)' },
        403,
      );
    }
    if (isAction && !authed(c)) return c.json({ error: 'actions need the dashboard token' }, 401);
    return next();
  });
  const board = new HonoAdapter(serveStatic);
  board.setBasePath('/queues');
  createBullBoard({
    queues: [new BullMQAdapter(o.queue, { readOnlyMode: !allowActions, description: 'mxq deliveries' })],
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'mxq' } },
  });
  // bull-board's page links Google Fonts; this CSP keeps the browser on this host (system fonts).
  app.use('/queues/*', async (c, next) => {
    await next();
    c.res.headers.set('content-security-policy', BOARD_CSP);
  });
  app.route('/queues', board.registerPlugin());
  const pages = [...BUILTIN_PAGES, ...(o.pages ?? [])];
  const nav = pages.filter((p) => p.nav).map((p) => ({ path: p.path, title: p.title }));
  const html = (c: Context, title: string, body: string, code: 200 | 404 = 200) => {
    for (const [k, v] of Object.entries(OWN_PAGE_HEADERS)) c.header(k, v);
    return c.html(page(title, raw(body), nav), code);
  };
  app.get('/', (c) => {
    const items = pages
      .filter((p) => p.nav)
      .map((p) => `<li><a href="${esc(p.path)}">${esc(p.title)}</a></li>`);
    const mode = allowActions ? 'actions allowed with the token' : 'read-only';
    const login = o.token === undefined ? '' : LOGIN_FORM;
    return html(
      c,
      'mxq dashboard',
      `<p class="note">Mode: ${esc(mode)}.</p><ul><li><a href="/queues">Queues (bull-board)</a></li>${items.join('')}</ul>${login}`,
    );
  });
  app.get('/messages/find', (c) =>
    c.redirect(`/messages/${encodeURIComponent(c.req.query('id') ?? '')}`, 303),
  );
  for (const p of pages) {
    app.get(p.path, async (c) => {
      const out = await p.render({
        redis: o.redis,
        queue: o.queue,
        keys: o.keys,
        prefix: o.prefix,
        params: c.req.param() as Record<string, string>,
        query: c.req.query(),
      });
      if (out === undefined) return html(c, 'Not found', '<p class="empty">not found</p>', 404);
      return html(c, out.title, out.body.html);
    });
  }
  return app;
}

/** Starts the dashboard's listener. Throws (naming the flag) when the bind is refused. */
export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const app = createDashboardApp(o);
  const server = await new Promise<ReturnType<typeof serve>>((done, fail) => {
    const s = serve({ fetch: app.fetch, port: o.listen.port, hostname: o.listen.host }, () => done(s));
    s.once('error', fail);
  });
  const a = server.address();
  const port = typeof a === 'object' && a !== null ? a.port : o.listen.port;
  const host = o.listen.host.includes(':') ? `[${o.listen.host}]` : o.listen.host;
  return {
    url: `http://${host}:${port}/`,
    close: () =>
      new Promise((done) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
