/**
 * The raw layer of the test SMTP peer: patches one smtp-server connection object so a PeerScript
 * can do what smtp-server alone cannot (custom greeting, arbitrary replies at any stage, delays,
 * disconnects, EHLO name and extra keywords, bytes injected after the STARTTLS reply) and taps
 * the parser so commands (with their TLS state, including plaintext pipelined after STARTTLS that
 * smtp-server discards) and the DATA body as on the wire are recorded.
 *
 * Decides: which smtp-server internals are wrapped (init, _sendGreeting, _onCommand, send,
 * upgrade, _createParser); everything not scripted falls through to smtp-server unchanged.
 * Never: changes smtp-server's module code or prototypes (only per-connection instance fields).
 */
import type { Socket } from 'node:net';
import type { PeerScript, PeerStage } from './smtp-peer.ts';

type Cb = () => void;

/** The parts of smtp-server's SMTPConnection that the peer reaches into. */
export interface ConnInternals {
  id: string;
  name: string;
  secure: boolean;
  _socket: Socket;
  _parser: ParserInternals | false;
  session: { secure?: boolean };
  init(): void;
  _setListeners(cb: Cb): void;
  connectionReady(next?: Cb): void;
  _sendGreeting(): void;
  _onCommand(command: Buffer, callback?: Cb): void;
  send(code: number, data?: string | string[], context?: unknown): void;
  upgrade(callback: Cb, secureCallback?: Cb): void;
  _createParser(): ParserInternals;
}
interface ParserInternals {
  _dataMode: boolean;
  isClosed: boolean;
  _write(chunk: Buffer, encoding: BufferEncoding, next: (err?: Error) => void): void;
}

export interface ConnHooks {
  connNo: number;
  script(): PeerScript;
  record(line: string, tls: boolean): void;
  extraEhloKeywords(): string[];
}

export interface ConnState {
  /** Raw bytes received while the parser was in data mode (reset per message). */
  wire: Buffer[];
  /** Exact replies (CRLF included) that replace smtp-server's next send() calls, in order. */
  overrides: string[];
  socket(): Socket;
}

const STAGES: Record<string, PeerStage> = {
  EHLO: 'ehlo',
  HELO: 'helo',
  LHLO: 'lhlo',
  STARTTLS: 'starttls',
  AUTH: 'auth',
  MAIL: 'mail',
  RCPT: 'rcpt',
  DATA: 'data',
  RSET: 'rset',
  QUIT: 'quit',
};

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const crlf = (reply: string) => `${reply.replace(/\r?\n/g, '\r\n')}\r\n`;
const isSuccess = (reply: string) => /^[23]/.test(reply);

export function scriptedReply(script: PeerScript, stage: PeerStage, line: string): string | undefined {
  switch (stage) {
    case 'ehlo':
    case 'lhlo':
      return script.ehlo;
    case 'helo':
      return script.helo;
    case 'mail':
      return script.mail;
    case 'data':
      return script.data;
    case 'rset':
      return script.rset;
    case 'rcpt': {
      if (typeof script.rcpt !== 'function') return script.rcpt;
      const m = /^RCPT\s+TO:\s*<([^>]*)>/i.exec(line);
      return script.rcpt(m?.[1] ?? '');
    }
    default:
      return undefined;
  }
}

/** Patch a freshly created smtp-server connection (before init()). */
export function patchConnection(conn: ConnInternals, hooks: ConnHooks): ConnState {
  const state: ConnState = { wire: [], overrides: [], socket: () => conn._socket };
  tapParsers(conn, hooks, state);
  // No 100 ms "early talker" pause before the greeting.
  conn.init = function init() {
    this._setListeners(() => this.connectionReady());
  };
  const origGreeting = conn._sendGreeting.bind(conn);
  conn._sendGreeting = () => {
    const s = hooks.script();
    void afterDelay(s.delayMs?.greeting, () => {
      if (s.disconnectAt === 'greeting') return void conn._socket.destroy();
      if (s.greeting === undefined) return origGreeting();
      conn._socket.write(crlf(s.greeting));
      if (s.greeting.startsWith('421')) conn._socket.end();
    });
  };
  const origSend = conn.send.bind(conn);
  conn.send = (code, data, context) => {
    const next = state.overrides.shift();
    if (next === undefined) return origSend(code, withEhloExtras(hooks, data), context);
    if (!conn._socket.destroyed) conn._socket.write(next);
  };
  const origCommand = conn._onCommand.bind(conn);
  conn._onCommand = (command, callback) => {
    const line = command.toString('binary');
    hooks.record(line, conn.secure);
    const verb = (line.split(' ')[0] ?? '').toUpperCase();
    const stage = STAGES[verb];
    if (stage === undefined) return origCommand(command, callback);
    const s = hooks.script();
    void afterDelay(s.delayMs?.[stage], () => {
      if (s.disconnectAt === stage) return void conn._socket.destroy();
      if (stage === 'ehlo' || stage === 'lhlo') conn.name = s.ehloName ?? conn.name;
      if (stage === 'starttls' && s.starttlsInjection !== undefined && !conn.secure) {
        state.overrides.push(`220 2.0.0 Ready to start TLS\r\n${s.starttlsInjection}`);
      }
      const reply = scriptedReply(s, stage, line);
      if (reply === undefined) return origCommand(command, callback);
      if (isSuccess(reply)) {
        state.overrides.push(crlf(reply));
        return origCommand(command, callback);
      }
      conn._socket.write(crlf(reply));
      if (reply.startsWith('421')) conn._socket.end();
      setImmediate(() => callback?.());
    });
  };
  return state;
}

function withEhloExtras(
  hooks: ConnHooks,
  data: string | string[] | undefined,
): string | string[] | undefined {
  if (!Array.isArray(data) || !/Nice to meet you/.test(data[0] ?? '')) return data;
  return [...data, ...hooks.extraEhloKeywords()];
}

async function afterDelay(ms: number | undefined, fn: () => void): Promise<void> {
  if (ms !== undefined && ms > 0) await sleep(ms);
  fn();
}

/** Wrap every parser this connection creates: record data-mode bytes and dropped plaintext. */
function tapParsers(conn: ConnInternals, hooks: ConnHooks, state: ConnState): void {
  const origCreate = conn._createParser.bind(conn);
  const tapped = new WeakMap<ParserInternals, { text: string }>();
  const tap = (parser: ParserInternals): ParserInternals => {
    const log = { text: '' };
    tapped.set(parser, log);
    const origWrite = parser._write.bind(parser);
    parser._write = (chunk, encoding, next) => {
      if (parser.isClosed) recordLines(chunk.toString('binary'), hooks);
      else if (parser._dataMode) state.wire.push(Buffer.from(chunk));
      else log.text = (log.text + chunk.toString('binary')).slice(-65536);
      origWrite(chunk, encoding, next);
    };
    return parser;
  };
  if (conn._parser) tap(conn._parser);
  conn._createParser = () => tap(origCreate());
  const origUpgrade = conn.upgrade.bind(conn);
  conn.upgrade = (callback, secureCallback) => {
    const old = conn._parser;
    const log = old ? tapped.get(old) : undefined;
    if (log !== undefined) {
      const m = /(?:^|\n)STARTTLS[^\n]*\n(?![\s\S]*\nSTARTTLS)/i.exec(log.text);
      if (m) recordLines(log.text.slice(m.index + m[0].length), hooks);
    }
    origUpgrade(callback, secureCallback);
  };
}

/** Plaintext lines smtp-server drops after STARTTLS: recorded as commands with tls: false. */
function recordLines(text: string, hooks: ConnHooks): void {
  for (const line of text.split(/\r?\n/)) if (line !== '') hooks.record(line, false);
}

/** The DATA body as received on the wire: up to and including the CRLF before the final dot. */
export function wireBody(chunks: Buffer[]): Buffer {
  const all = Buffer.concat(chunks);
  if (all.subarray(0, 3).toString('binary') === '.\r\n') return Buffer.alloc(0);
  const end = all.indexOf('\r\n.\r\n');
  return end < 0 ? all : all.subarray(0, end + 2);
}
