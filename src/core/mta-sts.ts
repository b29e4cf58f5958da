/**
 * MTA-STS (RFC 8461) decisions: the `_mta-sts` TXT record, the policy file, MX host patterns, and
 * what a policy does to the TLS settings of one server.
 *
 * Decides: TXT validity (§3.1: exactly one record starting "v=STSv1", an `id` of 1-32 alphanumerics;
 * several STSv1 records = no record); policy validity (§3.2: version STSv1, mode enforce/testing/
 * none, max_age 0..31557600 seconds, at least one mx in enforce/testing modes; unknown keys
 * ignored; CRLF or LF lines); MX matching (§4.1: exact name, or "*.example.com" = exactly one more
 * leftmost label; case-insensitive, trailing dots ignored); and the stricter-wins rule: under an
 * `enforce` policy a server whose name matches no pattern is skipped, and a level below verify is
 * raised to verify with the MX host name as the certificate name (fingerprint/verify/secure keep
 * their own, stricter, checks). `testing` and `none` change nothing (testing failures are reported
 * by TLSRPT and logged).
 * Never: fetches, resolves or caches (src/mta-sts/ does), reads the clock.
 */
import type { TlsSettings } from './ports.ts';
import type { DeliveryFailure } from './types.ts';
import { TLS_LEVEL_NUMBER } from './types.ts';

export type StsMode = 'enforce' | 'testing' | 'none';

export interface StsPolicy {
  mode: StsMode;
  /** Lower-case patterns: "mx.example.com" or "*.example.com". */
  mx: string[];
  /** Seconds. */
  maxAge: number;
}

/** RFC 8461 §3.2: max_age may be at most 31557600 seconds (one year). */
export const STS_MAX_AGE_LIMIT = 31_557_600;

export type Parsed<T> = { ok: true; value: T } | { ok: false; defect: string };

/** The `id` of the one valid STSv1 TXT record among the domain's `_mta-sts` records. */
export function parseStsTxt(records: readonly string[]): Parsed<string> {
  const sts = records.filter((r) => /^v=STSv1(;|$|\s)/.test(r.trim()));
  if (sts.length === 0) return { ok: false, defect: 'no TXT record starting with v=STSv1' };
  if (sts.length > 1) return { ok: false, defect: `${sts.length} TXT records starting with v=STSv1` };
  const fields = new Map<string, string>();
  for (const part of (sts[0] ?? '').split(';')) {
    const t = part.trim();
    if (t === '') continue;
    const eq = t.indexOf('=');
    if (eq <= 0) return { ok: false, defect: `malformed field "${t.slice(0, 40)}"` };
    fields.set(t.slice(0, eq).trim(), t.slice(eq + 1).trim());
  }
  const id = fields.get('id');
  if (id === undefined) return { ok: false, defect: 'no id field' };
  if (!/^[A-Za-z0-9]{1,32}$/.test(id)) return { ok: false, defect: `bad id "${id.slice(0, 40)}"` };
  return { ok: true, value: id };
}

/** A policy file body (already known to be text/plain and within the size cap). */
export function parseStsPolicy(text: string): Parsed<StsPolicy> {
  let version: string | undefined;
  let mode: string | undefined;
  let maxAge: string | undefined;
  const mx: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return { ok: false, defect: `malformed line "${line.slice(0, 40)}"` };
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key === 'version') version ??= value;
    else if (key === 'mode') mode ??= value;
    else if (key === 'max_age') maxAge ??= value;
    else if (key === 'mx') mx.push(value.toLowerCase().replace(/\.$/, ''));
  }
  if (version !== 'STSv1') return { ok: false, defect: `version is not STSv1 (${version ?? 'missing'})` };
  if (mode !== 'enforce' && mode !== 'testing' && mode !== 'none')
    return { ok: false, defect: `bad mode "${mode ?? 'missing'}"` };
  if (maxAge === undefined || !/^\d{1,10}$/.test(maxAge) || Number(maxAge) > STS_MAX_AGE_LIMIT)
    return { ok: false, defect: `bad max_age "${maxAge ?? 'missing'}"` };
  const bad = mx.find(
    (p) => !/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(p),
  );
  if (bad !== undefined) return { ok: false, defect: `bad mx pattern "${bad.slice(0, 60)}"` };
  if (mode !== 'none' && mx.length === 0) return { ok: false, defect: `no mx pattern in ${mode} mode` };
  return { ok: true, value: { mode, mx, maxAge: Number(maxAge) } };
}

/** §4.1: exact match, or "*.d" matches exactly one label followed by ".d". */
export function mxMatchesPattern(mxHost: string, pattern: string): boolean {
  const host = mxHost.toLowerCase().replace(/\.$/, '');
  const p = pattern.toLowerCase().replace(/\.$/, '');
  if (!p.startsWith('*.')) return host === p;
  const rest = p.slice(1); // ".example.com"
  if (!host.endsWith(rest)) return false;
  const label = host.slice(0, host.length - rest.length);
  return label !== '' && !label.includes('.');
}

export function mxMatchesPolicy(mxHost: string, policy: StsPolicy): boolean {
  return policy.mx.some((p) => mxMatchesPattern(mxHost, p));
}

/** 4.7.5: an enforce policy does not list this MX host; the address is skipped. */
export function stsMxMismatch(domain: string, mxHost: string): DeliveryFailure {
  return {
    handler: 'sess',
    status: '4.7.5',
    text: `MTA-STS policy for ${domain} does not list MX host ${mxHost}`,
    throttle: false,
  };
}

export type StsVerdict =
  | { ok: true; settings: TlsSettings; mismatch?: boolean }
  | { ok: false; failure: DeliveryFailure };

/** Apply a policy to one server's settings: enforce raises the level; testing only notes. */
export function applyStsPolicy(p: {
  policy: StsPolicy;
  domain: string;
  mxHost: string;
  settings: TlsSettings;
}): StsVerdict {
  const { policy, settings } = p;
  if (policy.mode === 'none') return { ok: true, settings };
  const matches = mxMatchesPolicy(p.mxHost, policy);
  if (policy.mode === 'testing') return { ok: true, settings, ...(matches ? {} : { mismatch: true }) };
  if (!matches) return { ok: false, failure: stsMxMismatch(p.domain, p.mxHost) };
  if (TLS_LEVEL_NUMBER[settings.level] >= TLS_LEVEL_NUMBER.fingerprint) return { ok: true, settings };
  return { ok: true, settings: { ...settings, level: 'verify', matchNames: [p.mxHost.toLowerCase()] } };
}

/** Where the policy in force for a domain comes from (src/mta-sts: DNS, HTTPS, caches). */
export interface MtaStsPort {
  /** The policy in force for this domain, or undefined (no policy, or none could be had). */
  policyFor(domain: string, signal?: AbortSignal): Promise<StsPolicy | undefined>;
}
