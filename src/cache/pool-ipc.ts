/**
 * The messages between `mxq pool` (the supervisor) and its worker processes over the IPC channel
 * that child_process.fork opens (JSON serialization; sockets travel as the message's handle).
 *
 * Decides: the shape of each message and how a received value is recognized (type guards).
 * Never: sends anything or holds state.
 *
 * child → supervisor:
 *   job-start {jobId, token} / job-end {jobId}   what the child holds (fast recovery)
 *   cache-put {labels, state, ttlMs} + socket    an idle session for the host tier
 *   cache-take {reqId, label}                    ask the host tier for a session
 *   tls-start {reqId, settings, host, timeoutMs} + raw socket   TLS handshake by the TLS owner
 *   ready {pid}                                  the worker runtime exists and starts taking jobs
 *   status {reqId, ...}                          answer to status-query
 * supervisor → child:
 *   cache-hit {reqId, state, labels} + socket    the session asked for
 *   cache-miss {reqId}                           none under that label
 *   tls-done {reqId, ok, facts | timeout} + link socket         the plaintext link to the TLS
 *                                                                 session the owner holds
 *   status-query {reqId}
 * and, on the same channel with their own `type` field (src/metrics/aggregate.ts, not routed here):
 *   supervisor → child {type: 'mxq:metrics?', id}; child → supervisor {type: 'mxq:metrics', id, metrics}
 */
import type { SessionState, TlsSettings } from '../core/ports.ts';

/** TlsSettings as they travel: no callbacks, the ticket in base64. */
export type WireTlsSettings = Omit<TlsSettings, 'sessionTicket' | 'onSessionTicket'> & {
  sessionTicket?: string;
};

/** What tls-upgrade.ts judged (TlsFacts). */
export interface WireTlsFacts {
  protocol?: string;
  cipher?: string;
  resumed: boolean;
  trusted: boolean;
  matched: boolean;
}

export interface TlsStartMsg {
  t: 'tls-start';
  reqId: number;
  settings: WireTlsSettings;
  host: string;
  timeoutMs: number;
}
export interface TlsDoneMsg {
  t: 'tls-done';
  reqId: number;
  ok: boolean;
  timeout?: boolean;
  facts?: WireTlsFacts;
}

export interface JobStartMsg {
  t: 'job-start';
  jobId: string;
  token: string;
}
export interface JobEndMsg {
  t: 'job-end';
  jobId: string;
}
export interface CachePutMsg {
  t: 'cache-put';
  labels: string[];
  state: SessionState;
  ttlMs: number;
}
export interface CacheTakeMsg {
  t: 'cache-take';
  reqId: number;
  label: string;
}
export interface ChildStatusMsg {
  t: 'status';
  reqId: number;
  activeJobs: number;
  cache: Record<string, number>;
}
export interface ReadyMsg {
  t: 'ready';
  pid: number;
}
export type ChildMsg =
  | JobStartMsg
  | JobEndMsg
  | CachePutMsg
  | CacheTakeMsg
  | ChildStatusMsg
  | ReadyMsg
  | TlsStartMsg;

export interface CacheHitMsg {
  t: 'cache-hit';
  reqId: number;
  state: SessionState;
  labels: string[];
}
export interface CacheMissMsg {
  t: 'cache-miss';
  reqId: number;
}
export interface StatusQueryMsg {
  t: 'status-query';
  reqId: number;
}
export type SupervisorMsg = CacheHitMsg | CacheMissMsg | StatusQueryMsg | TlsDoneMsg;

const CHILD_TYPES = new Set([
  'job-start',
  'job-end',
  'cache-put',
  'cache-take',
  'status',
  'ready',
  'tls-start',
]);
const SUPERVISOR_TYPES = new Set(['cache-hit', 'cache-miss', 'status-query', 'tls-done']);

function typeOf(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const t = (v as { t?: unknown }).t;
  return typeof t === 'string' ? t : undefined;
}

export function isChildMsg(v: unknown): v is ChildMsg {
  const t = typeOf(v);
  return t !== undefined && CHILD_TYPES.has(t);
}

export function isSupervisorMsg(v: unknown): v is SupervisorMsg {
  const t = typeOf(v);
  return t !== undefined && SUPERVISOR_TYPES.has(t);
}

/** "dest" for a next-hop label (6 fields), "endpoint" otherwise (see core/cache-key.ts). */
export function labelKind(label: string): 'dest' | 'endpoint' {
  let fields = 0;
  for (const ch of label) if (ch === '\n') fields++;
  return fields === 6 ? 'dest' : 'endpoint';
}
