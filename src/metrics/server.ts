/**
 * The HTTP listener of GET /metrics (Prometheus text format).
 *
 * Decides: the bind (loopback unless configured; a non-loopback bind needs a bearer token, else it
 * is refused before listening), that with a token every request must carry it (401 otherwise),
 * and the routes: GET /metrics, anything else 404.
 * Never: computes metrics (the `render` callback does: one registry, or a pool's aggregate).
 */
import { createServer, type Server } from 'node:http';
import { bearerOf, tokenMatches } from '../runtime/http-auth.ts';
import { checkBindPolicy, type ListenAddress } from '../runtime/listen-address.ts';

export interface MetricsServerOptions {
  listen: ListenAddress;
  /** Bearer token required on every request (needed for a non-loopback bind). */
  token?: string;
  render(): Promise<{ contentType: string; body: string }>;
}

export interface MetricsServer {
  /** The address actually bound (port 0 → the port chosen). */
  address: ListenAddress;
  url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(o: MetricsServerOptions): Promise<MetricsServer> {
  checkBindPolicy(o.listen, o.token, '--metrics', '--metrics-token');
  const server: Server = createServer((req, res) => {
    if (o.token !== undefined && !tokenMatches(bearerOf(req.headers.authorization), o.token)) {
      res
        .writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'text/plain' })
        .end('unauthorized\n');
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    o.render().then(
      (m) => res.writeHead(200, { 'content-type': m.contentType }).end(m.body),
      (err: unknown) =>
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(err)}\n`),
    );
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(o.listen.port, o.listen.host, () => {
      server.off('error', fail);
      done();
    });
  });
  const a = server.address();
  const port = typeof a === 'object' && a !== null ? a.port : o.listen.port;
  const host = o.listen.host.includes(':') ? `[${o.listen.host}]` : o.listen.host;
  return {
    address: { host: o.listen.host, port },
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
