/**
 * `mxq send`: enqueue one message from a file or stdin; optionally wait for its outcome.
 *
 * Decides: argument syntax, the output (queue id; with --wait a line per deferral as it happens
 * and one line per recipient at the end, or JSON), error texts that name the flag the user typed
 * (--to, not to[1]) and the exit status (docs/cli.md): 0 queued (or, with --wait, every recipient
 * sent), 69 some recipient bounced or expired or Redis unreachable, 75 still undelivered at the
 * timeout, 65 bad input, 66 --file missing, 77 Redis password refused, 64 usage.
 * Never: delivers mail itself; queues on a guessed Redis (queue-connection.ts).
 */
import { readFile } from 'node:fs/promises';
import type { DsnNotify } from '../core/types.ts';
import type { DeliveryEvent, RecipientJournalEntry } from '../queue/job-schema.ts';
import {
  type MailQueue,
  MailQueueInputError,
  OutcomeTimeoutError,
  type SendInput,
} from '../queue/mail-queue.ts';
import { CliError, callerPath, EXIT, escapeControls, fail, parseCommand, usageError } from './cli-kit.ts';
import { CONNECTION_ARGS, CONNECTION_USAGE, withQueue } from './queue-connection.ts';

const USAGE = `usage: mxq send --from A --to B [--to C ...] [options] [--file F]   (message from stdin without --file)

Queue one message for delivery by the workers and print its queue id.

  --from A         envelope sender (--from "" for the null sender)
  --to B           recipient; repeat for more
  --file F         the message (RFC 5322, headers and body); default stdin
  --nexthop N      Postfix next-hop, e.g. "[127.0.0.1]:2525" (default: relayhost, else each domain)
  --lmtp           deliver with LMTP (needs --nexthop)
  --smtputf8       the envelope or headers use UTF-8 (RFC 6531)
  --requiretls     RFC 8689 REQUIRETLS
  --ret FULL|HDRS  DSN RET   --envid ID  DSN ENVID   --notify LIST  DSN NOTIFY (e.g. FAILURE,DELAY)
  --wait           wait for the outcome: a line per deferral while waiting, one line per recipient
  --timeout S      with --wait: give up after S seconds (default 300; exit 75)
  --json           print JSON
${CONNECTION_USAGE}
exit: 0 queued/sent, 64 usage, 65 bad input, 66 no such --file, 69 bounced or Redis unavailable,
      75 still undelivered at --timeout, 77 Redis password refused (docs/cli.md)
`;

const OPTIONS = {
  ...CONNECTION_ARGS,
  from: { type: 'string' },
  to: { type: 'string', multiple: true },
  nexthop: { type: 'string' },
  lmtp: { type: 'boolean' },
  file: { type: 'string' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  smtputf8: { type: 'boolean' },
  requiretls: { type: 'boolean' },
  ret: { type: 'string' },
  envid: { type: 'string' },
  notify: { type: 'string' },
} as const;

const SPEC = { name: 'send', usage: USAGE, options: OPTIONS };

interface Values {
  from?: string | undefined;
  to?: string[] | undefined;
  nexthop?: string | undefined;
  lmtp?: boolean | undefined;
  file?: string | undefined;
  wait?: boolean | undefined;
  timeout?: string | undefined;
  json?: boolean | undefined;
  smtputf8?: boolean | undefined;
  requiretls?: boolean | undefined;
  ret?: string | undefined;
  envid?: string | undefined;
  notify?: string | undefined;
  redis?: string | undefined;
  prefix?: string | undefined;
  config?: string | undefined;
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

async function readMessage(v: Values): Promise<Buffer> {
  if (v.file === undefined) return readStdin();
  const path = callerPath(v.file);
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(
      code === 'ENOENT' ? EXIT.NOINPUT : EXIT.DATAERR,
      `--file ${v.file}: ${code === 'ENOENT' ? `no such file (looked for ${path})` : (err as Error).message}`,
    );
  }
}

class UsageError extends Error {}

function buildInput(v: Values, message: Buffer): SendInput {
  if (v.from === undefined) throw new UsageError('--from is required (use --from "" for the null sender)');
  if (v.to === undefined || v.to.length === 0) throw new UsageError('at least one --to is required');
  const input: SendInput = { from: v.from, to: v.to, message };
  if (v.nexthop !== undefined) input.nexthop = v.nexthop;
  if (v.lmtp) input.transport = 'lmtp';
  if (v.smtputf8) input.smtputf8 = true;
  if (v.requiretls) input.requireTls = true;
  const dsn: NonNullable<SendInput['dsn']> = {};
  if (v.ret !== undefined) dsn.ret = v.ret.toUpperCase() as 'FULL' | 'HDRS';
  if (v.envid !== undefined) dsn.envid = v.envid;
  if (v.notify !== undefined)
    dsn.notify = v.notify.split(',').map((n) => n.trim().toUpperCase()) as DsnNotify[];
  if (Object.keys(dsn).length > 0) input.dsn = dsn;
  return input;
}

/** The flag the user typed for a send() field ("to[1]" → "--to (2nd)"). */
export function flagForField(field: string): string {
  const to = /^to\[(\d+)\]$/.exec(field);
  if (to?.[1] !== undefined) return `--to #${Number(to[1]) + 1}`;
  const map: Record<string, string> = {
    from: '--from',
    to: '--to',
    message: '--file (or stdin)',
    nexthop: '--nexthop',
    transport: '--lmtp',
    smtputf8: '--smtputf8',
    requireTls: '--requiretls',
    'dsn.ret': '--ret',
    'dsn.envid': '--envid',
    'dsn.notify': '--notify',
    'options.relayhost': 'relayhost (in --config)',
  };
  return map[field] ?? field;
}

function inputErrorText(err: MailQueueInputError): string {
  const rest = err.message.startsWith(`${err.field}: `)
    ? err.message.slice(err.field.length + 2)
    : err.message;
  return `${flagForField(err.field)}: ${rest}`;
}

function timeoutMs(v: Values): number {
  if (v.timeout === undefined) return 300_000;
  const s = Number(v.timeout);
  if (!Number.isFinite(s) || s <= 0)
    throw new UsageError(`--timeout: bad value "${v.timeout}" (seconds > 0)`);
  return s * 1000;
}

function outcomeLine(queueId: string, e: RecipientJournalEntry): string {
  return `${queueId}: to=<${e.recipient}>, relay=${e.relay}, dsn=${e.dsn}, status=${e.status} (${escapeControls(e.diagnostic)})`;
}

function deferralLine(e: DeliveryEvent): string {
  return `${e.queueId}: to=<${e.recipient}>, relay=${e.relay}, dsn=${e.dsn}, status=deferred (${escapeControls(e.diagnostic)})`;
}

async function sendAndReport(q: MailQueue, v: Values, input: SendInput): Promise<number> {
  const { queueId, jobIds } = await q.send(input);
  if (!v.wait) {
    process.stdout.write(v.json ? `${JSON.stringify({ queueId, jobIds })}\n` : `${queueId}\n`);
    return EXIT.OK;
  }
  if (!v.json) process.stdout.write(`${queueId}\n`);
  const deferrals: DeliveryEvent[] = [];
  let outcome: RecipientJournalEntry[];
  try {
    outcome = await q.waitForOutcome(queueId, {
      timeoutMs: timeoutMs(v),
      onEvent: (e) => {
        if (e.event !== 'deferred') return;
        deferrals.push(e);
        // While waiting, say what is happening (stderr, so stdout keeps its one-line-per-recipient shape).
        process.stderr.write(`${deferralLine(e)}\n`);
      },
    });
  } catch (err) {
    if (!(err instanceof OutcomeTimeoutError)) throw err;
    if (v.json)
      process.stdout.write(
        `${JSON.stringify({ queueId, jobIds, outcome: null, pending: err.pending, deferrals })}\n`,
      );
    return fail('send', EXIT.TEMPFAIL, `${err.message}; still pending: ${err.pending.join(', ')}`);
  }
  if (v.json) process.stdout.write(`${JSON.stringify({ queueId, jobIds, outcome, deferrals })}\n`);
  else for (const e of outcome) process.stdout.write(`${outcomeLine(queueId, e)}\n`);
  return outcome.every((e) => e.status === 'sent') ? EXIT.OK : EXIT.UNAVAILABLE;
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(SPEC, argv);
  if (parsed.exit !== undefined) return parsed.exit;
  const v = parsed.values as Values;
  let input: SendInput;
  try {
    if (v.wait) timeoutMs(v);
    if (v.from === undefined || v.to === undefined) buildInput(v, Buffer.alloc(0));
    input = buildInput(v, await readMessage(v));
  } catch (err) {
    if (err instanceof CliError) return fail('send', err.code, err.message);
    return usageError(SPEC, (err as Error).message);
  }
  return withQueue('send', v, async (q) => {
    try {
      return await sendAndReport(q, v, input);
    } catch (err) {
      if (err instanceof MailQueueInputError) return fail('send', EXIT.DATAERR, inputErrorText(err));
      throw err;
    }
  });
}
