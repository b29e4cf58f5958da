/**
 * mxq's log lines as Postfix writes them to syslog, for tools that read Postfix logs
 * (pflogsumm, grep habits): `Dec  2 03:04:05 myhost mxq/smtp[1234]: 3F2A...: to=<a@b>, relay=...`.
 *
 * Decides: the text form of one pino JSON record: syslog time (local, "Mmm dd hh:mm:ss"), the host
 * name, `mxq/<component>[pid]` (component `smtp` for delivery records, `qmgr` for queue
 * events, else `worker`), Postfix's `warning: ` / `error: ` prefixes, and the message text with
 * control characters escaped; one line per record, never a stack trace.
 * Never: drops a record (a line that is not JSON is passed through), reorders lines.
 */
import { Writable } from 'node:stream';
import { escapeControls } from '../core/escape.ts';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function syslogTime(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

const QMGR_EVENTS = new Set(['bounce-sent', 'message-removed', 'expired', 'delay-warning-sent']);

function component(rec: Record<string, unknown>): string {
  const event = typeof rec.event === 'string' ? rec.event : '';
  if (event === 'recipient' || rec.nexthop !== undefined) return 'smtp';
  if (QMGR_EVENTS.has(event)) return 'qmgr';
  return 'worker';
}

/** One Postfix-style line for a pino JSON record (without the newline). */
export function postfixTextLine(json: string, host: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return escapeControls(json, 4000);
  }
  const t = rec.time;
  const when = typeof t === 'string' || typeof t === 'number' ? new Date(t) : new Date();
  const level = typeof rec.level === 'number' ? rec.level : 30;
  const prefix = level >= 60 ? 'fatal: ' : level >= 50 ? 'error: ' : level >= 40 ? 'warning: ' : '';
  let msg = typeof rec.msg === 'string' ? rec.msg : '';
  if (typeof rec.err === 'string' && !msg.includes(rec.err)) msg = `${msg}: ${rec.err}`;
  const pid = typeof rec.pid === 'number' ? rec.pid : process.pid;
  const firstLine = msg.split('\n')[0] ?? '';
  return `${syslogTime(when)} ${host} mxq/${component(rec)}[${pid}]: ${prefix}${escapeControls(firstLine, 4000)}`;
}

/** A stream pino can write JSON lines to; it writes Postfix-style text lines to `out`. */
export function postfixTextStream(out: NodeJS.WritableStream, host: string): Writable {
  let pending = '';
  return new Writable({
    write(chunk: Buffer | string, _enc, done) {
      pending += chunk.toString();
      let nl = pending.indexOf('\n');
      let text = '';
      while (nl >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.trim() !== '') text += `${postfixTextLine(line, host)}\n`;
        nl = pending.indexOf('\n');
      }
      if (text === '') done();
      else out.write(text, () => done());
    },
  });
}
