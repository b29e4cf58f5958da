/**
 * SMTP TLS Reporting (RFC 8460) decisions: the `_smtp._tls` TXT record, the policy a session was
 * judged under, the result type of a failed session, and the JSON report of one day.
 *
 * Decides: TXT validity (§3: one record starting "v=TLSRPTv1", `rua` = comma-separated mailto:
 * and https: URIs; others ignored, none = no record); the policy descriptor (`sts` with the
 * policy's lines and MX patterns, `tlsa` with the records in presentation form, else
 * `no-policy-found`); which sessions count (TLS attempted at level may or above: a success is a
 * session that started TLS and met the policy; a failure one that TLS or its checks stopped); the
 * result type of a failure (§4.3: `starttls-not-supported`; `certificate-not-trusted` for a
 * verify/secure/STS check without a trusted chain, `certificate-host-mismatch` for a trusted chain
 * issued to another name; `tlsa-invalid` for a DANE mismatch or no usable TLSA; `dnssec-invalid`
 * for a TLSA lookup that failed; `dane-required` for dane-only without secure TLSA;
 * `validation-failure` for a broken handshake); the report JSON (§4.4) with its UTC day range and
 * report id.
 * Never: stores counts, sends reports, reads the clock (days are arguments).
 */
import type { StsPolicy } from './mta-sts.ts';
import type { TlsaRecord } from './ports.ts';
import type { DeliveryFailure, TlsLevel } from './types.ts';

export interface TlsRptPolicy {
  type: 'sts' | 'tlsa' | 'no-policy-found';
  strings: string[];
  mxPatterns: string[];
}

export type TlsRptResultType =
  | 'starttls-not-supported'
  | 'certificate-not-trusted'
  | 'certificate-host-mismatch'
  | 'tlsa-invalid'
  | 'dnssec-invalid'
  | 'dane-required'
  | 'validation-failure'
  | 'sts-policy-fetch-error'
  | 'sts-policy-invalid'
  | 'sts-webpki-invalid';

export type TlsRptOutcome =
  | { ok: true }
  | { ok: false; resultType: TlsRptResultType; mxHost: string; ip: string };

/** Where session results go (src/tlsrpt stores them; reports are sent later). Never throws. */
export interface TlsRptPort {
  record(domain: string, policy: TlsRptPolicy, outcome: TlsRptOutcome): void;
}

export function parseTlsRptTxt(
  records: readonly string[],
): { ok: true; rua: string[] } | { ok: false; defect: string } {
  const rpt = records.filter((r) => /^v=TLSRPTv1\s*(;|$)/.test(r.trim()));
  if (rpt.length !== 1) return { ok: false, defect: `${rpt.length} TXT records starting with v=TLSRPTv1` };
  const rua = /(?:^|;)\s*rua\s*=\s*([^;]*)/.exec(rpt[0] ?? '')?.[1];
  if (rua === undefined) return { ok: false, defect: 'no rua field' };
  const uris = rua
    .split(',')
    .map((u) => u.trim())
    .filter((u) => /^mailto:[^\s@]+@[^\s@]+$/i.test(u) || /^https:\/\/\S+$/i.test(u));
  return uris.length > 0 ? { ok: true, rua: uris } : { ok: false, defect: 'no usable rua URI' };
}

export function stsPolicyStrings(p: StsPolicy): string[] {
  return ['version: STSv1', `mode: ${p.mode}`, ...p.mx.map((m) => `mx: ${m}`), `max_age: ${p.maxAge}`];
}

export function policyDescriptor(sts: StsPolicy | undefined, tlsa: TlsaRecord[] | undefined): TlsRptPolicy {
  if (tlsa !== undefined && tlsa.length > 0)
    return {
      type: 'tlsa',
      strings: tlsa.map((r) => `${r.usage} ${r.selector} ${r.matchingType} ${r.data}`),
      mxPatterns: [],
    };
  if (sts !== undefined) return { type: 'sts', strings: stsPolicyStrings(sts), mxPatterns: [...sts.mx] };
  return { type: 'no-policy-found', strings: [], mxPatterns: [] };
}

/** The result type of an MTA-STS policy that could not be had (§4.3.2.2). */
export function stsFailureType(stage: 'fetch' | 'parse', defect: string): TlsRptResultType {
  if (stage === 'parse') return 'sts-policy-invalid';
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|ISSUER/.test(defect)
    ? 'sts-webpki-invalid'
    : 'sts-policy-fetch-error';
}

/** The result type of a failed TLS session, or undefined when the failure is not about TLS. */
export function resultTypeFor(failure: DeliveryFailure, level: TlsLevel): TlsRptResultType | undefined {
  if (failure.dane !== undefined) return DANE_RESULT[failure.dane];
  if (
    failure.status === '4.7.4' ||
    /^TLS is required, but (was not offered|host .* refused to start TLS)/.test(failure.text)
  )
    return 'starttls-not-supported';
  if (failure.certificate !== undefined) {
    if (level === 'dane' || level === 'dane-only') return 'tlsa-invalid';
    return failure.certificate === 'name-mismatch' ? 'certificate-host-mismatch' : 'certificate-not-trusted';
  }
  if (failure.text.startsWith('Cannot start TLS')) return 'validation-failure';
  return undefined;
}

/** RFC 8460 §4.3.2.1: a TLSA lookup that failed, none where dane-only needs them, none usable. */
const DANE_RESULT: Readonly<Record<NonNullable<DeliveryFailure['dane']>, TlsRptResultType>> = {
  'lookup-error': 'dnssec-invalid',
  'no-tlsa': 'dane-required',
  'unusable-tlsa': 'tlsa-invalid',
};

export interface DayCounts {
  policy: TlsRptPolicy;
  success: number;
  failures: Array<{ resultType: string; mxHost: string; ip: string; count: number }>;
}

/** RFC 8460 §4.4 report of one UTC day (`day` = "YYYY-MM-DD") for one policy domain. */
export function buildTlsReport(p: {
  day: string;
  domain: string;
  organization: string;
  contact: string;
  submitter: string;
  policies: DayCounts[];
}): { reportId: string; json: string } {
  const reportId = `${p.day}T00:00:00Z_${p.domain}@${p.submitter}`;
  const report = {
    'organization-name': p.organization,
    'date-range': { 'start-datetime': `${p.day}T00:00:00Z`, 'end-datetime': `${p.day}T23:59:59Z` },
    'contact-info': p.contact,
    'report-id': reportId,
    policies: p.policies.map((c) => ({
      policy: {
        'policy-type': c.policy.type,
        ...(c.policy.strings.length > 0 ? { 'policy-string': c.policy.strings } : {}),
        'policy-domain': p.domain,
        ...(c.policy.mxPatterns.length > 0 ? { 'mx-host': c.policy.mxPatterns } : {}),
      },
      summary: {
        'total-successful-session-count': c.success,
        'total-failure-session-count': c.failures.reduce((n, f) => n + f.count, 0),
      },
      ...(c.failures.length > 0
        ? {
            'failure-details': c.failures.map((f) => ({
              'result-type': f.resultType,
              'receiving-mx-hostname': f.mxHost,
              'receiving-ip': f.ip,
              'failed-session-count': f.count,
            })),
          }
        : {}),
    })),
  };
  return { reportId, json: JSON.stringify(report) };
}
