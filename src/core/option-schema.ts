/**
 * The one check of delivery options, shared by createMailQueue(), the worker, `mxq deliver` and
 * the JSON config file (`--config`): every key must be a known option and every value of the
 * option's kind; a few options depend on each other (minimalBackoffTime ≤ maximalBackoffTime).
 *
 * Decides: each option's kind, inferred from its default in DEFAULT_OPTIONS (string, number ≥ 0,
 * boolean, list of strings, map) unless listed below as a duration, a word list (ENUM_OPTIONS) or
 * a map with typed entries; the problem text, which names the key the user wrote.
 * Adding an option: its default in core/options.ts; add a line here only when its kind is a
 * duration or one of a few words, or a map whose values need a check.
 * Never: fills defaults or converts values (options.ts resolveOptions does), reads files.
 */
import { badAllowlistEntries } from './address-policy.ts';
import { TLS_LEVEL_NUMBER } from './types.ts';

const TLS_LEVELS = Object.keys(TLS_LEVEL_NUMBER);
const REQUIRETLS_POLICIES = ['disable', 'opportunistic', 'opportunistic+starttls', 'enforce'];

/** Options whose value is one of a few words. */
export const ENUM_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  inetProtocols: ['all', 'ipv4', 'ipv6'],
  smtpAddressPreference: ['any', 'ipv4', 'ipv6'],
  smtpDnsSupportLevel: ['disabled', 'enabled', 'dnssec'],
  smtpTlsSecurityLevel: TLS_LEVELS,
  lmtpTlsSecurityLevel: TLS_LEVELS,
  destinationKey: ['nexthop', 'mx-hosts'],
};

/** Options whose value is a list of words from a fixed set. */
export const WORD_LIST_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  smtpSaslSecurityOptions: ['noplaintext', 'noactive', 'nodictionary', 'noanonymous', 'mutual_auth'],
  smtpSaslTlsSecurityOptions: ['noplaintext', 'noactive', 'nodictionary', 'noanonymous', 'mutual_auth'],
};

type Defaults = Readonly<Record<string, unknown>>;

const DURATION_RE = /^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$/;

/** Options whose default is a Postfix time value ("300s") are durations (lmtpTcpPort is a port). */
export function isDurationOption(key: string, defaults: Defaults): boolean {
  const def = defaults[key];
  return typeof def === 'string' && /^\d+[smhdw]$/.test(def) && key !== 'lmtpTcpPort';
}

const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
const isStringArray = (x: unknown): x is string[] =>
  Array.isArray(x) && x.every((s) => typeof s === 'string');

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string')
    return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

function checkTlsPolicyEntry(where: string, v: unknown): string | undefined {
  if (!isPlainObject(v) || typeof v.level !== 'string' || !TLS_LEVELS.includes(v.level)) {
    return `${where}.level must be one of ${TLS_LEVELS.join(', ')}`;
  }
  for (const list of ['match', 'tafile'] as const) {
    if (v[list] !== undefined && !isStringArray(v[list])) return `${where}.${list} must be a list of strings`;
  }
  if (v.servername !== undefined && typeof v.servername !== 'string')
    return `${where}.servername must be a string`;
  if (v.connectionReuse !== undefined && typeof v.connectionReuse !== 'boolean') {
    return `${where}.connectionReuse must be true or false`;
  }
  const unknown = Object.keys(v).find(
    (a) => !['level', 'match', 'servername', 'tafile', 'connectionReuse'].includes(a),
  );
  return unknown === undefined ? undefined : `${where} has an unknown attribute "${unknown}"`;
}

function checkDestinationOverride(where: string, v: unknown): string | undefined {
  if (!isPlainObject(v)) return `${where} must be { "concurrencyLimit"?: number, "rateDelay"?: time }`;
  const unknown = Object.keys(v).find((a) => a !== 'concurrencyLimit' && a !== 'rateDelay');
  if (unknown !== undefined) return `${where} has an unknown attribute "${unknown}"`;
  const limit = v.concurrencyLimit;
  if (limit !== undefined && !(Number.isInteger(limit) && (limit as number) >= 1))
    return `${where}.concurrencyLimit must be an integer ≥ 1`;
  const delay = v.rateDelay;
  if (
    delay !== undefined &&
    !(typeof delay === 'number' || (typeof delay === 'string' && DURATION_RE.test(delay)))
  )
    return `${where}.rateDelay must be a time value (seconds, or "30s", "5m", ...)`;
  return undefined;
}

/** List options whose entries need a check: option → problem text or undefined. */
const LIST_ENTRY_CHECKS: Readonly<Record<string, (key: string, v: string[]) => string | undefined>> = {
  smtpAddressAllowlist: (key, v) => {
    const bad = badAllowlistEntries(v);
    return bad.length > 0 ? `${key}: not an address or CIDR range: "${bad.join('", "')}"` : undefined;
  },
};

/** Map-valued options whose entries need a check: option → entry checker. */
const MAP_ENTRY_CHECKS: Readonly<Record<string, (where: string, v: unknown) => string | undefined>> = {
  knownTcpPorts: (where, v) =>
    Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535
      ? undefined
      : `${where} must be a port number 1..65535`,
  smtpRequiretlsPolicy: (where, v) =>
    typeof v === 'string' && REQUIRETLS_POLICIES.includes(v)
      ? undefined
      : `${where} must be one of ${REQUIRETLS_POLICIES.join(', ')}`,
  smtpSaslPasswordMaps: (where, v) =>
    isPlainObject(v) && typeof v.username === 'string' && typeof v.password === 'string'
      ? undefined
      : `${where} must be { "username": string, "password": string }`,
  smtpTlsPolicyMaps: checkTlsPolicyEntry,
  // Next-hop syntax is checked when the worker starts (core/route.ts checkRoutingOptions).
  transportMaps: (where, v) =>
    typeof v === 'string' ? undefined : `${where} must be a "transport:nexthop" string`,
  destinationOverrides: checkDestinationOverride,
};

/** The problem with one option value (naming the key), or undefined when it is right. */
export function checkOptionValue(
  key: string,
  value: unknown,
  defaults: Defaults,
  opts: { entries?: boolean } = {},
): string | undefined {
  const def = defaults[key];
  if (isDurationOption(key, defaults)) {
    const ok =
      (typeof value === 'number' && Number.isFinite(value) && value >= 0) ||
      (typeof value === 'string' && DURATION_RE.test(value));
    return ok
      ? undefined
      : `${key} must be a time value (seconds, or "30s", "5m", "2h", "5d", "1w"), not ${typeName(value)}`;
  }
  const words = ENUM_OPTIONS[key];
  if (words !== undefined) {
    return typeof value === 'string' && words.includes(value)
      ? undefined
      : `${key} must be one of ${words.join(', ')}, not ${typeName(value)}`;
  }
  const listWords = WORD_LIST_OPTIONS[key];
  if (listWords !== undefined) {
    const bad = isStringArray(value) ? value.find((w) => !listWords.includes(w)) : undefined;
    return isStringArray(value) && bad === undefined
      ? undefined
      : `${key} must be a list of ${listWords.join(', ')}${bad === undefined ? '' : `, not "${bad}"`}`;
  }
  if (Array.isArray(def)) {
    if (!isStringArray(value)) return `${key} must be a list of strings, not ${typeName(value)}`;
    return LIST_ENTRY_CHECKS[key]?.(key, value);
  }
  if (isPlainObject(def)) {
    if (!isPlainObject(value)) return `${key} must be an object, not ${typeName(value)}`;
    const check = MAP_ENTRY_CHECKS[key];
    // A bad smtpTlsPolicyMaps entry given through the API is Postfix's "TLS configuration
    // problem" at delivery (4.7.5), not a start-up failure; the config file checks it.
    if (check === undefined || (opts.entries === false && key === 'smtpTlsPolicyMaps')) return undefined;
    for (const [k, v] of Object.entries(value)) {
      const problem = check(`${key}["${k}"]`, v);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  if (typeof def === 'number') {
    return typeof value === 'number' && Number.isFinite(value) && value >= 0
      ? undefined
      : `${key} must be a number ≥ 0, not ${typeName(value)}`;
  }
  if (typeof def === 'boolean')
    return typeof value === 'boolean' ? undefined : `${key} must be true or false, not ${typeName(value)}`;
  return typeof value === 'string' ? undefined : `${key} must be a string, not ${typeName(value)}`;
}

function seconds(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  const m = DURATION_RE.exec(v);
  const unit: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
  return m?.[1] === undefined ? undefined : Number(m[1]) * (unit[m[2] ?? ''] ?? 1);
}

/**
 * The first problem with a whole options object (unknown key, wrong kind, contradicting values),
 * or undefined. `defaults` is core/options.ts's DEFAULT_OPTIONS (passed in: no import cycle).
 */
export function checkOptions(
  input: unknown,
  defaults: Defaults,
  opts: { entries?: boolean } = {},
): string | undefined {
  if (!isPlainObject(input)) return `options must be an object, not ${typeName(input)}`;
  for (const [key, value] of Object.entries(input)) {
    if (!Object.hasOwn(defaults, key)) return `unknown option "${key}"`;
    if (value === undefined) continue;
    const problem = checkOptionValue(key, value, defaults, opts);
    if (problem !== undefined) return problem;
  }
  const min = seconds(input.minimalBackoffTime ?? defaults.minimalBackoffTime);
  const max = seconds(input.maximalBackoffTime ?? defaults.maximalBackoffTime);
  if (min !== undefined && max !== undefined && min > max) {
    return `minimalBackoffTime (${min}s) must not be above maximalBackoffTime (${max}s)`;
  }
  return undefined;
}
