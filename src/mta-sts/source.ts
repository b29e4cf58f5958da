/**
 * The MTA-STS policy in force for a domain (RFC 8461 §3, §5): the MtaStsPort adapter.
 *
 * Decides, per lookup: TXT `_mta-sts.<domain>` through the configured DNS; a cached policy that
 * has not expired is used when the TXT id is the same, or when there is no (valid) TXT record or
 * it cannot be had (§5.1: a cached policy stays in force until max_age); otherwise the policy is
 * fetched, parsed and stored for max_age. A policy that cannot be fetched or parsed leaves the
 * cached one (if any) in force, and with none the domain has no policy (§5: mail is not held up
 * because a policy host is down). Every defect is logged once per lookup, naming the domain.
 * Concurrent lookups of one domain in this process share one fetch.
 * Never: decides what a policy does to delivery (core/mta-sts.ts), throws.
 */
import type { MtaStsPort, StsPolicy } from '../core/mta-sts.ts';
import { parseStsPolicy, parseStsTxt } from '../core/mta-sts.ts';
import type { Clock, DnsPort, Logger } from '../core/ports.ts';
import { fetchStsPolicy } from './fetch.ts';
import type { CachedSts, StsStore } from './store.ts';

export interface StsSourceDeps {
  dns: DnsPort;
  store: StsStore;
  clock: Clock;
  logger: Logger;
  ca: string[];
  fetchTimeoutMs: number;
  /** HTTPS port of policy hosts (443; tests only may change it). */
  port?: number;
  /** Told when a published policy (TXT found) could not be fetched or parsed (for TLSRPT). */
  onPolicyFailure?: (domain: string, stage: 'fetch' | 'parse', defect: string) => void;
}

export function createMtaStsSource(deps: StsSourceDeps): MtaStsPort {
  const inflight = new Map<string, Promise<StsPolicy | undefined>>();
  const warn = (domain: string, defect: string): void =>
    deps.logger.warn({ event: 'mta-sts', domain, defect }, `MTA-STS ${domain}: ${defect}`);

  async function txtId(domain: string, signal?: AbortSignal): Promise<string | undefined> {
    const answer = await deps.dns.lookup(`_mta-sts.${domain}`, 'TXT', signal);
    if (answer.class !== 'OK' || answer.type !== 'TXT') {
      if (answer.class !== 'NOTFOUND') warn(domain, `TXT lookup failed: ${answer.class}`);
      return undefined;
    }
    const id = parseStsTxt(answer.records);
    if (!id.ok && answer.records.some((r) => r.trim().startsWith('v=STSv1')))
      warn(domain, `bad TXT record: ${id.defect}`);
    return id.ok ? id.value : undefined;
  }

  async function lookup(domain: string, signal?: AbortSignal): Promise<StsPolicy | undefined> {
    const cached: CachedSts | undefined = await deps.store.get(domain).catch(() => undefined);
    const id = await txtId(domain, signal);
    if (cached !== undefined && (id === undefined || id === cached.id)) return cached.policy;
    if (id === undefined) return undefined;
    const fetched = await fetchStsPolicy({
      domain,
      dns: deps.dns,
      ca: deps.ca,
      timeoutMs: deps.fetchTimeoutMs,
      ...(deps.port !== undefined ? { port: deps.port } : {}),
      ...(signal !== undefined ? { signal } : {}),
    });
    if (!fetched.ok) {
      warn(domain, `policy not fetched: ${fetched.defect}`);
      deps.onPolicyFailure?.(domain, 'fetch', fetched.defect);
      return cached?.policy;
    }
    const parsed = parseStsPolicy(fetched.text);
    if (!parsed.ok) {
      warn(domain, `bad policy: ${parsed.defect}`);
      deps.onPolicyFailure?.(domain, 'parse', parsed.defect);
      return cached?.policy;
    }
    const now = deps.clock.now();
    const value: CachedSts = {
      id,
      policy: parsed.value,
      fetchedAt: now,
      expiresAt: now + parsed.value.maxAge * 1000,
    };
    await deps.store
      .put(domain, value)
      .catch((e: unknown) => warn(domain, `policy not cached: ${String(e)}`));
    deps.logger.info(
      { event: 'mta-sts', domain, mode: parsed.value.mode, id },
      `MTA-STS ${domain}: policy ${id} (${parsed.value.mode})`,
    );
    return parsed.value;
  }

  return {
    policyFor(domain, signal) {
      const key = domain.toLowerCase().replace(/\.$/, '');
      const running = inflight.get(key);
      if (running !== undefined) return running;
      const p = lookup(key, signal).finally(() => inflight.delete(key));
      inflight.set(key, p);
      return p;
    },
  };
}
