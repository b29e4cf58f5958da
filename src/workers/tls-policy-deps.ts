/**
 * The adapters of issue 14's TLS policies for one delivery agent: the MTA-STS policy source, the
 * DANE lookups and the TLSRPT recorder, each only when its option turns it on.
 *
 * Decides: MTA-STS with mtaStsEnable (policies in the given store, else in memory; fetch failures
 * counted for TLSRPT as sts-policy-fetch-error / sts-webpki-invalid / sts-policy-invalid); DANE
 * with smtpDnsSupportLevel "dnssec" (the dnsServers as the validating resolver); TLSRPT with
 * smtpTlsrptEnable (counts in the given store, else in memory).
 * Never: decides delivery (src/core does), opens Redis (wiring.ts passes the stores).
 */
import type { AttemptDeps } from '../core/attempt-state.ts';
import type { ResolvedOptions } from '../core/options.ts';
import type { Clock, DnsPort, Logger } from '../core/ports.ts';
import { stsFailureType } from '../core/tlsrpt.ts';
import { createDanePort } from '../dane/port.ts';
import { createMtaStsSource } from '../mta-sts/source.ts';
import { createMemoryStsStore, type StsStore } from '../mta-sts/store.ts';
import { createTlsRptRecorder } from '../tlsrpt/recorder.ts';
import { createMemoryTlsRptStore, type TlsRptStore } from '../tlsrpt/store.ts';

export interface TlsPolicyStores {
  stsStore?: StsStore;
  tlsRptStore?: TlsRptStore;
}

export function createTlsPolicyDeps(
  opts: ResolvedOptions,
  d: { dns: DnsPort; clock: Clock; logger: Logger } & TlsPolicyStores,
): Pick<AttemptDeps, 'mtaSts' | 'dane' | 'tlsrpt'> {
  const tlsrpt = opts.smtpTlsrptEnable
    ? createTlsRptRecorder(d.tlsRptStore ?? createMemoryTlsRptStore(), d.clock, d.logger)
    : undefined;
  const mtaSts = opts.mtaStsEnable
    ? createMtaStsSource({
        dns: d.dns,
        store: d.stsStore ?? createMemoryStsStore(() => d.clock.now()),
        clock: d.clock,
        logger: d.logger,
        ca: opts.smtpTlsCAfile,
        fetchTimeoutMs: opts.mtaStsFetchTimeout,
        ...(tlsrpt
          ? {
              onPolicyFailure: (domain: string, stage: 'fetch' | 'parse', defect: string) =>
                tlsrpt.record(
                  domain,
                  { type: 'sts', strings: [], mxPatterns: [] },
                  { ok: false, resultType: stsFailureType(stage, defect), mxHost: '', ip: '' },
                ),
            }
          : {}),
      })
    : undefined;
  const dane =
    opts.smtpDnsSupportLevel === 'dnssec'
      ? createDanePort({ servers: opts.dnsServers, timeoutMs: opts.dnsTimeout, tries: opts.dnsTries })
      : undefined;
  return { ...(mtaSts ? { mtaSts } : {}), ...(dane ? { dane } : {}), ...(tlsrpt ? { tlsrpt } : {}) };
}
