/**
 * `mxq send`: enqueue one message from a file or stdin; optionally wait for its outcome.
 *
 * usage: mxq send --from A --to B [--to C ...] [--nexthop N] [--lmtp] [--file F] [--wait [--timeout S]]
 *                 [--json] [--smtputf8] [--requiretls] [--ret FULL|HDRS] [--envid ID] [--notify LIST]
 *                 [--redis URL] [--prefix P] [--config FILE]      (message from stdin without --file)
 * Decides: argument syntax, the output (queue id; with --wait one line per recipient, or JSON) and
 * the exit status: 0 queued (or, with --wait, every recipient sent), 69 some recipient bounced or
 * expired, 75 still undelivered at the timeout or Redis unreachable, 65 bad input, 64 usage.
 * Never: delivers mail itself.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { DsnNotify } from '../core/types.ts';
import type { RecipientJournalEntry } from '../queue/job-schema.ts';
import { type MailQueue, MailQueueInputError, type SendInput } from '../queue/mail-queue.ts';
import { CONNECTION_ARGS, openQueueFromArgs } from './queue-connection.ts';

const USAGE =
  'usage: mxq send --from A --to B [--to C ...] [--nexthop N] [--lmtp] [--file F] [--wait [--timeout S]] [--json]\n' +
  '                [--smtputf8] [--requiretls] [--ret FULL|HDRS] [--envid ID] [--notify LIST] [--redis URL] [--prefix P] [--config FILE]\n';

class UsageError extends Error {}

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

type Values = ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS }>>['values'];

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

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

function timeoutMs(v: Values): number {
  if (v.timeout === undefined) return 300_000;
  const s = Number(v.timeout);
  if (!Number.isFinite(s) || s <= 0) throw new UsageError(`bad --timeout "${v.timeout}" (seconds)`);
  return s * 1000;
}

function outcomeLine(queueId: string, e: RecipientJournalEntry): string {
  return `${queueId}: to=<${e.recipient}>, relay=${e.relay}, dsn=${e.dsn}, status=${e.status} (${e.diagnostic})`;
}

async function sendAndReport(q: MailQueue, v: Values, input: SendInput): Promise<number> {
  const { queueId, jobIds } = await q.send(input);
  if (!v.wait) {
    process.stdout.write(v.json ? `${JSON.stringify({ queueId, jobIds })}\n` : `${queueId}\n`);
    return 0;
  }
  if (!v.json) process.stdout.write(`${queueId}\n`);
  let outcome: RecipientJournalEntry[];
  try {
    outcome = await q.waitForOutcome(queueId, { timeoutMs: timeoutMs(v) });
  } catch (err) {
    if (v.json) process.stdout.write(`${JSON.stringify({ queueId, jobIds, outcome: null })}\n`);
    process.stderr.write(`mxq send: ${(err as Error).message}\n`);
    return 75;
  }
  if (v.json) process.stdout.write(`${JSON.stringify({ queueId, jobIds, outcome })}\n`);
  else for (const e of outcome) process.stdout.write(`${outcomeLine(queueId, e)}\n`);
  return outcome.every((e) => e.status === 'sent') ? 0 : 69;
}

export async function run(argv: string[]): Promise<number> {
  let v: Values;
  let input: SendInput;
  try {
    v = parseArgs({ args: argv, options: OPTIONS }).values;
    if (v.wait) timeoutMs(v);
    const message = v.file !== undefined ? await readFile(v.file) : await readStdin();
    input = buildInput(v, message);
  } catch (err) {
    process.stderr.write(`mxq send: ${(err as Error).message}\n${USAGE}`);
    return 64;
  }
  const q = await openQueueFromArgs(v);
  try {
    return await sendAndReport(q, v, input);
  } catch (err) {
    process.stderr.write(`mxq send: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof MailQueueInputError ? 65 : 75;
  } finally {
    await q.close();
  }
}
