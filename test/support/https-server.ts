/**
 * A small HTTPS server for tests (MTA-STS policy hosts, TLSRPT receivers): listens on a loopback
 * address and port (443 by default: tests run as root on their own 127.x.y.z), with a given key
 * and certificate, answering each request with a scripted response.
 *
 * Decides: nothing beyond the script: `respond(req)` returns status, headers and body, or 'stall'
 * (accept and never answer) or 'huge' (stream `hugeBytes` of text). Records every request with
 * its body. Never: listens on a non-loopback address.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';

export type HttpsReply =
  | { status?: number; headers?: Record<string, string>; body?: string | Buffer }
  | 'stall'
  | { huge: number };

export interface HttpsRequestRecord {
  method: string;
  url: string;
  host: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export interface TestHttpsServer {
  requests: HttpsRequestRecord[];
  setRespond(fn: (r: HttpsRequestRecord) => HttpsReply): void;
  stop(): Promise<void>;
}

export async function startHttpsServer(opts: {
  host: string;
  port?: number;
  tls: { key: string; cert: string };
  respond: (r: HttpsRequestRecord) => HttpsReply;
}): Promise<TestHttpsServer> {
  if (!opts.host.startsWith('127.') && opts.host !== '::1') throw new Error('loopback only');
  let respond = opts.respond;
  const requests: HttpsRequestRecord[] = [];
  const stalled: ServerResponse[] = [];
  const server = https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rec: HttpsRequestRecord = {
        method: req.method ?? '',
        url: req.url ?? '',
        host: String(req.headers.host ?? ''),
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      requests.push(rec);
      const reply = respond(rec);
      if (reply === 'stall') {
        stalled.push(res);
        return;
      }
      if ('huge' in reply) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const line = Buffer.alloc(1024, 'x');
        let sent = 0;
        const pump = (): void => {
          while (sent < reply.huge) {
            sent += line.length;
            if (!res.write(line)) return void res.once('drain', pump);
          }
          res.end();
        };
        res.on('error', () => undefined);
        res.socket?.on('error', () => undefined);
        pump();
        return;
      }
      res.writeHead(reply.status ?? 200, reply.headers ?? { 'content-type': 'text/plain' });
      res.end(reply.body ?? '');
    });
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 443, opts.host, () => resolve());
  });
  return {
    requests,
    setRespond(fn) {
      respond = fn;
    },
    async stop() {
      for (const r of stalled) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
