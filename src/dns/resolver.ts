/**
 * The DnsPort adapter on node:dns/promises: one Resolver with configured servers, timeout and
 * tries; answers and errors become DnsAnswer values with Postfix's classes and texts.
 *
 * Decides: IDNA (U-labels to A-labels via domainToASCII) and query-name validity before a
 * query; error-code → class mapping (names.ts); record post-processing (records.ts).
 * Never: throws for DNS errors (they are values), caches answers (dns-cache.ts does, from the TTL
 * that lookupWithTtl reports: A and AAAA only, node:dns gives none for MX, SRV, TXT), follows
 * MX/SRV targets.
 * An aborted signal rejects the lookup with the signal's reason (that is not a DNS result).
 */
import { Resolver } from 'node:dns/promises';
import type { DnsAnswer, DnsPort, DnsType } from '../core/ports.ts';
import { errorAnswer, invalidNameAnswer, toQueryName } from './names.ts';
import { addressAnswer, mxAnswer, srvAnswer, txtAnswer } from './records.ts';

export interface DnsResolverOptions {
  /** "ip", "ip:port" or "[ipv6]:port"; empty = the system's resolvers. */
  servers: string[];
  /** Per-try timeout in milliseconds. */
  timeoutMs: number;
  /** Tries per server. */
  tries: number;
  /** Report the end of an A/AAAA name's CNAME chain as `canonical` (smtpCnameOverridesServername). */
  canonicalNames?: boolean;
}

const MAX_CNAME_HOPS = 10;

/** Follow CNAMEs from qname (at most 10 hops); the last name, or undefined when there is none. */
async function canonicalOf(resolver: Resolver, qname: string): Promise<string | undefined> {
  let name = qname;
  for (let i = 0; i < MAX_CNAME_HOPS; i++) {
    const next = await resolver.resolveCname(name).then(
      (r) => r[0],
      () => undefined,
    );
    if (next === undefined) break;
    name = next.replace(/\.$/, '');
  }
  return name === qname ? undefined : name.toLowerCase();
}

/** Build the node:dns Resolver. Throws an Error naming a malformed server entry. */
function makeResolver(opts: DnsResolverOptions): Resolver {
  const resolver = new Resolver({
    timeout: Math.max(1, Math.round(opts.timeoutMs)),
    tries: Math.max(1, Math.floor(opts.tries)),
  });
  const servers = opts.servers.map((s) => s.trim()).filter((s) => s !== '');
  if (servers.length > 0) {
    try {
      resolver.setServers(servers);
    } catch (err) {
      throw new Error(`dnsServers: invalid server list ${JSON.stringify(opts.servers)}: ${String(err)}`);
    }
  }
  return resolver;
}

/** An answer and, when node:dns reports one, its TTL in seconds (the lowest record TTL). */
export interface TtlAnswer {
  answer: DnsAnswer;
  ttlSec?: number;
}

/** A DnsPort that can also report answer TTLs (for the cache). */
export interface TtlDnsPort extends DnsPort {
  lookupWithTtl(name: string, type: DnsType): Promise<TtlAnswer>;
}

function withTtl(
  records: Array<{ address: string; ttl: number }>,
  qname: string,
  type: 'A' | 'AAAA',
): TtlAnswer {
  const answer = addressAnswer(
    records.map((r) => r.address),
    qname,
    type,
  );
  return records.length > 0 ? { answer, ttlSec: Math.min(...records.map((r) => r.ttl)) } : { answer };
}

async function query(resolver: Resolver, qname: string, type: DnsType): Promise<TtlAnswer> {
  switch (type) {
    case 'MX':
      return { answer: mxAnswer(await resolver.resolveMx(qname), qname) };
    case 'SRV':
      return { answer: srvAnswer(await resolver.resolveSrv(qname), qname) };
    case 'A':
      return withTtl(await resolver.resolve4(qname, { ttl: true }), qname, 'A');
    case 'AAAA':
      return withTtl(await resolver.resolve6(qname, { ttl: true }), qname, 'AAAA');
    case 'TXT':
      return { answer: txtAnswer(await resolver.resolveTxt(qname), qname) };
  }
}

function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    return err.code;
  }
  return undefined;
}

/** Resolve `work`, or reject with the signal's reason as soon as it aborts. */
export function raceAbort<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

export function createDnsResolver(opts: DnsResolverOptions): TtlDnsPort {
  const resolver = makeResolver(opts);
  const lookupWithTtl = (name: string, type: DnsType): Promise<TtlAnswer> => {
    const qname = toQueryName(name);
    if (qname === undefined) return Promise.resolve({ answer: invalidNameAnswer(name, type) });
    return query(resolver, qname, type)
      .then(async (t) => {
        const a = t.answer;
        // smtpCnameOverridesServername: A/AAAA answers carry the canonical name (tls issue 14).
        if (!opts.canonicalNames || a.class !== 'OK' || (type !== 'A' && type !== 'AAAA')) return t;
        const canonical = await canonicalOf(resolver, qname);
        return canonical === undefined ? t : { ...t, answer: { ...a, canonical } };
      })
      .catch((err: unknown) => ({
        answer: errorAnswer(errorCode(err), qname, type),
      }));
  };
  return {
    lookupWithTtl,
    lookup(name: string, type: DnsType, signal?: AbortSignal): Promise<DnsAnswer> {
      return raceAbort(
        lookupWithTtl(name, type).then((a) => a.answer),
        signal,
      );
    },
  };
}
