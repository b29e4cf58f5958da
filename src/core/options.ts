/**
 * Delivery options: camelCase versions of Postfix parameter names, with Postfix's defaults.
 *
 * Decides: the default of every option, and how a Postfix time value ("30s", "5d", 300) becomes
 * milliseconds. docs/configuration.md documents each option and the Postfix parameter it mirrors.
 * Never: reads files or the environment (src/runtime/config.ts does), validates next-hop syntax.
 *
 * Durations: the input accepts a number of seconds or a Postfix time string ("300s", "5m", "2h",
 * "5d", "1w"); ResolvedOptions holds every duration in **milliseconds** under the same name.
 */
import { badAllowlistEntries } from './address-policy.ts';
import { checkOptions } from './option-schema.ts';
import type { RequireTlsPolicy, TlsLevel } from './types.ts';

export type Duration = number | string;

/** One entry of smtpTlsPolicyMaps (Postfix smtp_tls_policy_maps value). */
export interface TlsPolicyEntry {
  level: TlsLevel;
  /** verify/secure: name patterns ("hostname", "nexthop", "dot-nexthop", or literal names); fingerprint: digests. */
  match?: string[];
  /** SNI override. */
  servername?: string;
  /** PEM trust anchors for this destination (overrides smtpTlsCAfile). */
  tafile?: string[];
  connectionReuse?: boolean;
}

export interface SaslPasswordEntry {
  username: string;
  password: string;
}

export interface DeliveryOptionsInput {
  myhostname?: string;
  mydomain?: string;
  smtpHeloName?: string;
  inetProtocols?: 'all' | 'ipv4' | 'ipv6';
  /** Own addresses for loop detection ("all" means: none known, only proxyInterfaces count). */
  inetInterfaces?: string[];
  proxyInterfaces?: string[];
  relayhost?: string;
  smtpFallbackRelay?: string[];
  lmtpFallbackRelay?: string[];
  smtpTcpPort?: string;
  lmtpTcpPort?: string;
  knownTcpPorts?: Record<string, number>;
  smtpMxAddressLimit?: number;
  smtpMxSessionLimit?: number;
  smtpRandomizeAddresses?: boolean;
  smtpAddressPreference?: 'any' | 'ipv4' | 'ipv6';
  smtpBalanceInetProtocols?: boolean;
  smtpDeferIfNoMxAddressFound?: boolean;
  ignoreMxLookupError?: boolean;
  useSrvLookup?: string[];
  allowSrvLookupFallback?: boolean;
  ignoreSrvLookupError?: boolean;
  smtpDnsSupportLevel?: 'disabled' | 'enabled' | 'dnssec';
  smtpCnameOverridesServername?: boolean;
  bestMxTransport?: string;
  /** DNS servers, "ip" or "ip:port" or "[ipv6]:port"; empty = system resolvers. */
  dnsServers?: string[];
  dnsTimeout?: Duration;
  dnsTries?: number;

  smtpSkip5xxGreeting?: boolean;
  smtpAlwaysSendEhlo?: boolean;
  smtpNeverSendEhlo?: boolean;
  smtpDiscardEhloKeywords?: string[];
  smtpSkipQuitResponse?: boolean;
  smtpLineLengthLimit?: number;
  lineLengthLimit?: number;
  softBounce?: boolean;
  smtputf8Enable?: boolean;

  smtpConnectTimeout?: Duration;
  smtpHeloTimeout?: Duration;
  lmtpLhloTimeout?: Duration;
  smtpStarttlsTimeout?: Duration;
  smtpMailTimeout?: Duration;
  smtpRcptTimeout?: Duration;
  smtpDataInitTimeout?: Duration;
  smtpDataXferTimeout?: Duration;
  smtpDataDoneTimeout?: Duration;
  smtpRsetTimeout?: Duration;
  smtpQuitTimeout?: Duration;

  smtpBindAddress?: string;
  smtpBindAddress6?: string;
  smtpBindAddressEnforce?: boolean;

  smtpTlsSecurityLevel?: TlsLevel;
  lmtpTlsSecurityLevel?: TlsLevel;
  /** Keyed by next-hop as written ("example.com", "[mx.example.com]:587") or ".parent" domain. */
  smtpTlsPolicyMaps?: Record<string, TlsPolicyEntry>;
  smtpTlsWrappermode?: boolean;
  /** PEM trust anchors (contents, not paths); empty = Node's default CA store. */
  smtpTlsCAfile?: string[];
  smtpTlsFingerprintCertMatch?: string[];
  smtpTlsVerifyCertMatch?: string[];
  smtpTlsSecureCertMatch?: string[];
  smtpTlsConnectionReuse?: boolean;
  /** Add Postfix 3.11's `tls=` field (e.g. `may`, `may:none`) to recipient log lines. */
  smtpLogTlsFeatureStatus?: boolean;
  requiretlsEnable?: boolean;
  /** Domain (or ".parent", or "*" for the rest) → policy. Empty uses Postfix's default. */
  smtpRequiretlsPolicy?: Record<string, RequireTlsPolicy>;

  smtpSaslAuthEnable?: boolean;
  /** Keyed by next-hop as written or by server host name. */
  smtpSaslPasswordMaps?: Record<string, SaslPasswordEntry>;
  // --- ops: SASL security options ---
  /** Postfix smtp_sasl_security_options: mechanisms ruled out without TLS. */
  smtpSaslSecurityOptions?: string[];
  /** Postfix smtp_sasl_tls_security_options: mechanisms ruled out inside TLS. */
  smtpSaslTlsSecurityOptions?: string[];
  /** Postfix smtp_sasl_mechanism_filter: only these offered mechanisms (empty = all). */
  smtpSaslMechanismFilter?: string[];

  smtpConnectionCacheOnDemand?: boolean;
  smtpConnectionCacheDestinations?: string[];
  smtpConnectionCacheTimeLimit?: Duration;
  smtpConnectionReuseCountLimit?: number;
  smtpConnectionReuseTimeLimit?: Duration;

  messageSizeLimit?: number;
  defaultDestinationRecipientLimit?: number;
  minimalBackoffTime?: Duration;
  maximalBackoffTime?: Duration;
  maximalQueueLifetime?: Duration;
  bounceQueueLifetime?: Duration;
  delayWarningTime?: Duration;
  /** Where failures of null-sender mail are reported ('' = only logged). */
  bounceNoticeRecipient?: string;
  doubleBounceSender?: string;

  // --- cluster ---
  /** How long a next-hop stays bound to the endpoint that last worked after others failed (0 = off). */
  smtpNexthopBindingTime?: Duration;
  /** How long an endpoint that failed to connect or to finish the handshake is skipped (0 = off). */
  smtpDeadEndpointTime?: Duration;
  /** How long an endpoint whose TLS handshake failed at level may is spoken to in plaintext (0 = off). */
  smtpTlsBrokenEndpointTime?: Duration;
  /** Lifetime of a stored TLS session ticket (Postfix smtp_tls_session_cache_timeout; 0 = off). */
  smtpTlsSessionCacheTimeout?: Duration;
  /** Upper bound on how long a DNS answer is cached (0 = no DNS cache). */
  dnsCacheMaxTtl?: Duration;
  /** How long a negative DNS answer (no such name, no data, null MX) is cached. */
  dnsCacheNegativeTtl?: Duration;
  /** Lifetime of positive MX, SRV and TXT answers (node:dns reports TTLs for A and AAAA only). */
  dnsCacheUnknownTtl?: Duration;
  // --- route (issue 9): routing at delivery time, destination concurrency ---
  /** transport(5): recipient domain, ".parent" or "*" → "transport:nexthop" ("smtp:[relay]:587", "lmtp:unix:/p"). */
  transportMaps?: Record<string, string>;
  defaultDestinationConcurrencyLimit?: number;
  initialDestinationConcurrency?: number;
  defaultDestinationConcurrencyPositiveFeedback?: number;
  defaultDestinationConcurrencyNegativeFeedback?: number;
  defaultDestinationConcurrencyFailedCohortLimit?: number;
  /** Pause between two deliveries to one destination, pool-wide (0 = none). */
  defaultDestinationRateDelay?: Duration;
  /** Destination key (a next-hop as routed, lower-case) → overrides of the limit and rate delay. */
  destinationOverrides?: Record<string, DestinationOverride>;
  /** Turn pool-wide destination leases on (needs Redis; the in-process `mxq deliver` never uses them). */
  destinationLeases?: boolean;
  /** Lifetime of a lease in Redis; its holder renews it while it delivers (a dead holder's lease expires). */
  destinationLeaseTtl?: Duration;
  /** How long a job that found no free lease waits before it asks again (no attempt is counted). */
  destinationLeaseWait?: Duration;
  /** What a destination is: the next-hop as routed, or (MX routes) the set of the domain's MX hosts. */
  destinationKey?: 'nexthop' | 'mx-hosts';
  // --- chaos: address policy (G25) ---
  /**
   * Special-use addresses (CIDR "127.0.0.0/8" or single addresses) that deliveries to a recipient's
   * own domain may connect to anyway (core/address-policy.ts). Empty: none.
   */
  smtpAddressAllowlist?: string[];
  // --- tls (issue 14) ---
  /** Honour RFC 8689 `TLS-Required: no` (Postfix tls_required_enable). */
  tlsRequiredEnable?: boolean;
  /** Postmaster notice classes (Postfix notify_classes): bounce, 2bounce, delay, resource, software, protocol, ... */
  notifyClasses?: string[];
  /** Where `delay` class copies of delay warnings go (Postfix delay_notice_recipient). */
  delayNoticeRecipient?: string;
  /** LMTP deliveries are final: SUCCESS notices say "delivered" (Postfix lmtp_assume_final). */
  lmtpAssumeFinal?: boolean;
  /** Send 8-bit mail raw to servers without 8BITMIME instead of converting it (§5.4). */
  disableMimeOutputConversion?: boolean;
  /** Look up and apply MTA-STS policies (RFC 8461) of SMTP next-hop domains. */
  mtaStsEnable?: boolean;
  /** Deadline for one policy fetch (connect, headers and body). */
  mtaStsFetchTimeout?: Duration;
  /** Count TLS sessions per policy domain for RFC 8460 reports (Postfix smtp_tlsrpt_enable). */
  smtpTlsrptEnable?: boolean;
  /** `organization-name` of reports ('' = myhostname). */
  tlsrptOrganizationName?: string;
  /** `contact-info` of reports ('' = postmaster@myhostname). */
  tlsrptContactInfo?: string;
  // --- notices: postmaster transcripts (issue 14) ---
  /** Where session transcripts of the `protocol` class go (Postfix error_notice_recipient). */
  errorNoticeRecipient?: string;
  /** Envelope and From: sender of mailed reports (unqualified = @myhostname). */
  tlsrptSender?: string;
  /** Deadline for one HTTPS report upload. */
  tlsrptPostTimeout?: Duration;
}

// --- route (issue 9) ---
export interface DestinationOverride {
  concurrencyLimit?: number;
  rateDelay?: Duration;
}

type DurationKeys = {
  [K in keyof DeliveryOptionsInput]-?: NonNullable<DeliveryOptionsInput[K]> extends Duration
    ? Duration extends NonNullable<DeliveryOptionsInput[K]>
      ? K
      : never
    : never;
}[keyof DeliveryOptionsInput];

/** Every option present; durations in milliseconds. */
export type ResolvedOptions = {
  readonly [K in keyof DeliveryOptionsInput]-?: K extends DurationKeys
    ? number
    : NonNullable<DeliveryOptionsInput[K]>;
};

const DURATION_UNIT_MS: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Postfix time value → milliseconds. A bare number is seconds. Throws on garbage. */
export function parseDurationMs(value: Duration, name = 'duration'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name}: bad time value ${value}`);
    return value * 1000;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$/.exec(value);
  const unit = DURATION_UNIT_MS[m?.[2] || 's'];
  if (!m?.[1] || unit === undefined) throw new RangeError(`${name}: bad time value "${value}"`);
  return Number(m[1]) * unit;
}

export const DEFAULT_OPTIONS: Readonly<Required<DeliveryOptionsInput>> = {
  myhostname: 'localhost.localdomain',
  mydomain: 'localdomain',
  smtpHeloName: '',
  inetProtocols: 'all',
  inetInterfaces: [],
  proxyInterfaces: [],
  relayhost: '',
  smtpFallbackRelay: [],
  lmtpFallbackRelay: [],
  smtpTcpPort: 'smtp',
  lmtpTcpPort: '24',
  knownTcpPorts: { lmtp: 24, smtp: 25, smtps: 465, submissions: 465, submission: 587 },
  smtpMxAddressLimit: 5,
  smtpMxSessionLimit: 2,
  smtpRandomizeAddresses: true,
  smtpAddressPreference: 'any',
  smtpBalanceInetProtocols: true,
  smtpDeferIfNoMxAddressFound: false,
  ignoreMxLookupError: false,
  useSrvLookup: [],
  allowSrvLookupFallback: false,
  ignoreSrvLookupError: false,
  smtpDnsSupportLevel: 'enabled',
  smtpCnameOverridesServername: false,
  bestMxTransport: '',
  dnsServers: [],
  dnsTimeout: '5s',
  dnsTries: 2,

  smtpSkip5xxGreeting: true,
  smtpAlwaysSendEhlo: true,
  smtpNeverSendEhlo: false,
  smtpDiscardEhloKeywords: [],
  smtpSkipQuitResponse: true,
  smtpLineLengthLimit: 998,
  lineLengthLimit: 2048,
  softBounce: false,
  smtputf8Enable: true,

  smtpConnectTimeout: '30s',
  smtpHeloTimeout: '300s',
  lmtpLhloTimeout: '300s',
  smtpStarttlsTimeout: '300s',
  smtpMailTimeout: '300s',
  smtpRcptTimeout: '300s',
  smtpDataInitTimeout: '120s',
  smtpDataXferTimeout: '180s',
  smtpDataDoneTimeout: '600s',
  smtpRsetTimeout: '20s',
  smtpQuitTimeout: '300s',

  smtpBindAddress: '',
  smtpBindAddress6: '',
  smtpBindAddressEnforce: false,

  smtpTlsSecurityLevel: 'may',
  lmtpTlsSecurityLevel: 'none',
  smtpTlsPolicyMaps: {},
  smtpTlsWrappermode: false,
  smtpTlsCAfile: [],
  smtpTlsFingerprintCertMatch: [],
  smtpTlsVerifyCertMatch: ['hostname'],
  smtpTlsSecureCertMatch: ['nexthop', 'dot-nexthop'],
  // Postfix defaults to "no" because its TLS reuse needs a tlsproxy process; in mxq the process
  // that owns a TLS socket can reuse it at no extra cost, so reuse is on (docs/configuration.md).
  smtpTlsConnectionReuse: true,
  smtpLogTlsFeatureStatus: true,
  requiretlsEnable: true,
  smtpRequiretlsPolicy: {},

  smtpSaslAuthEnable: false,
  smtpSaslPasswordMaps: {},
  // --- ops: SASL security options ---
  smtpSaslSecurityOptions: ['noplaintext', 'noanonymous'],
  smtpSaslTlsSecurityOptions: ['noanonymous'],
  smtpSaslMechanismFilter: [],

  smtpConnectionCacheOnDemand: true,
  smtpConnectionCacheDestinations: [],
  smtpConnectionCacheTimeLimit: '2s',
  smtpConnectionReuseCountLimit: 0,
  smtpConnectionReuseTimeLimit: '300s',

  messageSizeLimit: 10_240_000,
  defaultDestinationRecipientLimit: 50,
  minimalBackoffTime: '300s',
  maximalBackoffTime: '4000s',
  maximalQueueLifetime: '5d',
  bounceQueueLifetime: '5d',
  delayWarningTime: '0h',
  bounceNoticeRecipient: '',
  doubleBounceSender: 'double-bounce',

  // --- cluster ---
  smtpNexthopBindingTime: '300s',
  smtpDeadEndpointTime: '60s',
  smtpTlsBrokenEndpointTime: '3600s',
  smtpTlsSessionCacheTimeout: '3600s',
  dnsCacheMaxTtl: '3600s',
  dnsCacheNegativeTtl: '60s',
  dnsCacheUnknownTtl: '60s',
  // --- route (issue 9) ---
  transportMaps: {},
  defaultDestinationConcurrencyLimit: 20,
  initialDestinationConcurrency: 5,
  defaultDestinationConcurrencyPositiveFeedback: 1,
  defaultDestinationConcurrencyNegativeFeedback: 1,
  defaultDestinationConcurrencyFailedCohortLimit: 1,
  defaultDestinationRateDelay: '0s',
  destinationOverrides: {},
  destinationLeases: true,
  destinationLeaseTtl: '60s',
  destinationLeaseWait: '1s',
  destinationKey: 'nexthop',
  // --- chaos: address policy (G25) ---
  smtpAddressAllowlist: [],
  // --- tls (issue 14) ---
  tlsRequiredEnable: true,
  notifyClasses: ['resource', 'software'],
  delayNoticeRecipient: 'postmaster',
  lmtpAssumeFinal: false,
  disableMimeOutputConversion: false,
  mtaStsEnable: false,
  mtaStsFetchTimeout: '10s',
  smtpTlsrptEnable: false,
  tlsrptOrganizationName: '',
  tlsrptContactInfo: '',
  // --- notices: postmaster transcripts (issue 14) ---
  errorNoticeRecipient: 'postmaster',
  tlsrptSender: 'noreply-smtp-tls-reporting',
  tlsrptPostTimeout: '30s',
};

const DURATION_OPTION_NAMES: readonly DurationKeys[] = [
  'dnsTimeout',
  'smtpConnectTimeout',
  'smtpHeloTimeout',
  'lmtpLhloTimeout',
  'smtpStarttlsTimeout',
  'smtpMailTimeout',
  'smtpRcptTimeout',
  'smtpDataInitTimeout',
  'smtpDataXferTimeout',
  'smtpDataDoneTimeout',
  'smtpRsetTimeout',
  'smtpQuitTimeout',
  'smtpConnectionCacheTimeLimit',
  'smtpConnectionReuseTimeLimit',
  'minimalBackoffTime',
  'maximalBackoffTime',
  'maximalQueueLifetime',
  'bounceQueueLifetime',
  'delayWarningTime',
  // --- cluster ---
  'smtpNexthopBindingTime',
  'smtpDeadEndpointTime',
  'smtpTlsBrokenEndpointTime',
  'smtpTlsSessionCacheTimeout',
  'dnsCacheMaxTtl',
  'dnsCacheNegativeTtl',
  'dnsCacheUnknownTtl',
  // --- route (issue 9) ---
  'defaultDestinationRateDelay',
  'destinationLeaseTtl',
  'destinationLeaseWait',
  // --- tls (issue 14) ---
  'mtaStsFetchTimeout',
  'tlsrptPostTimeout',
];

/** Fill defaults and convert durations to milliseconds. Throws RangeError naming a bad option. */
export function resolveOptions(input: DeliveryOptionsInput = {}): ResolvedOptions {
  // Unknown keys, wrong kinds and contradictions are refused naming the key (core/option-schema.ts).
  const problem = checkOptions(input, DEFAULT_OPTIONS, { entries: false });
  if (problem !== undefined) throw new RangeError(problem);
  const merged: Record<string, unknown> = { ...DEFAULT_OPTIONS };
  for (const [key, value] of Object.entries(input)) {
    if (value !== undefined) merged[key] = value;
  }
  for (const name of DURATION_OPTION_NAMES) {
    merged[name] = parseDurationMs(merged[name] as Duration, name);
  }
  if (merged.smtpHeloName === '') merged.smtpHeloName = merged.myhostname;
  const badAllow = badAllowlistEntries(merged.smtpAddressAllowlist as string[]);
  if (badAllow.length > 0) {
    throw new RangeError(`smtpAddressAllowlist: not an address or CIDR range: "${badAllow.join('", "')}"`);
  }
  return merged as ResolvedOptions;
}
