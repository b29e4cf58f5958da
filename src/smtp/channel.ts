/**
 * One SMTP byte stream: replies in (parsed, queued), commands and body out, with per-call
 * timeouts, AbortSignal, backpressure, a transcript, and "stray byte or EOF while idle" tracking.
 *
 * Decides: when a read or write has failed (EOF, timeout, reply bomb, over 1 MiB of unread replies,
 * abort) — as a StreamError.
 * Never: interprets replies; words failures (callers map StreamError to §5.6 texts).
 */
import type { Socket } from 'node:net';
import type { SmtpReply } from '../core/types.ts';
import type { ChatLog } from './chat-log.ts';
import type { StreamErrorKind } from './failures.ts';
import { createReplyParser } from './reply-parser.ts';

export class StreamError extends Error {
  readonly kind: StreamErrorKind;
  constructor(kind: StreamErrorKind) {
    super(`smtp stream ${kind}`);
    this.name = 'StreamError';
    this.kind = kind;
  }
}

export type Transcript = (dir: 'C' | 'S' | 'I', line: string) => void;

export interface Channel {
  readonly socket: Socket;
  readReply(timeoutMs: number, signal?: AbortSignal): Promise<SmtpReply>;
  /** Write bytes; `show` is what the transcript records (one 'C' line each), if anything. */
  write(data: string | Uint8Array, timeoutMs: number, signal?: AbortSignal, show?: string[]): Promise<void>;
  /** Mark the stream idle (between transactions): any byte or EOF then makes it unusable. */
  setIdle(idle: boolean): void;
  readonly usable: boolean;
  /** Some reply line was malformed (session not cacheable). */
  readonly protocolError: boolean;
  /** Stop reading this socket and forget everything buffered (before a TLS handshake). */
  detach(): Socket;
  /** Start reading a (new) socket. */
  attach(socket: Socket): void;
  info(line: string): void;
  destroy(): void;
  /** --- notices: the session history for postmaster notices, when kept. */
  readonly history?: ChatLog;
}

type Waiter = { resolve: (r: SmtpReply) => void; reject: (e: StreamError) => void };

/** Most reply text held unread (bytes): far above any pipelined window or LMTP reply set. */
const MAX_QUEUED = 1 << 20;
const weight = (r: SmtpReply): number => r.text.length + 1;

/** `warn` receives the reply parser's warnings (over-long lines, dropped multi-line text). */
export function createChannel(
  initial: Socket,
  transcript?: Transcript,
  warn?: (text: string) => void,
  history?: ChatLog,
): Channel {
  let socket = initial;
  const parser = createReplyParser(warn ? { warn } : {});
  let queue: SmtpReply[] = [];
  let queued = 0;
  const next = (): SmtpReply | undefined => {
    const r = queue.shift();
    if (r) queued -= weight(r);
    return r;
  };
  let waiter: Waiter | undefined;
  let failed: StreamErrorKind | undefined;
  let idle = false;
  let stray = false;
  let protocolError = false;

  const fail = (kind: StreamErrorKind): void => {
    if (!failed) failed = kind;
    const w = waiter;
    waiter = undefined;
    w?.reject(new StreamError(failed));
  };
  const onData = (chunk: Buffer): void => {
    if (idle) stray = true;
    for (const r of parser.push(chunk)) {
      if (transcript) for (const l of r.lines) transcript('S', l);
      if (history) for (const l of r.lines) history.record('S', l);
      const { malformed, ...reply } = r;
      if (malformed) {
        protocolError = true;
        history?.mark('protocol');
      }
      queue.push(reply);
      queued += weight(reply);
    }
    if (parser.overflow || queued > MAX_QUEUED) {
      queue = [];
      queued = 0;
      fail('overflow');
      socket.destroy();
      return;
    }
    const w = waiter;
    if (w && queue.length > 0) {
      const r = next();
      waiter = undefined;
      if (r) w.resolve(r);
    }
  };
  const onEnd = (): void => {
    if (idle) stray = true;
    fail('eof');
  };
  const onError = (): void => fail('eof');
  const listen = (s: Socket): void => {
    s.on('data', onData);
    s.on('end', onEnd);
    s.on('close', onEnd);
    s.on('error', onError);
  };
  listen(socket);

  const withDeadline = <T>(
    timeoutMs: number,
    signal: AbortSignal | undefined,
    run: (done: (e?: StreamError) => void) => Promise<T>,
  ): Promise<T> => {
    if (signal?.aborted) return Promise.reject(new StreamError('abort'));
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    return new Promise<T>((resolve, reject) => {
      const done = (e?: StreamError): void => {
        if (timer) clearTimeout(timer);
        if (onAbort) signal?.removeEventListener('abort', onAbort);
        if (e) reject(e);
      };
      if (timeoutMs > 0) timer = setTimeout(() => done(new StreamError('timeout')), timeoutMs);
      onAbort = () => {
        socket.destroy();
        done(new StreamError('abort'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      run(done).then(
        (v) => {
          done();
          resolve(v);
        },
        (e: unknown) => {
          done();
          reject(e);
        },
      );
    });
  };

  return {
    get socket() {
      return socket;
    },
    readReply(timeoutMs, signal) {
      const ready = next();
      if (ready) return Promise.resolve(ready);
      if (failed) return Promise.reject(new StreamError(failed));
      return withDeadline(timeoutMs, signal, (done) => {
        const p = new Promise<SmtpReply>((resolve, reject) => {
          waiter = { resolve, reject };
        });
        // A timeout/abort rejects via done(); drop the waiter then.
        return p.finally(() => {
          waiter = undefined;
          done();
        });
      }).catch((e: unknown) => {
        waiter = undefined;
        throw e;
      });
    },
    write(data, timeoutMs, signal, show) {
      if (failed) return Promise.reject(new StreamError(failed));
      if (signal?.aborted) {
        // Nothing reaches the wire after an abort (not even a write the buffer would take).
        socket.destroy();
        return Promise.reject(new StreamError('abort'));
      }
      if (transcript && show) for (const l of show) transcript('C', l);
      if (history && show) for (const l of show) history.record('C', l);
      if (socket.destroyed || !socket.writable) return Promise.reject(new StreamError('eof'));
      if (socket.write(data)) return Promise.resolve();
      return withDeadline(timeoutMs, signal, () => {
        return new Promise<void>((resolve, reject) => {
          const cleanup = (): void => {
            socket.off('drain', ok);
            socket.off('close', bad);
          };
          const ok = (): void => {
            cleanup();
            resolve();
          };
          const bad = (): void => {
            cleanup();
            reject(new StreamError('eof'));
          };
          socket.on('drain', ok);
          socket.on('close', bad);
        });
      });
    },
    setIdle(v) {
      idle = v;
      if (v && (queue.length > 0 || parser.pending || failed)) stray = true;
    },
    get usable() {
      return !failed && !stray && !socket.destroyed && socket.writable;
    },
    get protocolError() {
      return protocolError;
    },
    detach() {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      queue = [];
      queued = 0;
      parser.reset();
      return socket;
    },
    attach(s) {
      socket = s;
      failed = undefined;
      listen(s);
    },
    info(line) {
      transcript?.('I', line);
    },
    destroy() {
      socket.destroy();
    },
    ...(history ? { history } : {}),
  };
}
