/**
 * The real Logger: pino, JSON lines, with credentials redacted.
 *
 * Decides: the log format and which fields are never written (password, credentials, auth,
 * secret, token, at the top level and one level down).
 * Never: prints anything passed under a redacted key.
 */
import { pino } from 'pino';
import type { Logger } from '../core/ports.ts';

const SECRET_KEYS = ['password', 'pass', 'credentials', 'auth', 'secret', 'token', 'sasl'];
const REDACT_PATHS = [...SECRET_KEYS, ...SECRET_KEYS.map((k) => `*.${k}`)];

export function createLogger(opts: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const options = {
    level: opts.level ?? process.env.MXQ_LOG_LEVEL ?? 'info',
    base: { name: 'mxq' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  const destination = opts.destination;
  return destination === undefined ? pino(options) : pino(options, destination);
}
