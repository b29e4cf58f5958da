/**
 * The ports through which pure delivery decisions reach the world: time, randomness, logging,
 * DNS, SMTP sessions, the session cache and the cluster tier's next-hop state.
 *
 * Decides: nothing; it only names what core needs. Adapters live in src/runtime, src/dns,
 * src/smtp and src/cache; fakes for unit tests live in test/support.
 * Never: imports anything outside src/core.
 */
import type {
  ChatHistory,
  DeliveryFailure,
  Endpoint,
  Protocol,
  Recipient,
  RequireTlsPolicy,
  SmtpReply,
  TlsLevel,
} from './types.ts';

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export interface Random {
  /** Uniform float in [0, 1). */
  next(): number;
}

/** Structured logger (pino-compatible subset). Never pass credentials. */
export interface Logger {
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
  debug(obj: Record<string, unknown>, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

// ---------------------------------------------------------------------------------------------
// DNS

/** Postfix DNS result classes, best to worst: OK > POLICY > RETRY > INVAL > FAIL > NULLMX > NULLSRV > NOTFOUND. */
export type DnsClass = 'OK' | 'POLICY' | 'RETRY' | 'INVAL' | 'FAIL' | 'NULLMX' | 'NULLSRV' | 'NOTFOUND';

export type DnsType = 'MX' | 'A' | 'AAAA' | 'SRV' | 'TXT';

export interface MxRecord {
  preference: number;
  /** Target host name without trailing dot; '' or '.' for a null MX. */
  exchange: string;
}
export interface SrvRecord {
  priority: number;
  weight: number;
  port: number;
  /** Target without trailing dot; '' or '.' for a null SRV. */
  target: string;
}

/**
 * Optional facts an adapter may add to an OK answer: `qname` is the (A-label) name actually
 * queried; `warnings` are Postfix-worded warnings about the answer (numeric or malformed record
 * data, record count limit), for the caller to log.
 */
export interface DnsAnswerExtras {
  qname?: string;
  /** A/AAAA: the name at the end of the CNAME chain, when the adapter was asked to report it. */
  canonical?: string;
  warnings?: string[];
}

export type DnsAnswer =
  | ({ class: 'OK'; type: 'MX'; records: MxRecord[] } & DnsAnswerExtras)
  | ({ class: 'OK'; type: 'SRV'; records: SrvRecord[] } & DnsAnswerExtras)
  | ({ class: 'OK'; type: 'A' | 'AAAA'; addresses: string[] } & DnsAnswerExtras)
  | ({ class: 'OK'; type: 'TXT'; records: string[] } & DnsAnswerExtras)
  /**
   * A failed lookup. `text` is the Postfix reason, e.g.
   * "Host or domain name not found. Name service error for name=example.test type=MX: Host not found, try again".
   */
  | ({ class: Exclude<DnsClass, 'OK'>; type: DnsType; text: string } & DnsAnswerExtras);

/** Raw DNS lookups (src/dns adapts node:dns). Never throws for DNS errors: they are DnsAnswer values. */
export interface DnsPort {
  lookup(name: string, type: DnsType, signal?: AbortSignal): Promise<DnsAnswer>;
}

/** One TLSA record (RFC 6698): usage, selector, matching type, association data (lower hex). */
export interface TlsaRecord {
  usage: number;
  selector: number;
  matchingType: number;
  data: string;
}

// ---------------------------------------------------------------------------------------------
// SMTP sessions (src/smtp implements these)

export interface StageTimeoutsMs {
  connect: number;
  helo: number;
  lhlo: number;
  starttls: number;
  mail: number;
  rcpt: number;
  dataInit: number;
  dataXfer: number;
  dataDone: number;
  rset: number;
  quit: number;
}

/** TLS settings for one connection (the result of the policy lookup for this server). */
export interface TlsSettings {
  level: TlsLevel;
  /** Names the certificate must match at verify/secure (already expanded: hostname, nexthop, .nexthop). */
  matchNames?: string[];
  /** fingerprint level: accepted SHA-256 digests (hex, colons optional) of the cert or its public key. */
  fingerprints?: string[];
  /** Extra trust anchors (PEM). When set, used instead of Node's default CA store. */
  ca?: string[];
  /** SNI name; default: the server host name when it is not an IP literal. */
  servername?: string;
  /** TLS before the greeting (SMTPS, port 465). */
  wrapperMode?: boolean;
  /** dane/dane-only: the usable TLSA records the chain must match (core/dane.ts). */
  tlsa?: TlsaRecord[];
  /** A TLS session ticket to offer for resumption. */
  sessionTicket?: Buffer;
  /** Called with each new TLS session ticket the server issues (for sharing across processes). */
  onSessionTicket?: (ticket: Buffer) => void;
}

export interface SaslCredentials {
  username: string;
  password: string;
  /** Preferred order; default ["PLAIN", "LOGIN"]. */
  mechanisms?: Array<'PLAIN' | 'LOGIN' | 'XOAUTH2'>;
  // --- ops: SASL security (smtp/sasl-policy.ts) ---
  /** smtpSaslSecurityOptions, for sessions without TLS; default noplaintext, noanonymous. */
  securityOptions?: string[];
  /** smtpSaslTlsSecurityOptions, inside TLS; default noanonymous. */
  tlsSecurityOptions?: string[];
  /** smtpSaslMechanismFilter; empty = any offered mechanism. */
  mechanismFilter?: string[];
}

export interface HandshakeParams {
  protocol: Protocol;
  heloName: string;
  /** $myhostname, for loop detection on the EHLO reply. */
  myHostname: string;
  /** SMTP mode with nexthop port 25. */
  loopDetect: boolean;
  /** This server has the best MX preference (loop: 5.4.6 versus 4.4.6). */
  bestMx: boolean;
  /** Request nexthop as given, for "mail for <nexthop> loops back to myself". */
  requestNexthop: string;
  tls: TlsSettings;
  /** REQUIRETLS policy in force for this message at this destination ('disable' when not requested). */
  requireTls: RequireTlsPolicy;
  /** The message needs SMTPUTF8 (requested and it has UTF-8 in envelope or headers). */
  smtputf8Required: boolean;
  sasl?: SaslCredentials;
  skip5xxGreeting: boolean;
  alwaysSendEhlo: boolean;
  neverSendEhlo: boolean;
  discardEhloKeywords?: string[];
  timeouts: StageTimeoutsMs;
  signal?: AbortSignal;
  /** §7.4: the attempt allows a plaintext retry after a failed opportunistic (may) TLS handshake. */
  plaintextRetryAllowed?: boolean;
}

/** Serializable facts about a live session (what a cache stores beside the socket). */
export interface SessionState {
  endpoint: Endpoint;
  protocol: Protocol;
  /** First word of the EHLO reply. */
  serverName: string;
  /** Upper-case EHLO keywords → parameter string ('' if none). */
  capabilities: Record<string, string>;
  /** Server SIZE limit, 0 when unknown. */
  sizeLimit: number;
  esmtp: boolean;
  tls: {
    active: boolean;
    level: TlsLevel;
    protocol?: string;
    cipher?: string;
    peerVerified?: boolean;
    resumed?: boolean;
  };
  authenticated: boolean;
  /** Number of transactions completed on this connection. */
  reuseCount: number;
  createdAt: number;
  lastUsedAt: number;
}

export type HandshakeResult = { ok: true; session: SmtpSession } | { ok: false; failure: DeliveryFailure };

export interface TransactionRequest {
  /** Envelope sender; '' for the null sender. */
  sender: string;
  recipients: Recipient[];
  /** The message as stored (any line endings; the engine normalizes and dot-stuffs). */
  message: Buffer | (() => AsyncIterable<Buffer>);
  /** Size of the message after CRLF normalization (for SIZE= and the SIZE precheck). */
  size: number;
  /** Message has 8-bit content (BODY=8BITMIME when the server offers it). */
  eightBit?: boolean;
  smtputf8?: boolean;
  requireTls?: boolean;
  dsn?: { ret?: 'FULL' | 'HDRS'; envid?: string };
  timeouts: StageTimeoutsMs;
  signal?: AbortSignal;
  /** §7.4: a TLS session (level may) that dies mid-transaction asks for a plaintext retry. */
  plaintextRetryAllowed?: boolean;
  /**
   * §5.3: the session will not be cached, so with PIPELINING the engine writes QUIT right behind
   * the final "." without waiting (the result is then never reusable). Ignored without PIPELINING.
   */
  quitAfterData?: boolean;
  // --- tls (issue 14) ---
  /** Send 8-bit content raw to a server without 8BITMIME (Postfix disable_mime_output_conversion). */
  disableMimeOutputConversion?: boolean;
}

/** Per-recipient engine outcome, in the order of TransactionRequest.recipients. */
export type RecipientReply = { ok: true; reply: SmtpReply } | { ok: false; failure: DeliveryFailure };

export interface TransactionResult {
  recipients: RecipientReply[];
  /** The MAIL..DATA exchange finished without an I/O error (Postfix COMPLETE_SESSION). */
  completeSession: boolean;
  /** The connection is still in a clean state after this transaction (may be RSET and cached). */
  reusable: boolean;
}

export interface SmtpSession {
  readonly state: SessionState;
  /** Run one mail transaction. Never throws for protocol or I/O errors: they are values. */
  transaction(req: TransactionRequest): Promise<TransactionResult>;
  /** RSET; true when 2xx in time (used before caching/reuse). */
  reset(timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  /** QUIT (reply not awaited unless asked) and close. */
  quit(timeoutMs: number): Promise<void>;
  /** Destroy the connection now. */
  close(): void;
  /** True while the socket is open and no stray byte or EOF arrived since the last reply. */
  isUsable(): boolean;
  /** --- notices: the history since the last call, when the session raised a notify class (§10.3). */
  takeHistory?(): ChatHistory | undefined;
}

export interface ConnectParams {
  endpoint: Endpoint;
  protocol: Protocol;
  connectTimeoutMs: number;
  bindAddress?: string;
  bindAddress6?: string;
  bindAddressEnforce?: boolean;
  signal?: AbortSignal;
}

/** A TCP/UNIX connection that has not been greeted yet. */
export interface SmtpConnection {
  readonly endpoint: Endpoint;
  /** Greeting, EHLO/LHLO (HELO fallback), STARTTLS per policy, EHLO again, AUTH. */
  handshake(params: HandshakeParams): Promise<HandshakeResult>;
  close(): void;
  /** --- notices: as SmtpSession.takeHistory, for a handshake that failed. */
  takeHistory?(): ChatHistory | undefined;
}

export type ConnectResult =
  | { ok: true; connection: SmtpConnection }
  | { ok: false; failure: DeliveryFailure };

/** Opens connections. Failures are values: 4.4.1 "connect to H[A]:P: Connection refused". */
export interface SmtpConnector {
  connect(params: ConnectParams): Promise<ConnectResult>;
}

// ---------------------------------------------------------------------------------------------
// Session cache (Postfix scache): idle sessions by next-hop label and by endpoint label.

export interface SessionCache {
  /** Take an idle session stored under this label (removes it from the cache). */
  take(label: string): Promise<SmtpSession | undefined>;
  /** Store an idle session under one or more labels, for at most ttlMs. */
  put(labels: string[], session: SmtpSession, ttlMs: number): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// --- cluster tier ---
// Next-hop state shared by every process and host (src/cache: Redis, or memory for one process):
// next-hop → last good endpoint bindings, dead-endpoint marks, broken-TLS marks and TLS session
// tickets. Core builds every key and decides everything (endpoint-memory.ts); a store only keeps
// values with their TTLs.

export interface NexthopStateQuery {
  /** Binding key of the list element (endpoint-memory.ts bindingKey). */
  binding: string;
  /** Endpoint keys whose dead and broken-TLS marks are wanted. */
  endpoints: string[];
  /** TLS session ticket keys wanted. */
  tickets: string[];
}

export interface NexthopState {
  /** Endpoint key the binding points at, when a binding holds. */
  bound?: string;
  dead: ReadonlySet<string>;
  brokenTls: ReadonlySet<string>;
  tickets: ReadonlyMap<string, Buffer>;
}

export interface NexthopStateStore {
  /** One batched read. Never throws: an unreachable store answers an empty state, quickly. */
  read(query: NexthopStateQuery): Promise<NexthopState>;
  /** The writes below are fire-and-forget: the store logs its own errors and never throws. */
  bind(bindingKey: string, endpointKey: string, ttlMs: number): void;
  markDead(endpointKey: string, ttlMs: number): void;
  clearDead(endpointKey: string): void;
  markBrokenTls(endpointKey: string, ttlMs: number): void;
  putTicket(ticketKey: string, ticket: Buffer, ttlMs: number): void;
}

// --- route (issue 9): pool-wide destination leases (src/destinations implements them) ---

/** The concurrency and rate settings of one destination (core/destination.ts computes them). */
export interface DestinationParams {
  concurrencyLimit: number;
  initialConcurrency: number;
  positiveFeedback: number;
  negativeFeedback: number;
  failedCohortLimit: number;
  rateDelayMs: number;
  /** How long a dead destination stays suspended. */
  suspendMs: number;
  leaseTtlMs: number;
  /** Wait asked of a job that finds no free lease. */
  busyWaitMs: number;
}

export type LeaseGrant =
  | { kind: 'granted'; probe: boolean }
  | { kind: 'busy'; retryInMs: number }
  | { kind: 'suspended'; until: number; status: string; reason: string };

/** One delivery's outcome for the destination window: hop status (failure) or not. */
export type DestinationFeedback =
  | { kind: 'ok' }
  | { kind: 'fail'; status: string; reason: string }
  | { kind: 'none' };

export interface DestinationLeases {
  /**
   * `waiterId` names the job in the destination's waiting list (default: the lease id); a release
   * may hand a freed slot to it by that name.
   */
  acquire(
    dest: string,
    leaseId: string,
    p: DestinationParams,
    now: number,
    waiterId?: string,
  ): Promise<LeaseGrant>;
  renew(dest: string, leaseId: string, p: DestinationParams, now: number): Promise<void>;
  release(
    dest: string,
    leaseId: string,
    p: DestinationParams,
    fb: DestinationFeedback,
    now: number,
    /** How long the lease was held: feeds the average used to space waiting jobs. */
    heldMs?: number,
    /** Hand the slots this release frees to waiting jobs (default: none). */
    handoff?: LeaseHandoff,
  ): Promise<LeaseRelease>;
}

/** How many waiting jobs a release may hand its freed slots to. */
export interface LeaseHandoff {
  /** At most this many (the freed lease, plus the window's growth after a success). */
  max: number;
  /** Slots already promised to waiters of this process (woken in place), not handed again. */
  reserved: number;
  /**
   * Jobs already queued to run (BullMQ's wait list, as the worker last counted it): they take
   * freed worker slots before a promoted job would, so while other leases of the destination are
   * still held (their releases hand on later) only `max - queued` are handed; the release that
   * leaves no lease held hands `max` (else the last waiters would wait out their delay).
   */
  queued?: number;
}

export interface LeaseRelease {
  /** 'suspended' when this release suspended the destination, 'resumed' when it lifted one. */
  outcome?: 'suspended' | 'resumed';
  /** Waiter ids (earliest first) handed a slot: taken out of the waiting list, to be let in now. */
  handedTo: string[];
}
