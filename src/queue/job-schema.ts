/**
 * The shapes stored in Redis by the queue client and read by the workers: message meta, delivery
 * job data, recipient journal entries and events; plus a checked parser for job data.
 *
 * Decides: the version-1 job data schema and what counts as malformed.
 * Never: touches Redis; fills defaults into a malformed job (it throws instead).
 *
 * Encodings: job data is BullMQ's JSON; the journal hash maps recipient address → JSON of
 * RecipientJournalEntry; the events stream holds encodeDeliveryEvent() field lists.
 */
import { legacyRouteInput } from '../core/route.ts';
import type { DsnNotify, Recipient } from '../core/types.ts';

export interface DsnEnvelope {
  ret?: 'FULL' | 'HDRS';
  envid?: string;
}

/** JSON under `meta` in the message hash. */
export interface MessageMeta {
  queueId: string;
  /** Envelope sender; '' for the null sender. */
  sender: string;
  /** Body size after CRLF normalization. */
  size: number;
  /** Arrival, ms since the epoch. */
  arrivalTime: number;
  recipients: Recipient[];
  eightBit: boolean;
  smtputf8: boolean;
  requireTls: boolean;
  dsn?: DsnEnvelope;
  jobIds: string[];
  isBounce?: boolean;
}

export interface DeferralNote {
  dsn: string;
  diagnostic: string;
  relay: string;
}

/** BullMQ job data of a `deliver` job. The body is NOT here: it is in `message(queueId)`. */
export interface DeliveryJobData {
  v: 1;
  queueId: string;
  sender: string;
  recipients: Recipient[];
  /** Recipient domain, lower-case: the worker routes the job from it (core/route.ts). */
  domain: string;
  /** Only a next-hop the application asked for explicitly (or a best_mx_transport hand-off). */
  nexthop?: string;
  /** Transport of the explicit next-hop; 'smtp' when the worker routes. */
  transport: 'smtp' | 'lmtp';
  arrivalTime: number;
  attempts: number;
  size: number;
  eightBit: boolean;
  smtputf8: boolean;
  requireTls: boolean;
  dsn?: DsnEnvelope;
  /** Recipient address → its last soft failure. */
  lastDeferral?: Record<string, DeferralNote>;
  delayWarned?: boolean;
  /** Set on bounce (RFC 3464 report) jobs: they expire after bounceQueueLifetime. */
  isBounce?: boolean;
}

export interface RecipientJournalEntry {
  recipient: string;
  status: 'sent' | 'bounced' | 'expired';
  dsn: string;
  relay: string;
  diagnostic: string;
  remoteMta?: string;
  at: number;
  jobId: string;
}

export interface DeliveryEvent {
  queueId: string;
  jobId: string;
  recipient: string;
  event: 'sent' | 'deferred' | 'bounced' | 'expired' | 'delayed';
  dsn: string;
  relay: string;
  diagnostic: string;
  at: number;
}

const NOTIFY: ReadonlySet<string> = new Set(['NEVER', 'SUCCESS', 'FAILURE', 'DELAY']);

type Obj = Record<string, unknown>;

function isObj(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function fail(what: string): never {
  throw new TypeError(`malformed queue data: ${what}`);
}

function str(o: Obj, k: string): string {
  const v = o[k];
  if (typeof v !== 'string') fail(`${k} is not a string`);
  return v;
}

function num(o: Obj, k: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${k} is not a number`);
  return v;
}

function bool(o: Obj, k: string): boolean {
  const v = o[k];
  if (typeof v !== 'boolean') fail(`${k} is not a boolean`);
  return v;
}

export function parseRecipient(x: unknown, where = 'recipient'): Recipient {
  if (!isObj(x) || typeof x.address !== 'string') fail(`${where} has no address`);
  const r: Recipient = { address: x.address };
  if (x.orcpt !== undefined) {
    if (typeof x.orcpt !== 'string') fail(`${where}.orcpt is not a string`);
    r.orcpt = x.orcpt;
  }
  if (x.notify !== undefined) {
    if (!Array.isArray(x.notify) || !x.notify.every((n) => typeof n === 'string' && NOTIFY.has(n))) {
      fail(`${where}.notify is not a NOTIFY list`);
    }
    r.notify = x.notify as DsnNotify[];
  }
  return r;
}

export function parseDsnEnvelope(x: unknown): DsnEnvelope {
  if (!isObj(x)) fail('dsn is not an object');
  const d: DsnEnvelope = {};
  if (x.ret !== undefined) {
    if (x.ret !== 'FULL' && x.ret !== 'HDRS') fail('dsn.ret is not FULL or HDRS');
    d.ret = x.ret;
  }
  if (x.envid !== undefined) {
    if (typeof x.envid !== 'string') fail('dsn.envid is not a string');
    d.envid = x.envid;
  }
  return d;
}

function parseLastDeferral(x: unknown): Record<string, DeferralNote> {
  if (!isObj(x)) fail('lastDeferral is not an object');
  const out: Record<string, DeferralNote> = {};
  for (const [rcpt, note] of Object.entries(x)) {
    if (!isObj(note)) fail(`lastDeferral[${rcpt}] is not an object`);
    out[rcpt] = { dsn: str(note, 'dsn'), diagnostic: str(note, 'diagnostic'), relay: str(note, 'relay') };
  }
  return out;
}

/** Checks and copies BullMQ job data. Throws TypeError naming the first bad field. */
export function parseDeliveryJobData(x: unknown): DeliveryJobData {
  if (!isObj(x)) fail('not an object');
  if (x.v !== 1) fail(`unsupported version ${String(x.v)}`);
  if (!Array.isArray(x.recipients) || x.recipients.length === 0) fail('recipients is empty or not a list');
  const transport = x.transport;
  if (transport !== 'smtp' && transport !== 'lmtp') fail('transport is not smtp or lmtp');
  const recipients = x.recipients.map((r, i) => parseRecipient(r, `recipients[${i}]`));
  const data: DeliveryJobData = {
    v: 1,
    queueId: str(x, 'queueId'),
    sender: str(x, 'sender'),
    recipients,
    domain: '',
    transport,
    arrivalTime: num(x, 'arrivalTime'),
    attempts: num(x, 'attempts'),
    size: num(x, 'size'),
    eightBit: bool(x, 'eightBit'),
    smtputf8: bool(x, 'smtputf8'),
    requireTls: bool(x, 'requireTls'),
  };
  if (data.queueId === '') fail('queueId is empty');
  // --- route (issue 9): jobs queued before routing moved to the worker have no `domain` ---
  if (x.domain === undefined) {
    const first = recipients[0]?.address ?? '';
    const legacy = legacyRouteInput(
      { nexthop: str(x, 'nexthop'), transport },
      first.slice(first.lastIndexOf('@') + 1),
    );
    data.domain = legacy.domain;
    if (legacy.nexthop !== undefined) data.nexthop = legacy.nexthop;
  } else {
    data.domain = str(x, 'domain');
    if (x.nexthop !== undefined) data.nexthop = str(x, 'nexthop');
  }
  if (x.dsn !== undefined) data.dsn = parseDsnEnvelope(x.dsn);
  if (x.lastDeferral !== undefined) data.lastDeferral = parseLastDeferral(x.lastDeferral);
  if (x.delayWarned !== undefined) data.delayWarned = bool(x, 'delayWarned');
  if (x.isBounce !== undefined) data.isBounce = bool(x, 'isBounce');
  return data;
}

/** Checks a journal entry read back from Redis (JSON already parsed). */
export function parseJournalEntry(x: unknown): RecipientJournalEntry {
  if (!isObj(x)) fail('journal entry is not an object');
  const status = x.status;
  if (status !== 'sent' && status !== 'bounced' && status !== 'expired') fail('journal status');
  const e: RecipientJournalEntry = {
    recipient: str(x, 'recipient'),
    status,
    dsn: str(x, 'dsn'),
    relay: str(x, 'relay'),
    diagnostic: str(x, 'diagnostic'),
    at: num(x, 'at'),
    jobId: str(x, 'jobId'),
  };
  if (typeof x.remoteMta === 'string') e.remoteMta = x.remoteMta;
  return e;
}

const EVENT_KINDS: ReadonlySet<string> = new Set(['sent', 'deferred', 'bounced', 'expired', 'delayed']);

/** Field/value list for `XADD events MAXLEN ~ N * ...fields` (flat, one field per property). */
export function encodeDeliveryEvent(e: DeliveryEvent): string[] {
  return [
    'queueId',
    e.queueId,
    'jobId',
    e.jobId,
    'recipient',
    e.recipient,
    'event',
    e.event,
    'dsn',
    e.dsn,
    'relay',
    e.relay,
    'diagnostic',
    e.diagnostic,
    'at',
    String(e.at),
  ];
}

/**
 * Reads one stream entry's field/value list back. Accepts the flat form of encodeDeliveryEvent and,
 * for robustness, a single `json` or `data` field holding the JSON event. Throws on a malformed entry.
 */
export function decodeDeliveryEvent(fields: readonly string[]): DeliveryEvent {
  const o: Obj = {};
  for (let i = 0; i + 1 < fields.length; i += 2) o[fields[i] ?? ''] = fields[i + 1];
  const packed = o.json ?? o.data;
  const src: unknown = typeof packed === 'string' && o.queueId === undefined ? JSON.parse(packed) : o;
  if (!isObj(src)) fail('event is not an object');
  const event = src.event;
  if (typeof event !== 'string' || !EVENT_KINDS.has(event)) fail(`unknown event ${String(event)}`);
  const at = typeof src.at === 'string' ? Number(src.at) : src.at;
  return {
    queueId: str(src, 'queueId'),
    jobId: str(src, 'jobId'),
    recipient: str(src, 'recipient'),
    event: event as DeliveryEvent['event'],
    dsn: str(src, 'dsn'),
    relay: str(src, 'relay'),
    diagnostic: str(src, 'diagnostic'),
    at: typeof at === 'number' && Number.isFinite(at) ? at : fail('at is not a number'),
  };
}
