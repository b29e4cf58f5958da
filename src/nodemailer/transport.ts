/**
 * mxqTransport: a nodemailer transport that enqueues instead of sending.
 * `nodemailer.createTransport(mxqTransport({ redis }))`: nodemailer builds the MIME message (its own
 * MimeNode stream), this transport hands the bytes and the envelope to `createMailQueue().send()`.
 *
 * Decides: how nodemailer's message options map onto SendInput: the envelope (nodemailer's own
 * `envelope` option or the one it derives from From/To/Cc/Bcc), DSN (`dsn: { ret, envid, notify,
 * orcpt }`, nodemailer's spellings `return`/`id`/`recipient` too), `requireTLSExtensionEnabled`
 * → requireTls, SMTPUTF8 when an envelope address is not ASCII, and per-message `mxq: { nexthop,
 * transport }`; the shape of `info` (nodemailer's messageId/envelope/accepted/rejected/response,
 * plus queueId and jobIds).
 * Never: validates addresses itself (send() does: bad input rejects with send()'s named-field
 * MailQueueInputError, nothing written), delivers mail, opens Redis before the first sendMail().
 */
import type { Transport, Transporter } from 'nodemailer';
import type MailMessage from 'nodemailer/lib/mailer/mail-message.js';
import type { DsnNotify, Protocol } from '../core/types.ts';
import { createMailQueue, type MailQueue, type MailQueueOptions } from '../queue/mail-queue.ts';
import { MailQueueInputError, type SendInput } from '../queue/validate.ts';

export interface MxqTransportOptions extends Partial<MailQueueOptions> {
  /** An existing queue client to enqueue through (not closed by the transport). */
  queue?: MailQueue;
}

/** What sendMail() resolves with: nodemailer's info fields plus the mxq queue id. */
export interface MxqSentMessageInfo {
  messageId: string;
  envelope: { from: string; to: string[] };
  accepted: string[];
  rejected: string[];
  pending: string[];
  response: string;
  queueId: string;
  jobIds: string[];
}

/**
 * nodemailer's typings give createTransport(customTransport) SMTP's info type; cast to this to see
 * queueId: `nodemailer.createTransport(mxqTransport({ redis })) as MxqTransporter`.
 */
export type MxqTransporter = Transporter<MxqSentMessageInfo>;

/** Per-message mxq options: `transporter.sendMail({ ..., mxq: { nexthop: '[127.0.0.1]:2525' } })`. */
export interface MxqMessageOptions {
  nexthop?: string;
  transport?: Protocol;
}

const VERSION = '0.1.0';

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

function mapRet(ret: unknown): 'FULL' | 'HDRS' {
  const r = typeof ret === 'string' ? ret.toUpperCase() : '';
  if (r === 'FULL') return 'FULL';
  if (r === 'HDRS' || r === 'HEADERS') return 'HDRS';
  throw new MailQueueInputError('dsn.ret', 'must be FULL or HDRS (nodemailer: "full" or "headers")');
}

function mapNotify(notify: unknown): DsnNotify[] {
  const list = typeof notify === 'string' ? notify.split(',').map((s) => s.trim()) : notify;
  if (!Array.isArray(list)) throw new MailQueueInputError('dsn.notify', 'must be a non-empty list');
  // Case and the rest of the checks are send()'s (validate.ts upper-cases and rejects unknown words).
  return list as DsnNotify[];
}

/** nodemailer's `dsn` ({ ret|return, envid|id, notify, orcpt|recipient }) → SendInput.dsn. */
export function mapDsn(dsn: unknown): SendInput['dsn'] {
  if (dsn === undefined || dsn === null || dsn === false) return undefined;
  if (!isObj(dsn)) throw new MailQueueInputError('dsn', 'must be an object');
  const out: NonNullable<SendInput['dsn']> = {};
  const ret = dsn.ret ?? dsn.return;
  const envid = dsn.envid ?? dsn.id;
  const orcpt = dsn.orcpt ?? dsn.recipient;
  if (ret !== undefined) out.ret = mapRet(ret);
  if (envid !== undefined) out.envid = envid as string;
  if (dsn.notify !== undefined) out.notify = mapNotify(dsn.notify);
  if (orcpt !== undefined) out.orcpt = orcpt as string;
  return out;
}

function envelopeOf(mail: MailMessage): { from: string; to: string[] } {
  const env = mail.message.getEnvelope() as { from?: unknown; to?: unknown };
  if (typeof env.from !== 'string' && env.from !== '') {
    throw new MailQueueInputError('from', 'no sender: give `from` or `envelope.from`', '5.1.7');
  }
  const to = Array.isArray(env.to) ? env.to.filter((a): a is string => typeof a === 'string') : [];
  return { from: typeof env.from === 'string' ? env.from : '', to };
}

/** Builds the SendInput of one nodemailer message (the MIME bytes come from nodemailer). */
export function sendInputOf(mail: MailMessage, envelope: { from: string; to: string[] }, raw: Buffer) {
  const data = mail.data as Obj;
  const input: SendInput = { from: envelope.from, to: envelope.to, message: raw };
  const dsn = mapDsn(data.dsn);
  if (dsn !== undefined) input.dsn = dsn;
  if (data.requireTLSExtensionEnabled === true) input.requireTls = true;
  const all = [envelope.from, ...envelope.to].join('');
  if ([...all].some((c) => c.charCodeAt(0) > 0x7f)) input.smtputf8 = true;
  const mxq = data.mxq;
  if (mxq !== undefined) {
    if (!isObj(mxq)) throw new MailQueueInputError('mxq', 'must be an object');
    if (mxq.nexthop !== undefined) input.nexthop = mxq.nexthop as string;
    if (mxq.transport !== undefined) input.transport = mxq.transport as Protocol;
  }
  return input;
}

function buildRaw(mail: MailMessage): Promise<Buffer> {
  // Bcc is a header nodemailer drops from the built message unless told to keep it: it stays out.
  return new Promise((done, fail) => {
    mail.message.build((err, raw) => (err ? fail(err) : done(raw)));
  });
}

/** Creates the transport; pass it to nodemailer.createTransport(). */
export function mxqTransport(
  opts: MxqTransportOptions,
): Transport<MxqSentMessageInfo> & { close(): Promise<void> } {
  let own: MailQueue | undefined;
  const queue = (): MailQueue => {
    if (opts.queue !== undefined) return opts.queue;
    if (opts.redis === undefined) throw new TypeError('mxqTransport: give `redis` or `queue`');
    own ??= createMailQueue({ ...opts, redis: opts.redis });
    return own;
  };

  async function enqueue(mail: MailMessage): Promise<MxqSentMessageInfo> {
    const envelope = envelopeOf(mail);
    const messageId = mail.message.messageId();
    const raw = await buildRaw(mail);
    const input = sendInputOf(mail, envelope, raw);
    const { queueId, jobIds } = await queue().send(input);
    return {
      messageId,
      envelope,
      accepted: [...new Set(envelope.to)],
      rejected: [],
      pending: [],
      response: `250 2.0.0 Ok: queued as ${queueId}`,
      queueId,
      jobIds,
    };
  }

  return {
    name: 'mxq',
    version: VERSION,
    send(mail, callback) {
      enqueue(mail).then(
        (info) => callback(null, info),
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err)), undefined as never),
      );
    },
    /** Closes the queue client the transport opened (transporter.close() calls it too). */
    async close() {
      const q = own;
      own = undefined;
      await q?.close();
    },
  };
}
