/**
 * TLS policy for one server (spec §7.1/§7.2/§7.5): the level and what the certificate must match.
 *
 * Decides: the global level (`smtpTlsSecurityLevel`, or `lmtpTlsSecurityLevel` for LMTP); the
 * `smtpTlsPolicyMaps` entry, looked up by the list element as written, then for plain domain
 * names by `.parent` keys; the expanded match names for verify (`hostname` → the MX host name)
 * and secure (`nexthop` → the next-hop domain, `dot-nexthop` → ".domain"); fingerprint digests;
 * trust anchors; SNI; LMTP over UNIX sockets lowers `may` to `none`; wrapper mode below encrypt
 * skips the address (Postfix warning text in `warning`).
 *
 * For the engine: a match name that starts with "." (from `dot-nexthop` or written so) matches any
 * subdomain of the rest (".example.com" matches "mx.example.com", not "example.com"); any other
 * name matches the certificate name exactly (case-insensitive; "*.x" wildcards per RFC 6125).
 * `TLS-Required: no` (§7.2 step 2, tls-required.ts): no table lookup, global level capped at may.
 * Not done here: DANE, MTA-STS (applied on top by the caller), policy caching.
 * Never: does TLS, reads files (`tafile`/`smtpTlsCAfile` hold PEM contents).
 */

import type { NexthopTarget } from './nexthop.ts';
import type { ResolvedOptions, TlsPolicyEntry } from './options.ts';
import type { TlsSettings } from './ports.ts';
import { capLevelForTlsRequiredNo } from './tls-required.ts';
import type { DeliveryFailure, Protocol, TlsLevel } from './types.ts';
import { TLS_LEVEL_NUMBER } from './types.ts';

export const WRAPPERMODE_WARNING =
  'smtp_tls_wrappermode requires "smtp_tls_security_level = encrypt" (or stronger)';

export type TlsPolicyResult =
  | { ok: true; settings: TlsSettings; connectionReuse: boolean; policyKey?: string }
  | { ok: false; failure: DeliveryFailure; warning?: string };

type TlsOptions = Pick<
  ResolvedOptions,
  | 'smtpTlsSecurityLevel'
  | 'lmtpTlsSecurityLevel'
  | 'smtpTlsPolicyMaps'
  | 'smtpTlsWrappermode'
  | 'smtpTlsCAfile'
  | 'smtpTlsFingerprintCertMatch'
  | 'smtpTlsVerifyCertMatch'
  | 'smtpTlsSecureCertMatch'
  | 'smtpTlsConnectionReuse'
>;

/** 4.7.5 `client TLS configuration problem` (a bad entry or level): the address is skipped. */
export function tlsConfigProblem(): DeliveryFailure {
  return { handler: 'sess', status: '4.7.5', text: 'client TLS configuration problem', throttle: true };
}

function isTlsLevel(x: unknown): x is TlsLevel {
  return typeof x === 'string' && Object.hasOwn(TLS_LEVEL_NUMBER, x);
}

const isStringArray = (x: unknown): x is string[] =>
  Array.isArray(x) && x.every((s) => typeof s === 'string');

/** The policy-table keys tried for an element: as written, then `.parent` keys for plain domains. */
export function policyLookupKeys(element: NexthopTarget): string[] {
  const keys = [element.raw];
  const plain =
    element.kind === 'inet' &&
    !element.bracketed &&
    element.literal === undefined &&
    element.raw === element.host;
  if (plain) {
    const labels = element.host.split('.');
    for (let i = 1; i < labels.length; i++) keys.push(`.${labels.slice(i).join('.')}`);
  }
  return keys;
}

/** Find the table entry (keys compared case-insensitively). */
export function findPolicyEntry(
  table: Readonly<Record<string, TlsPolicyEntry>>,
  element: NexthopTarget,
): { key: string; entry: unknown } | undefined {
  const lower = new Map(
    Object.entries(table).map(([k, v]) => [k.toLowerCase(), { key: k, entry: v as unknown }]),
  );
  for (const key of policyLookupKeys(element)) {
    const hit = lower.get(key.toLowerCase());
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/** Expand verify/secure match patterns: hostname, nexthop, dot-nexthop, or literal names. */
export function expandMatchNames(patterns: readonly string[], domain: string, mxHost: string): string[] {
  const out: string[] = [];
  for (const raw of patterns) {
    const p = raw.trim().toLowerCase();
    let name: string;
    if (p === 'hostname') name = mxHost.toLowerCase();
    else if (p === 'nexthop') name = domain.toLowerCase();
    else if (p === 'dot-nexthop') name = `.${domain.toLowerCase()}`;
    else name = p;
    if (name !== '' && name !== '.' && !out.includes(name)) out.push(name);
  }
  return out;
}

/** Lower-case hex without colons; undefined when not a SHA-256 digest. */
export function normalizeFingerprint(s: string): string | undefined {
  const hex = s.trim().replace(/:/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

function validEntry(x: unknown): x is TlsPolicyEntry {
  if (typeof x !== 'object' || x === null) return false;
  const e = x as Record<string, unknown>;
  if (!isTlsLevel(e.level)) return false;
  if (e.match !== undefined && !isStringArray(e.match)) return false;
  if (e.tafile !== undefined && !isStringArray(e.tafile)) return false;
  if (e.servername !== undefined && typeof e.servername !== 'string') return false;
  return e.connectionReuse === undefined || typeof e.connectionReuse === 'boolean';
}

/** Fill matchNames/fingerprints for the level; undefined when the policy cannot work (bad config). */
function addMatching(
  s: TlsSettings,
  entry: TlsPolicyEntry | undefined,
  p: { domain: string; mxHost: string; opts: TlsOptions },
): TlsSettings | undefined {
  if (s.level === 'fingerprint') {
    const digests = (entry?.match ?? p.opts.smtpTlsFingerprintCertMatch).map(normalizeFingerprint);
    if (digests.length === 0 || digests.some((d) => d === undefined)) return undefined;
    return { ...s, fingerprints: digests.filter((d): d is string => d !== undefined) };
  }
  if (s.level === 'verify' || s.level === 'secure') {
    const fallback = s.level === 'verify' ? p.opts.smtpTlsVerifyCertMatch : p.opts.smtpTlsSecureCertMatch;
    const names = expandMatchNames(entry?.match ?? fallback, p.domain, p.mxHost);
    return names.length === 0 ? undefined : { ...s, matchNames: names };
  }
  return s;
}

/** TLS settings for one server of one list element, or why the address must be skipped. */
export function tlsSettingsFor(p: {
  element: NexthopTarget;
  domain: string;
  mxHost: string;
  protocol: Protocol;
  opts: TlsOptions;
  /** The message carries an applicable `TLS-Required: no` (tls-required.ts). */
  tlsRequiredNo?: boolean;
}): TlsPolicyResult {
  const { opts, element } = p;
  const hit = p.tlsRequiredNo === true ? undefined : findPolicyEntry(opts.smtpTlsPolicyMaps, element);
  if (hit !== undefined && !validEntry(hit.entry)) return { ok: false, failure: tlsConfigProblem() };
  const entry = hit?.entry as TlsPolicyEntry | undefined;
  let level: unknown =
    entry?.level ?? (p.protocol === 'lmtp' ? opts.lmtpTlsSecurityLevel : opts.smtpTlsSecurityLevel);
  if (!isTlsLevel(level)) return { ok: false, failure: tlsConfigProblem() };
  if (element.kind === 'unix' && level === 'may') level = 'none';
  const wrapper = opts.smtpTlsWrappermode && element.kind === 'inet';
  if (p.tlsRequiredNo === true) level = capLevelForTlsRequiredNo(level as TlsLevel, wrapper);
  if (wrapper && TLS_LEVEL_NUMBER[level as TlsLevel] < TLS_LEVEL_NUMBER.encrypt) {
    const failure: DeliveryFailure = {
      handler: 'sess',
      status: '4.3.0',
      text: 'server unavailable or unable to receive mail',
      throttle: false,
    };
    return { ok: false, failure, warning: WRAPPERMODE_WARNING };
  }
  let settings: TlsSettings | undefined = { level: level as TlsLevel };
  settings = addMatching(settings, entry, p);
  if (settings === undefined) return { ok: false, failure: tlsConfigProblem() };
  if (wrapper) settings.wrapperMode = true;
  const ca = entry?.tafile ?? (opts.smtpTlsCAfile.length > 0 ? opts.smtpTlsCAfile : undefined);
  if (ca !== undefined && settings.level !== 'none') settings.ca = [...ca];
  if (entry?.servername !== undefined && entry.servername !== '') {
    settings.servername = entry.servername === 'hostname' ? p.mxHost : entry.servername;
  }
  const result: TlsPolicyResult = {
    ok: true,
    settings,
    connectionReuse: entry?.connectionReuse ?? opts.smtpTlsConnectionReuse,
  };
  if (hit !== undefined) result.policyKey = hit.key;
  return result;
}
