/**
 * `mxq deliver`: one delivery attempt in-process (no queue), one result per recipient.
 *
 * usage: mxq deliver --from A --to B [--to C ...] [--nexthop N] [--lmtp] [--config FILE] [--json]
 *                    [--smtputf8] [--requiretls] [--verbose] < message.eml
 * Decides: argument syntax, the default next-hop ($relayhost, else the recipients' common domain),
 * the output format (text, or one JSON object per line with --json) and the exit status:
 * 0 every recipient sent, 75 any deferred, 69 any bounced and none deferred, 64 usage error,
 * 65 bad input (the queue's own validation, before any connection is made).
 * Never: retries, queues or writes bounces. Log lines go to stderr, results to stdout.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { DeliveryOptionsInput } from '../core/options.ts';
import { type ResolvedOptions, resolveOptions } from '../core/options.ts';
import type { AttemptResult, RecipientResult } from '../core/types.ts';
import { nexthopFor } from '../queue/job-plan.ts';
import { MailQueueInputError, validateSendInput } from '../queue/validate.ts';
import { loadConfigFile } from '../runtime/config.ts';
import { createLogger } from '../runtime/logger.ts';
import { createDeliveryAgent } from '../workers/agent.ts';
import { EXIT, fail, usageError } from './cli-kit.ts';

const USAGE =
  'usage: mxq deliver --from A --to B [--to C ...] [--nexthop N] [--lmtp] [--config FILE] [--json] [--smtputf8] [--requiretls] [--verbose] < message.eml\n';

class UsageError extends Error {}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

/** The recipients' one next-hop, by the queue's own rule ($relayhost, else the domain); LMTP ignores relayhost. */
function defaultNexthop(to: string[], opts: ResolvedOptions, lmtp: boolean): string {
  const routing = lmtp ? { ...opts, relayhost: '' } : opts;
  const hops = new Set(to.map((a) => nexthopFor(a, {}, routing)));
  const [only] = hops;
  if (hops.size !== 1 || only === undefined || only === '' || to.some((a) => !a.includes('@'))) {
    throw new UsageError('recipients must share one domain, or give --nexthop');
  }
  return only;
}

function parse(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      from: { type: 'string' },
      to: { type: 'string', multiple: true },
      nexthop: { type: 'string' },
      lmtp: { type: 'boolean', default: false },
      config: { type: 'string' },
      json: { type: 'boolean', default: false },
      smtputf8: { type: 'boolean', default: false },
      requiretls: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  return values;
}

function formatText(r: RecipientResult): string {
  return `${r.recipient.address}: ${r.status} dsn=${r.dsn} relay=${r.relay} (${r.diagnostic})\n`;
}

function formatJson(r: RecipientResult, result: AttemptResult): string {
  const servers = result.servers.map((s) => ({
    host: s.host,
    addr: s.addr,
    port: s.port,
    outcome: s.outcome,
  }));
  const o = {
    recipient: r.recipient.address,
    status: r.status,
    dsn: r.dsn,
    relay: r.relay,
    diagnostic: r.diagnostic,
    servers,
  };
  return `${JSON.stringify(o)}\n`;
}

export function exitCodeFor(result: AttemptResult): number {
  if (result.recipients.some((r) => r.status === 'deferred')) return 75;
  if (result.recipients.some((r) => r.status === 'bounced')) return 69;
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>;
  try {
    values = parse(argv);
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (values.from === undefined || values.to === undefined || values.to.length === 0) {
      throw new UsageError('--from and at least one --to are required');
    }
  } catch (err) {
    return usageError({ name: 'deliver', usage: USAGE }, err instanceof Error ? err.message : String(err));
  }
  let input: DeliveryOptionsInput = {};
  let nexthop: string;
  let opts: ReturnType<typeof resolveOptions>;
  try {
    if (values.config !== undefined) input = await loadConfigFile(values.config);
    opts = resolveOptions(input);
    nexthop = values.nexthop ?? defaultNexthop(values.to, opts, values.lmtp);
  } catch (err) {
    return fail('deliver', EXIT.USAGE, err instanceof Error ? err.message : String(err));
  }
  const raw = await readStdin();
  let validated: ReturnType<typeof validateSendInput>;
  try {
    validated = validateSendInput(
      {
        from: values.from,
        to: values.to,
        message: raw,
        nexthop,
        transport: values.lmtp ? 'lmtp' : 'smtp',
        smtputf8: values.smtputf8,
        requireTls: values.requiretls,
      },
      opts,
    );
  } catch (err) {
    if (!(err instanceof MailQueueInputError)) throw err;
    process.stderr.write(`mxq deliver: ${err.message}\n`);
    return 65;
  }
  const valid = validated;
  const logger = createLogger({ level: values.verbose ? 'debug' : 'info', destination: process.stderr });
  const agent = createDeliveryAgent(opts, { logger });
  const now = Date.now();
  try {
    const result = await agent.deliver({
      queueId: randomBytes(5).toString('hex').toUpperCase(),
      sender: valid.sender,
      recipients: valid.recipients,
      nexthop,
      protocol: valid.transport,
      message: valid.body,
      size: valid.size,
      eightBit: valid.eightBit,
      smtputf8: valid.smtputf8,
      requireTls: valid.requireTls,
      arrivalTime: now,
      activeTime: now,
    });
    for (const r of result.recipients)
      process.stdout.write(values.json ? formatJson(r, result) : formatText(r));
    return exitCodeFor(result);
  } finally {
    await agent.close();
  }
}
