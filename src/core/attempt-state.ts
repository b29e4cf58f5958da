/**
 * The state one delivery attempt carries through the connection loop: its ports, its options and the
 * per-element and per-address facts the walk and the session share.
 *
 * Decides: nothing; these are the shapes attempt.ts, attempt-walk.ts and attempt-session.ts pass
 * down, kept here so that those three import this module instead of each other (no import cycle).
 * Never: holds behaviour.
 */
import type { ElementMemory } from './attempt-memory.ts';
import type { AttemptLog } from './attempt-record.ts';
import type { DanePort, TlsaLookup } from './dane.ts';
import type { MtaStsPort, StsPolicy } from './mta-sts.ts';
import type { NexthopTarget } from './nexthop.ts';
import type { ResolvedOptions } from './options.ts';
import type {
  Clock,
  DnsPort,
  Logger,
  NexthopStateStore,
  Random,
  SaslCredentials,
  SessionCache,
  SmtpConnector,
  TlsSettings,
} from './ports.ts';
import type { CachePolicy } from './route-plan.ts';
import type { TlsRptPort } from './tlsrpt.ts';
import type { Endpoint, RequireTlsPolicy, SessionNotice, TlsLevel } from './types.ts';

export interface AttemptDeps {
  dns: DnsPort;
  connector: SmtpConnector;
  cache: SessionCache;
  clock: Clock;
  random: Random;
  logger: Logger;
  /** The cluster tier (bindings, dead and broken-TLS marks, TLS tickets); absent = none. */
  nexthopState?: NexthopStateStore;
  /** MTA-STS policies (issue 14); absent = MTA-STS off. */
  mtaSts?: MtaStsPort;
  /** DNSSEC lookups for DANE (issue 14); absent = no validating resolver (dane levels refused). */
  dane?: DanePort;
  /** TLSRPT session counts (issue 14); absent = TLSRPT off. */
  tlsrpt?: TlsRptPort;
}

/** Per-attempt state beyond the recorder's. */
export interface AttemptRun extends AttemptLog {
  deps: AttemptDeps;
  opts: ResolvedOptions;
  smtputf8Required: boolean;
  /** RFC 8689 `TLS-Required: no` applies: policy lookups skipped, level capped at may. */
  tlsRequiredNo: boolean;
  cachePolicy: CachePolicy;
  /** The first list element, while the dest label may still be stored (§4.6 step 4). */
  requestNexthop?: string;
  /** Addresses ("addr port") served through the cache in this request (§6.4 step 5). */
  usedViaCache: Set<string>;
  /** --- notices: postmaster transcripts owed by this attempt's sessions (session-notice.ts). */
  notices?: SessionNotice[];
}

export interface ElementInput {
  site: string;
  target: NexthopTarget;
  first: boolean;
  finalNexthop: boolean;
}

/** What these lookups need of a list element (Element below; attempt-tls.ts). */
export interface TlsElement {
  site: string;
  target: NexthopTarget;
  list: Endpoint[];
  /** MTA-STS policy of the next-hop domain. */
  sts?: StsPolicy;
  /** DANE facts when the level is dane/dane-only and a validating resolver is configured. */
  dane?: { mxSecure: boolean; tlsa: Map<string, TlsaLookup> };
}

export interface Element extends ElementInput, TlsElement {
  requireTls: RequireTlsPolicy;
  bestPref: number;
  addrCount: number;
  sessCount: number;
  /** Addresses still to try, in order. */
  list: Endpoint[];
  /** What the pool remembers about this element (cluster tier). */
  memory?: ElementMemory;
}

/** What the per-address checks decided for one endpoint. */
export interface AddressPrep {
  tls: TlsSettings;
  /** The policy level before a §7.4 plaintext retry forced `none` (for the log's tls= field). */
  policyLevel: TlsLevel;
  sasl?: SaslCredentials;
  plaintextRetryAllowed: boolean;
  tlsReuse?: boolean;
}
