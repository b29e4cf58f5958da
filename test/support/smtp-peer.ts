/**
 * A scriptable SMTP/LMTP server for integration tests, built on the `smtp-server` package with a
 * raw layer (smtp-peer-conn.ts) for what smtp-server cannot do.
 *
 * Listens on TCP (host default 127.0.0.1, port 0 = random) or on a unix socket (socketPath).
 * Options:
 *  - lmtp: speak LMTP (LHLO; one DATA reply per accepted recipient).
 *  - tls {key, cert}: offer STARTTLS with that certificate (no tls → no STARTTLS at all);
 *    hideStartTls: keep the cert but do not advertise/accept STARTTLS; wrapperTls: SMTPS (TLS first).
 *  - size: advertise SIZE n; MAIL SIZE=>n and a DATA body over n bytes get 552.
 *  - hidePipelining / hide8BitMime / hideSmtputf8 / hideDsn: drop that EHLO keyword.
 *  - chunking: advertise CHUNKING (BDAT itself is NOT implemented: it answers 500).
 *  - requireTls: advertise REQUIRETLS (smtp-server does so only inside TLS, as RFC 8689 wants,
 *    and rejects MAIL ... REQUIRETLS in plaintext).
 *  - auth {users, methods=[PLAIN, LOGIN]}: advertise AUTH; wrong credentials get 535. AUTH is
 *    optional (MAIL works unauthenticated) and allowed without TLS.
 *  - script (PeerScript, replaceable at runtime with setScript):
 *    greeting / ehlo (also used for LHLO) / helo / mail / rcpt / data / rset: full replies
 *    ("451 4.7.1 later", multi-line with \r\n). A 2xx/3xx scripted reply replaces smtp-server's
 *    text but smtp-server still processes the command (state changes); any other reply is written
 *    as-is and the command is NOT processed (a rejected RCPT is not added). A 421 reply (or
 *    greeting) closes the connection after writing. rcpt may be a function of the address
 *    (undefined → default 250). dataDone: reply after the final dot; for LMTP a function
 *    (accepted recipients) → one reply per recipient (a plain string is used for each).
 *    delayMs[stage]: wait before handling that stage ('body': before reading the body; 'dot':
 *    before the final reply). holdDot: a promise to wait for (after delayMs.dot) before the final
 *    reply, asked for after the message is recorded (a test gate: e.g. until two sessions
 *    overlap). disconnectAt[stage]: destroy the socket instead of replying
 *    ('body': when the first body bytes arrive; 'dot': after the final dot, before the reply;
 *    the message is still recorded in `messages`). ehloName: first word of the EHLO reply (also
 *    used in later greetings of that connection). starttlsInjection: bytes written in the same
 *    write as "220 2.0.0 Ready to start TLS", before the handshake.
 * Records: connections (accepted sockets), commands (every command line with its connection
 * number and TLS state; AUTH continuation lines raw; plaintext lines a client pipelined after
 * STARTTLS, which smtp-server discards, are recorded with tls: false), messages.
 * Never: listens beyond what it is given, verifies client certificates, or relays mail.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { type ConnInternals, type ConnState, patchConnection, wireBody } from './smtp-peer-conn.ts';

export type PeerReply = string;
export type PeerStage =
  | 'greeting'
  | 'ehlo'
  | 'helo'
  | 'lhlo'
  | 'starttls'
  | 'auth'
  | 'mail'
  | 'rcpt'
  | 'data'
  | 'body'
  | 'dot'
  | 'rset'
  | 'quit';
export interface PeerScript {
  greeting?: PeerReply;
  ehlo?: PeerReply;
  helo?: PeerReply;
  mail?: PeerReply;
  data?: PeerReply;
  rset?: PeerReply;
  rcpt?: PeerReply | ((address: string) => PeerReply | undefined);
  dataDone?: PeerReply | ((rcpts: string[]) => PeerReply[]);
  delayMs?: Partial<Record<PeerStage, number>>;
  holdDot?: () => Promise<void>;
  disconnectAt?: PeerStage;
  ehloName?: string;
  starttlsInjection?: string;
}
export interface PeerOptions {
  host?: string;
  port?: number;
  socketPath?: string;
  lmtp?: boolean;
  tls?: { key: string; cert: string };
  hideStartTls?: boolean;
  wrapperTls?: boolean;
  size?: number;
  hidePipelining?: boolean;
  hide8BitMime?: boolean;
  hideSmtputf8?: boolean;
  hideDsn?: boolean;
  chunking?: boolean;
  requireTls?: boolean;
  auth?: { users: Record<string, string>; methods?: string[] };
  script?: PeerScript;
}
export interface ReceivedMessage {
  from: string;
  to: string[];
  /** MAIL FROM parameters as parsed by smtp-server: upper-case keys, valueless ones → ''. */
  mailParams: Record<string, string>;
  rcptParams: Record<string, string>[];
  /** As on the wire, before un-stuffing: bytes after the 354 up to and including the CRLF before the final ".". */
  body: Buffer;
  tls: boolean;
  /** Connection number and Date.now() when the final "." was read. */
  conn: number;
  at: number;
}
export interface SmtpPeer {
  host: string;
  port: number;
  socketPath?: string;
  connections: number;
  messages: ReceivedMessage[];
  /** `at`: Date.now() when the line was read (benchmarks derive per-session timelines from it). */
  commands: Array<{ conn: number; line: string; tls: boolean; at: number }>;
  setScript(s: PeerScript): void;
  stop(): Promise<void>;
}

type Envelope = {
  mailFrom: false | { address: string; args: Record<string, unknown> | false };
  rcptTo: Array<{ address: string; args: Record<string, unknown> | false }>;
};

function params(args: Record<string, unknown> | false): Record<string, string> {
  const out: Record<string, string> = {};
  if (args) for (const [k, v] of Object.entries(args)) out[k.toUpperCase()] = typeof v === 'string' ? v : '';
  return out;
}

function serverOptions(opts: PeerOptions): SMTPServerOptions {
  const disabled: string[] = [];
  if (opts.tls === undefined || opts.hideStartTls) disabled.push('STARTTLS');
  if (opts.auth === undefined) disabled.push('AUTH');
  const o: SMTPServerOptions = {
    name: 'peer.test',
    lmtp: opts.lmtp ?? false,
    secure: opts.wrapperTls ?? false,
    hideSTARTTLS: opts.tls === undefined || (opts.hideStartTls ?? false),
    hidePIPELINING: opts.hidePipelining ?? false,
    hide8BITMIME: opts.hide8BitMime ?? false,
    hideSMTPUTF8: opts.hideSmtputf8 ?? false,
    hideDSN: opts.hideDsn ?? false,
    hideREQUIRETLS: !(opts.requireTls ?? false),
    disabledCommands: disabled,
    authMethods: opts.auth?.methods ?? ['PLAIN', 'LOGIN'],
    authOptional: true,
    allowInsecureAuth: true,
    disableReverseLookup: true,
    maxAllowedUnauthenticatedCommands: false,
    logger: false,
    socketTimeout: 60_000,
    closeTimeout: 1000,
  };
  if (opts.size !== undefined) {
    o.size = opts.size;
    o.rejectOversized = true;
  }
  if (opts.tls !== undefined) {
    o.key = opts.tls.key;
    o.cert = opts.tls.cert;
  }
  return o;
}

export async function startSmtpPeer(opts: PeerOptions = {}): Promise<SmtpPeer> {
  const ctx = { script: opts.script ?? {}, connNo: 0 };
  const conns = new Map<string, { no: number; state: ConnState }>();
  const messages: ReceivedMessage[] = [];
  const commands: SmtpPeer['commands'] = [];
  const server = new SMTPServer({
    ...serverOptions(opts),
    onAuth(auth, _session, cb) {
      const ok = opts.auth?.users[auth.username ?? ''] === auth.password;
      if (ok) return cb(null, { user: auth.username });
      return cb(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 }));
    },
    onData(stream, session, cb) {
      handleData(stream, session, cb);
    },
  });
  server.on('error', () => undefined);
  server.connect = (socket, socketOptions) => {
    ctx.connNo += 1;
    const no = ctx.connNo;
    const connection = new SMTPConnection(server, socket, socketOptions);
    server.connections.add(connection);
    connection.on('error', () => undefined);
    const conn = connection as unknown as ConnInternals;
    const state = patchConnection(conn, {
      connNo: no,
      script: () => ctx.script,
      record: (line, tls) => commands.push({ conn: no, line, tls, at: Date.now() }),
      extraEhloKeywords: () => (opts.chunking ? ['CHUNKING'] : []),
    });
    conns.set(conn.id, { no, state });
    socket.once('close', () => conns.delete(conn.id));
    connection.init();
  };
  const handleData = (
    stream: NodeJS.ReadableStream,
    session: SMTPServerSession,
    cb: (err?: Error | null, message?: string) => void,
  ) => {
    const c = conns.get(session.id);
    const s = ctx.script;
    const env = session.envelope as unknown as Envelope;
    const rcpts = env.rcptTo.map((r) => r.address);
    const start = () => {
      let first = true;
      stream.on('data', () => {
        if (first && s.disconnectAt === 'body') c?.state.socket().destroy();
        first = false;
      });
      stream.on('end', () => {
        messages.push({
          from: env.mailFrom ? env.mailFrom.address : '',
          to: rcpts,
          mailParams: params(env.mailFrom ? env.mailFrom.args : false),
          rcptParams: env.rcptTo.map((r) => params(r.args)),
          body: wireBody(c?.state.wire ?? []),
          tls: session.secure,
          conn: c?.no ?? 0,
          at: Date.now(),
        });
        if (c) c.state.wire = [];
        if (s.disconnectAt === 'dot') return void c?.state.socket().destroy();
        const reply = () => {
          queueDataDone(c?.state, s, rcpts, opts.lmtp ?? false);
          cb(null);
        };
        setTimeout(() => {
          if (s.holdDot === undefined) reply();
          else void s.holdDot().then(reply);
        }, s.delayMs?.dot ?? 0);
      });
    };
    setTimeout(start, s.delayMs?.body ?? 0);
  };
  return listen(server, opts, { ctx, conns, messages, commands });
}

function queueDataDone(state: ConnState | undefined, s: PeerScript, rcpts: string[], lmtp: boolean): void {
  if (state === undefined || s.dataDone === undefined) return;
  const replies =
    typeof s.dataDone === 'function'
      ? s.dataDone(rcpts)
      : lmtp
        ? rcpts.map(() => s.dataDone as string)
        : [s.dataDone];
  // smtp-server sends exactly one reply (SMTP) or one per accepted recipient (LMTP).
  for (const r of replies.slice(0, lmtp ? rcpts.length : 1))
    state.overrides.push(`${r.replace(/\r?\n/g, '\r\n')}\r\n`);
}

type Shared = {
  ctx: { script: PeerScript; connNo: number };
  conns: Map<string, { no: number; state: ConnState }>;
  messages: ReceivedMessage[];
  commands: SmtpPeer['commands'];
};

async function listen(server: SMTPServer, opts: PeerOptions, sh: Shared): Promise<SmtpPeer> {
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    const done = () => {
      server.server.off('error', reject);
      resolve();
    };
    if (opts.socketPath !== undefined) server.listen(opts.socketPath, done);
    else server.listen(opts.port ?? 0, host, done);
  });
  const addr = server.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  const peer: SmtpPeer = {
    host,
    port,
    get connections() {
      return sh.ctx.connNo;
    },
    messages: sh.messages,
    commands: sh.commands,
    setScript(s: PeerScript) {
      sh.ctx.script = s;
    },
    async stop() {
      for (const c of sh.conns.values()) c.state.socket().destroy();
      await new Promise<void>((r) => server.close(() => r()));
      if (opts.socketPath !== undefined) await rm(opts.socketPath, { force: true });
    },
  };
  if (opts.socketPath !== undefined) peer.socketPath = opts.socketPath;
  return peer;
}

/** A fresh path for a unix-socket peer (in its own temp dir). */
export async function tempSocketPath(name = 'peer.sock'): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'mxq-sock-')), name);
}
