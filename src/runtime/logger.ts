/**
 * The real Logger: pino, JSON lines with ISO-8601 times, credentials redacted; or, with format
 * `postfix` (MXQ_LOG_FORMAT=postfix, `mxq worker --log-format postfix`), Postfix-style syslog
 * text lines (log-format.ts) that Postfix log tools read.
 *
 * Decides: the log format, the time format (`"time":"2026-12-02T03:04:05.678Z"`), and which
 * fields are never written (password, credentials, auth, secret, token, at the top level and one
 * level down); an `err` that is an Error is written as its first message line, never a stack.
 * Never: prints anything passed under a redacted key.
 */
import { hostname } from 'node:os';
import { pino } from 'pino';
import type { Logger } from '../core/ports.ts';
import { postfixTextStream } from './log-format.ts';

const SECRET_KEYS = ['password', 'pass', 'credentials', 'auth', 'secret', 'token', 'sasl'];
const REDACT_PATHS = [...SECRET_KEYS, ...SECRET_KEYS.map((k) => `*.${k}`)];

export type LogFormat = 'json' | 'postfix';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'postfix'];

/** An Error under `err` becomes its first message line (one line per event, no stack at any level). */
function errSerializer(e: unknown): unknown {
  if (e instanceof Error) return (e.message.split('\n')[0] ?? '').trim();
  return e;
}

export function createLogger(
  opts: { level?: string; destination?: NodeJS.WritableStream; format?: LogFormat } = {},
): Logger {
  const options = {
    level: opts.level ?? process.env.MXQ_LOG_LEVEL ?? 'info',
    base: { name: 'mxq' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { err: errSerializer },
  };
  const format = opts.format ?? (process.env.MXQ_LOG_FORMAT === 'postfix' ? 'postfix' : 'json');
  const out = opts.destination ?? process.stdout;
  if (format === 'postfix') return pino(options, postfixTextStream(out, hostname()));
  return opts.destination === undefined ? pino(options) : pino(options, opts.destination);
}
