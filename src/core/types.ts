/**
 * Shared value types of a delivery: replies, failures, endpoints, recipients and results.
 *
 * Decides: nothing. These are the plain, serializable shapes every layer agrees on.
 * Never: imports from Node, npm or other project layers; holds behaviour.
 * See also: ports.ts (interfaces), trouble.ts (the one classifier), dsn.ts (status helpers).
 */

/** TLS security levels, with Postfix's numbering (used in cache labels). */
export type TlsLevel =
  | 'none'
  | 'may'
  | 'encrypt'
  | 'fingerprint'
  | 'dane'
  | 'dane-only'
  | 'verify'
  | 'secure';
export const TLS_LEVEL_NUMBER: Readonly<Record<TlsLevel, number>> = {
  none: 0,
  may: 1,
  encrypt: 2,
  fingerprint: 3,
  dane: 5,
  'dane-only': 6,
  verify: 7,
  secure: 8,
};

/** RFC 8689 REQUIRETLS policy for a destination. */
export type RequireTlsPolicy = 'disable' | 'opportunistic' | 'opportunistic+starttls' | 'enforce';

export type Protocol = 'smtp' | 'lmtp';

/** One parsed server reply. */
export interface SmtpReply {
  /** Three-digit reply code, e.g. 250. */
  code: number;
  /** Enhanced status (RFC 3463) from the text when valid and matching the code, else `<d>.0.0`; 3xx/garbage: 5.5.0. */
  status: string;
  /** Whether `status` came from the server's text. */
  enhanced: boolean;
  /** Raw reply lines (sanitized: non-printables become '?', each bounded), without CRLF. */
  lines: string[];
  /** Lines joined with a space, e.g. "250 2.0.0 Ok: queued as X". Sanitized; safe for logs and DSNs. */
  text: string;
}

/**
 * Which Postfix failure handler produced a failure (smtp_trouble.c):
 * - sess:   errors prepared earlier (connect, DNS, TLS-policy leftovers) for all unmarked recipients
 * - site:   greeting/EHLO/HELO/LHLO refusal, loop, TLS required/not verified (all unmarked)
 * - mesg:   MAIL/DATA/end-of-data rejections, SIZE, local content errors (all unmarked)
 * - misc:   SMTPUTF8, REQUIRETLS, TLS handshake failure (all unmarked; flags below)
 * - rcpt:   one recipient's RCPT rejection, or its LMTP end-of-data reply
 * - stream: EOF, timeout, local data error during a stage (all unmarked)
 */
export type FailureHandler = 'sess' | 'site' | 'mesg' | 'misc' | 'rcpt' | 'stream';

/** A delivery failure as a value. `text` is the complete Postfix-worded reason. */
export interface DeliveryFailure {
  handler: FailureHandler;
  /** Enhanced status, e.g. "4.4.2". First digit decides soft (4) or hard (5). */
  status: string;
  /** Reason text, e.g. "host mx1.example.test[127.0.2.1] said: 451 4.7.1 later (in reply to RCPT TO command)". */
  text: string;
  /** The server reply this failure came from, when there was one. */
  reply?: SmtpReply;
  /** The command the reply answered: "MAIL FROM", "RCPT TO", "DATA", "end of DATA", ... */
  command?: string;
  /** Server host name for Remote-MTA, when the error came from a server. */
  remoteMta?: string;
  /** Postfix hop status: this failure throttles the destination (qmgr "dead destination" input). */
  throttle: boolean;
  /** SOFT_NON_FINAL: a hard status treated as soft (KEEP) unless this is the final server. */
  softNonFinal?: boolean;
  /** Session must not be cached after this failure. */
  dontCache?: boolean;
  /** The failure asks for the same address to be retried in plaintext (§7.4). */
  retryAsPlaintext?: boolean;
  /** The TLS handshake itself failed (the cluster tier may remember the endpoint's broken TLS). */
  tlsHandshakeFailed?: boolean;
  /** Why the server certificate failed its check: no trusted chain, or a trusted one for another name. */
  certificate?: 'untrusted' | 'name-mismatch';
  /** Why a dane level refused the server before connecting (TLSRPT's DANE result types, RFC 8460 §4.3.2.1). */
  dane?: 'lookup-error' | 'no-tlsa' | 'unusable-tlsa';
}

/** A server endpoint: where a connection goes. */
export interface Endpoint {
  kind: 'inet' | 'unix';
  /** Server name for logs, TLS and SASL (the MX target name, or $myhostname for unix sockets). */
  host: string;
  /** IP address (inet) or socket path (unix). */
  address: string;
  /** TCP port; 0 for unix. */
  port: number;
  /** Address family for inet endpoints. */
  family?: 4 | 6;
  /** MX preference (0 for host path). */
  preference: number;
}

/** "host[addr]" (Postfix namaddr). */
export function namaddr(ep: Pick<Endpoint, 'host' | 'address'>): string {
  return `${ep.host}[${ep.address}]`;
}

/** "host[addr]:port" (Postfix namaddrport, used in relay=); unix endpoints have no port. */
export function namaddrport(ep: Pick<Endpoint, 'kind' | 'host' | 'address' | 'port'>): string {
  return ep.kind === 'unix' ? `${ep.host}[${ep.address}]` : `${ep.host}[${ep.address}]:${ep.port}`;
}

/** DSN NOTIFY keywords (RFC 3461). */
export type DsnNotify = 'NEVER' | 'SUCCESS' | 'FAILURE' | 'DELAY';

/** One envelope recipient. */
export interface Recipient {
  address: string;
  /** ORCPT original recipient (address only; the engine adds "rfc822;" and xtext). */
  orcpt?: string;
  notify?: DsnNotify[];
}

/** Final status of one recipient in one attempt. */
export type RecipientStatus = 'sent' | 'deferred' | 'bounced';

/** One server tried during an attempt, in order. */
export interface ServerTrace {
  host: string;
  addr: string;
  port: number;
  /** e.g. "connect-failed", "handshake-failed", "delivered", "reused", "skipped-tls-policy", "session-failed". */
  outcome: string;
}

/** The result for one recipient of one attempt. */
export interface RecipientResult {
  recipient: Recipient;
  status: RecipientStatus;
  /** Enhanced status, e.g. "2.0.0", "4.4.1", "5.1.1". */
  dsn: string;
  /** "host[addr]:port" or "none". */
  relay: string;
  /** Postfix-worded reason; for sent: the server's final reply text. */
  diagnostic: string;
  /** Server reply the outcome came from, if any. */
  reply?: SmtpReply;
  /** Command the reply answered, if any. */
  command?: string;
  /** Remote-MTA host name, if any. */
  remoteMta?: string;
  /** Reuse count + 1 when the session came from the cache. */
  connUse?: number;
  /** `soft_bounce=yes` turned a bounce into this deferral. */
  softBounce?: boolean;
  /** Sent, and NOTIFY=SUCCESS owes the sender this DSN action (core/success-dsn.ts). */
  successAction?: 'relayed' | 'delivered';
}

/** One delivery request: a message, one next-hop (list), up to the recipient limit of recipients. */
export interface AttemptRequest {
  /** Postfix-style queue id, for log lines. */
  queueId: string;
  /** Envelope sender; '' for the null sender. */
  sender: string;
  recipients: Recipient[];
  /** Next-hop as Postfix writes it (list allowed): "example.com", "[10.0.0.1]:587", "unix:/path", ... */
  nexthop: string;
  protocol: Protocol;
  /** The message (any line endings). */
  message: Buffer | (() => AsyncIterable<Buffer>);
  /** Size after CRLF normalization. */
  size: number;
  eightBit?: boolean;
  /** SMTPUTF8 requested by the sender. */
  smtputf8?: boolean;
  /** REQUIRETLS requested by the sender (RFC 8689). */
  requireTls?: boolean;
  dsn?: { ret?: 'FULL' | 'HDRS'; envid?: string };
  /** Message arrival (ms since epoch): drives delay= and the plaintext-retry age check. */
  arrivalTime: number;
  /** When this attempt was picked up (ms); default: now. */
  activeTime?: number;
  /** qmgr's connection-cache hint (§6.3/§8.4). */
  cacheHint?: 'none' | 'load' | 'load+store';
  signal?: AbortSignal;
  /**
   * Called the moment a recipient's outcome in this attempt is settled (sent, deferred or
   * bounced), before the attempt returns, so that the caller can make final outcomes durable at
   * once (a crash in a later session then cannot deliver them twice). Not awaited; must not throw.
   */
  onRecipientFinal?: (result: RecipientResult) => void;
}

/** The outcome of one delivery request: every recipient exactly once. */
export interface AttemptResult {
  /** One entry per request recipient, in request order. */
  recipients: RecipientResult[];
  /** Postfix hop status: set when a throttling failure deferred a recipient and no session completed. */
  hopStatus?: DeliveryFailure;
  /** Servers tried, in order. */
  servers: ServerTrace[];
  /** best_mx_transport hand-off: these recipients go to `transport` (with optional next-hop). */
  handoff?: { transport: string; nexthop?: string; recipients: Recipient[] };
  /** Postmaster transcripts owed by sessions of this attempt (notify_classes, spec §10.3). */
  notices?: SessionNotice[];
}

// --- notices: postmaster transcripts (Postfix smtp_chat_notify, spec §10.3) ---

/** A session's bounded "Out: " / "In:  " history (AUTH masked) and the notify classes it raised. */
export interface ChatHistory {
  classes: string[];
  lines: string[];
  /** Older lines dropped to keep the history bounded. */
  omitted: number;
}

/** One session's transcript owed to the postmaster. */
export interface SessionNotice extends ChatHistory {
  /** "host[addr]:port" (Postfix namaddrport). */
  server: string;
  protocol: Protocol;
}
