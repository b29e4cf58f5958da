/**
 * The TLS policy of one server of a list element with the per-destination policies of issue 14
 * on top (spec §7.2): smtpTlsPolicyMaps/level (tls-policy.ts, with `TLS-Required: no`), then DANE
 * (dane.ts) for the dane levels, then MTA-STS (mta-sts.ts), the stricter winning; and the
 * element-level lookups those need (the STS policy of the next-hop domain; the MX RRset's DNSSEC
 * status and each server's TLSA), done once per element before its addresses are walked.
 *
 * Decides: which next-hops MTA-STS applies to (SMTP, MX-looked-up domains, not `TLS-Required:
 * no`); that a dane level without a validating resolver is a configuration problem (logged once
 * per element, the address skipped with 4.7.5), never a lower level.
 * Never: connects, classifies failures, decides what records mean (the pure modules do).
 */
import type { AttemptRun, TlsElement } from './attempt-state.ts';
import type { TlsaLookup } from './dane.ts';
import { decideDane, isDaneLevel, isUsableTlsa } from './dane.ts';
import { applyStsPolicy } from './mta-sts.ts';
import type { NexthopTarget } from './nexthop.ts';
import type { TlsSettings } from './ports.ts';
import { tlsConfigProblem, tlsSettingsFor } from './tls-policy.ts';
import { policyDescriptor, resultTypeFor, type TlsRptPort } from './tlsrpt.ts';
import type { DeliveryFailure, Endpoint } from './types.ts';

export function domainOf(run: AttemptRun, target: NexthopTarget): string {
  return target.kind === 'unix' ? run.opts.myhostname : target.host;
}

/** The TLS policy lookup for one server of a list element (§7.2). */
export function tlsPolicyFor(
  run: AttemptRun,
  el: TlsElement,
  ep: Endpoint,
): ReturnType<typeof tlsSettingsFor> {
  const policy = tlsSettingsFor({
    element: el.target,
    domain: domainOf(run, el.target),
    mxHost: ep.host,
    protocol: run.req.protocol,
    opts: run.opts,
    tlsRequiredNo: run.tlsRequiredNo,
  });
  if (!policy.ok) return policy;
  const domain = domainOf(run, el.target);
  let settings = policy.settings;
  if (isDaneLevel(settings.level)) {
    const lookup = el.dane?.tlsa.get(`${ep.host} ${ep.port}`);
    if (el.dane === undefined || lookup === undefined) return { ok: false, failure: tlsConfigProblem() };
    const v = decideDane({
      settings,
      mxSecure: el.dane.mxSecure,
      lookup,
      host: ep.host,
      port: ep.port,
      domain,
    });
    if (!v.ok) return { ok: false, failure: v.failure };
    settings = v.settings;
  }
  if (el.sts === undefined) return { ...policy, settings };
  const sts = applyStsPolicy({ policy: el.sts, domain, mxHost: ep.host, settings });
  return sts.ok ? { ...policy, settings: sts.settings } : { ok: false, failure: sts.failure };
}

/** dane/dane-only (RFC 7672): the MX RRset's DNSSEC status and each server's TLSA, fetched once. */
export async function lookupDane(run: AttemptRun, el: TlsElement): Promise<void> {
  const first = el.list[0];
  if (first === undefined) return;
  const base = tlsSettingsFor({
    element: el.target,
    domain: domainOf(run, el.target),
    mxHost: first.host,
    protocol: run.req.protocol,
    opts: run.opts,
    tlsRequiredNo: run.tlsRequiredNo,
  });
  if (!base.ok || !isDaneLevel(base.settings.level)) return;
  const port = run.deps.dane;
  if (port === undefined) {
    const text = `TLS level ${base.settings.level} needs smtpDnsSupportLevel "dnssec" and a validating resolver in dnsServers; not delivering to ${el.site}`;
    run.log.error({ event: 'dane-unsupported', nexthop: el.site }, `${run.req.queueId}: ${text}`);
    return;
  }
  const { target } = el;
  const signal = run.req.signal;
  const mx =
    target.kind === 'inet' && target.lookup === 'mx' ? await port.mxSecure(target.host, signal) : true;
  const tlsa = new Map<string, TlsaLookup>();
  for (const ep of el.list) {
    const key = `${ep.host} ${ep.port}`;
    if (tlsa.has(key)) continue;
    const found = await port.tlsa(ep.host, ep.port, signal);
    if (found.kind === 'records' && found.secure && !found.records.some(isUsableTlsa))
      run.log.warn({ event: 'dane', server: ep.host }, `TLSA records unusable for ${ep.host}:${ep.port}`);
    if (found.kind === 'error')
      run.log.warn(
        { event: 'dane', server: ep.host },
        `TLSA lookup error for ${ep.host}:${ep.port}: ${found.reason}`,
      );
    tlsa.set(key, found);
  }
  el.dane = { mxSecure: mx === true, tlsa };
}

/** MTA-STS applies to SMTP next-hops that are domains (not [host], not literals), unless TLS-Required: no. */
export async function lookupSts(run: AttemptRun, el: TlsElement): Promise<void> {
  const { target } = el;
  const source = run.deps.mtaSts;
  if (source === undefined || run.req.protocol !== 'smtp' || run.tlsRequiredNo) return;
  if (target.kind !== 'inet' || target.bracketed || target.literal !== undefined) return;
  const policy = await source.policyFor(target.host, run.req.signal);
  if (policy !== undefined && policy.mode !== 'none') el.sts = policy;
}

/**
 * TLSRPT (RFC 8460): count this TLS session for the next-hop domain's daily report: SMTP only, a
 * domain next-hop (not a literal), not a `TLS-Required: no` message, TLS attempted (level may or
 * above); a success needs TLS established, a failure one that TLS stopped (core/tlsrpt.ts).
 */
export function reportTlsSession(
  run: AttemptRun,
  el: TlsElement,
  ep: Endpoint,
  tls: TlsSettings,
  outcome: { ok: true; tlsActive: boolean } | { ok: false; failure: DeliveryFailure },
): void {
  const port = tlsRptPortFor(run, el);
  if (port === undefined || tls.level === 'none') return;
  const policy = policyDescriptor(el.sts, tls.tlsa);
  if (outcome.ok) {
    if (outcome.tlsActive) port.record(el.target.host, policy, { ok: true });
    return;
  }
  const resultType = resultTypeFor(outcome.failure, tls.level);
  if (resultType === undefined) return;
  port.record(el.target.host, policy, { ok: false, resultType, mxHost: ep.host, ip: ep.address });
}

/**
 * TLSRPT for a server a dane level refused before connecting: its TLSA lookup failed
 * (`dnssec-invalid`), dane-only found none (`dane-required`) or none usable (`tlsa-invalid`).
 */
export function reportDaneRefusal(
  run: AttemptRun,
  el: TlsElement,
  ep: Endpoint,
  failure: DeliveryFailure,
): void {
  const port = tlsRptPortFor(run, el);
  if (port === undefined || failure.dane === undefined) return;
  const resultType = resultTypeFor(failure, 'dane');
  if (resultType === undefined) return;
  const lookup = el.dane?.tlsa.get(`${ep.host} ${ep.port}`);
  const policy = policyDescriptor(el.sts, lookup?.kind === 'records' ? lookup.records : undefined);
  port.record(el.target.host, policy, { ok: false, resultType, mxHost: ep.host, ip: ep.address });
}

/** The TLSRPT port when this element counts: SMTP, a domain next-hop, not `TLS-Required: no`. */
function tlsRptPortFor(run: AttemptRun, el: TlsElement): TlsRptPort | undefined {
  const port = run.deps.tlsrpt;
  if (port === undefined || run.req.protocol !== 'smtp' || run.tlsRequiredNo) return undefined;
  if (el.target.kind !== 'inet' || el.target.literal !== undefined) return undefined;
  return port;
}
