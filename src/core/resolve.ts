/**
 * Next-hop element → ordered server endpoints, as Postfix's smtp_addr.c does it: the MX path,
 * the host path (literals, [host], LMTP, no-MX domains), the SRV path, self detection, ordering
 * and IPv4/IPv6 balancing, and the DSN of every resolution failure.
 *
 * Decides: the lookup mode (§2.5), which answers count, the "why" status (soft dominates, the
 * text is the last lookup's), the x.4.6 / 4.4.4 loop verdicts, the endpoint order.
 * Never: performs I/O except through DnsPort; cuts the list to smtpMxAddressLimit (the attempt
 * counts); uses getaddrinfo (with DNS disabled, host lookups still go through DnsPort).
 * Endpoints carry the MX target (query) name, or with smtpCnameOverridesServername the name at
 * the end of its CNAME chain (when the DNS adapter reports it).
 */
import { balanceInetProtocols } from './addr-balance.ts';
import { onAllowlist, refusedAddress } from './address-policy.ts';
import { isSoftStatus, softenStatus } from './dsn.ts';
import { ipFamily } from './ip-address.ts';
import { shuffle, sortByPreference } from './mx-order.ts';
import type { NexthopTarget } from './nexthop.ts';
import type { ResolvedOptions } from './options.ts';
import type { DnsAnswer, DnsClass, DnsPort, DnsType, Random } from './ports.ts';
import { findSelf, ownAddresses, truncateAtPreference } from './self-detect.ts';
import { orderSrvRecords } from './srv-order.ts';
import type { DeliveryFailure, Endpoint } from './types.ts';

export interface ResolvedServers {
  /** Ordered and balanced; NOT cut to smtpMxAddressLimit (the attempt counts). */
  endpoints: Endpoint[];
  /** handler 'sess'; set when endpoints is empty. */
  failure?: DeliveryFailure;
  /** A loop check found this host among the exchangers (the next-hop becomes final). */
  iAmMx: boolean;
  warnings: string[];
}

export interface ResolveContext {
  dns: DnsPort;
  random: Random;
  opts: ResolvedOptions;
  signal?: AbortSignal;
  /** Set when the next-hop is a recipient's own domain: special addresses are refused (address-policy.ts). */
  addressPolicy?: { allowlist: readonly string[] };
}

/** Best → worst (Postfix dns.h precedence). */
export const DNS_CLASS_RANK: readonly DnsClass[] = [
  'OK',
  'POLICY',
  'RETRY',
  'INVAL',
  'FAIL',
  'NULLMX',
  'NULLSRV',
  'NOTFOUND',
];

/** Postfix DSN_BUF: the current status ('' = none yet) and reason text. */
interface Why {
  status: string;
  text: string;
}

interface Run {
  ctx: ResolveContext;
  target: NexthopTarget;
  why: Why;
  warnings: string[];
  iAmMx: boolean;
}

type PathResult = { endpoints: Endpoint[] } | { endpoints: []; failure: DeliveryFailure };

function failureOf(status: string, text: string): DeliveryFailure {
  return { handler: 'sess', status, text, throttle: isSoftStatus(status) };
}

function fromWhy(why: Why): PathResult {
  const status = why.status === '' ? '4.3.0' : why.status;
  const text = why.text === '' ? 'server unavailable or unable to receive mail' : why.text;
  return { endpoints: [], failure: failureOf(status, text) };
}

function setWhy(why: Why, status: string, text: string): void {
  why.status = status;
  why.text = text;
}

function ownSet(opts: ResolvedOptions): Set<string> {
  return ownAddresses(opts.inetInterfaces, opts.proxyInterfaces);
}

async function lookup(run: Run, name: string, type: DnsType): Promise<DnsAnswer> {
  const answer = await run.ctx.dns.lookup(name, type, run.ctx.signal);
  if (answer.warnings) run.warnings.push(...answer.warnings);
  return answer;
}

function enabledFamilies(opts: ResolvedOptions): Array<4 | 6> {
  if (opts.inetProtocols === 'ipv4') return [4];
  if (opts.inetProtocols === 'ipv6') return [6];
  return [4, 6];
}

/** A then AAAA; all OK records kept, else the best-ranked failure (ties: the later one). */
function combineAddressAnswers(answers: DnsAnswer[]): { addrs: Array<[string, 4 | 6]>; failure?: DnsAnswer } {
  const addrs: Array<[string, 4 | 6]> = [];
  let best: DnsAnswer | undefined;
  for (const a of answers) {
    if (a.class === 'OK' && (a.type === 'A' || a.type === 'AAAA')) {
      for (const addr of a.addresses) addrs.push([addr, a.type === 'A' ? 4 : 6]);
    }
    if (!best || DNS_CLASS_RANK.indexOf(a.class) <= DNS_CLASS_RANK.indexOf(best.class)) best = a;
  }
  return best && best.class !== 'OK' ? { addrs, failure: best } : { addrs };
}

/** Postfix smtp_addr_one: the addresses of one host, updating `why` on failure. */
async function addrOne(run: Run, host: string, preference: number, port: number): Promise<Endpoint[]> {
  const { opts } = run.ctx;
  const families = enabledFamilies(opts);
  const soft = isSoftStatus(run.why.status);
  const make = (name: string, address: string, family: 4 | 6): Endpoint => ({
    kind: 'inet',
    host: name,
    address,
    port,
    family,
    preference,
  });
  const numeric = ipFamily(host);
  if (numeric !== undefined) {
    if (families.includes(numeric)) return policyFilter(run, host, [make(host, host, numeric)]);
    setWhy(run.why, soft ? '4.4.4' : '5.4.4', `${host}: host not found`);
    return [];
  }
  const answers: DnsAnswer[] = [];
  for (const fam of families) answers.push(await lookup(run, host, fam === 4 ? 'A' : 'AAAA'));
  const { addrs, failure } = combineAddressAnswers(answers);
  const ok = answers.find((a) => a.class === 'OK');
  const name = (opts.smtpCnameOverridesServername ? ok?.canonical : undefined) ?? ok?.qname ?? host;
  const usable = addrs.filter(([, fam]) => families.includes(fam));
  if (!failure && usable.length > 0) {
    return policyFilter(
      run,
      host,
      usable.map(([addr, fam]) => make(name, addr, fam)),
    );
  }
  if (!failure) {
    setWhy(run.why, soft ? '4.4.4' : '5.4.4', `${host}: host not found`);
    return [];
  }
  const statusByClass: Partial<Record<DnsClass, string>> = {
    FAIL: soft ? '4.4.3' : '5.4.3',
    INVAL: soft ? '4.4.4' : '5.4.4',
    POLICY: '4.7.0',
    NOTFOUND: soft ? '4.4.4' : '5.4.4',
  };
  setWhy(run.why, statusByClass[failure.class] ?? '4.4.3', failure.class === 'OK' ? '' : failure.text);
  return [];
}

/**
 * The address policy (address-policy.ts): drop refused addresses with a warning. A host left with
 * none is treated like a host without addresses (as Postfix treats records removed by
 * smtp_dns_reply_filter): x.4.4, soft when an earlier lookup failed softly.
 */
function policyFilter(run: Run, host: string, list: Endpoint[]): Endpoint[] {
  const policy = run.ctx.addressPolicy;
  if (policy === undefined) return list;
  const kept: Endpoint[] = [];
  let reason = '';
  for (const ep of list) {
    const refused = refusedAddress(ep.address, policy.allowlist);
    if (refused === undefined) {
      kept.push(ep);
      continue;
    }
    reason = `${host}[${ep.address}] is a ${refused}, not on smtpAddressAllowlist`;
    run.warnings.push(`address policy: not connecting to ${reason}`);
  }
  if (kept.length === 0 && reason !== '') {
    setWhy(run.why, isSoftStatus(run.why.status) ? '4.4.4' : '5.4.4', `address policy: ${reason}`);
  }
  return kept;
}

/** A numeric MX host name (Postfix ignores such records); refused unless on the allowlist. */
function numericMxRefused(run: Run, domain: string, exchange: string): boolean {
  const policy = run.ctx.addressPolicy;
  if (policy === undefined || ipFamily(exchange) === undefined) return false;
  if (onAllowlist(exchange, policy.allowlist)) return false;
  const reason = `numeric MX host name ${exchange} for ${domain}, not on smtpAddressAllowlist`;
  run.warnings.push(`address policy: not connecting to ${reason}`);
  setWhy(run.why, isSoftStatus(run.why.status) ? '4.4.4' : '5.4.4', `address policy: ${reason}`);
  return true;
}

/**
 * Order and balance a list of two or more: MX path shuffles then sorts (with the family
 * tie-break); host path shuffles and sorts only when both families are on; SRV keeps its order.
 */
function orderAndBalance(run: Run, list: Endpoint[], mode: 'mx' | 'host' | 'srv'): Endpoint[] {
  const { opts, random } = run.ctx;
  if (list.length < 2) return list;
  let ordered = list;
  if (mode !== 'srv') {
    const sortFamilies = mode === 'mx' || opts.inetProtocols === 'all';
    const mixed = opts.smtpRandomizeAddresses ? shuffle(list, random) : list;
    ordered = sortFamilies ? sortByPreference(mixed, opts.smtpAddressPreference) : mixed;
  }
  const balance = opts.smtpMxAddressLimit > 0 && opts.smtpBalanceInetProtocols;
  return balance ? balanceInetProtocols(ordered, opts.smtpMxAddressLimit) : ordered;
}

/** Postfix smtp_host_addr (§3.4). */
async function hostPath(run: Run, host: string): Promise<PathResult> {
  setWhy(run.why, '', '');
  const list = await addrOne(run, host, 0, run.target.port);
  if (list.length === 0) return fromWhy(run.why);
  if (run.target.loopDetect && findSelf(list, ownSet(run.ctx.opts)) >= 0) {
    return { endpoints: [], failure: failureOf('5.4.6', `mail for ${host} loops back to myself`) };
  }
  return { endpoints: orderAndBalance(run, list, 'host') };
}

/** Self detection on a preference-ordered list (§3.3 step 4); returns the cut list or the loop failure. */
function cutAtSelf(run: Run, list: Endpoint[], bestPref: number, label: string): PathResult {
  if (!run.target.loopDetect) return { endpoints: list };
  const self = findSelf(list, ownSet(run.ctx.opts));
  const selfEntry = list[self];
  if (selfEntry === undefined) return { endpoints: list };
  run.iAmMx = true;
  const kept = truncateAtPreference(list, selfEntry.preference);
  if (kept.length > 0) return { endpoints: kept };
  const bestFound = list[0]?.preference ?? bestPref;
  return bestPref !== bestFound
    ? { endpoints: [], failure: failureOf('4.4.4', `unable to find primary relay for ${label}`) }
    : { endpoints: [], failure: failureOf('5.4.6', `mail for ${label} loops back to myself`) };
}

/** MX/SRV lookup failure statuses (§3.1 table). */
function mxFailureStatus(cls: DnsClass): string {
  if (cls === 'INVAL') return '5.4.4';
  if (cls === 'FAIL') return '5.4.3';
  if (cls === 'NULLMX' || cls === 'NULLSRV') return '5.1.0';
  if (cls === 'POLICY') return '4.7.0';
  if (cls === 'NOTFOUND') return '5.4.4';
  return '4.4.3';
}

/** Postfix smtp_domain_addr (§3.3). */
async function mxPath(run: Run, domain: string): Promise<PathResult> {
  setWhy(run.why, '', '');
  const answer = await lookup(run, domain, 'MX');
  if (answer.class === 'NOTFOUND') return hostPath(run, domain);
  if (answer.class !== 'OK' || answer.type !== 'MX') {
    const text = answer.class === 'OK' ? '' : answer.text;
    setWhy(run.why, mxFailureStatus(answer.class), text);
    const ignorable = answer.class !== 'NULLMX' && answer.class !== 'POLICY';
    if (ignorable && run.ctx.opts.ignoreMxLookupError) return hostPath(run, domain);
    return fromWhy(run.why);
  }
  const mx = [...answer.records].sort((a, b) => a.preference - b.preference);
  const bestPref = mx[0]?.preference ?? Number.POSITIVE_INFINITY;
  const list: Endpoint[] = [];
  for (const rr of mx) {
    if (numericMxRefused(run, domain, rr.exchange)) continue;
    list.push(...(await addrOne(run, rr.exchange, rr.preference, run.target.port)));
  }
  if (list.length === 0) {
    if (run.ctx.opts.smtpDeferIfNoMxAddressFound) run.why.status = softenStatus(run.why.status || '4.4.3');
    run.warnings.push(`no MX host for ${domain} has a valid address record`);
    return fromWhy(run.why);
  }
  const cut = cutAtSelf(run, list, bestPref, domain);
  if ('failure' in cut) return cut;
  return { endpoints: orderAndBalance(run, cut.endpoints, 'mx') };
}

/** The SRV lookup and its addresses; `allowFallback` says whether an empty result may fall back. */
async function srvLookup(run: Run, qname: string): Promise<{ result: PathResult; allowFallback: boolean }> {
  const { opts, random } = run.ctx;
  setWhy(run.why, '', '');
  const answer = await lookup(run, qname, 'SRV');
  if (answer.class !== 'OK' || answer.type !== 'SRV') {
    setWhy(run.why, mxFailureStatus(answer.class), answer.class === 'OK' ? '' : answer.text);
    const lookupError = answer.class === 'RETRY' || answer.class === 'INVAL' || answer.class === 'FAIL';
    const allowFallback =
      (opts.allowSrvLookupFallback && (lookupError || answer.class === 'NOTFOUND')) ||
      (opts.ignoreSrvLookupError && lookupError);
    return { result: fromWhy(run.why), allowFallback };
  }
  const srv = orderSrvRecords(answer.records, random);
  const bestPref = srv[0]?.priority ?? Number.POSITIVE_INFINITY;
  const list: Endpoint[] = [];
  for (const rr of srv) list.push(...(await addrOne(run, rr.target, rr.priority, rr.port)));
  if (list.length === 0) {
    run.warnings.push(`no SRV host for ${qname} has a valid address record`);
    return { result: fromWhy(run.why), allowFallback: opts.allowSrvLookupFallback };
  }
  const cut = cutAtSelf(run, list, bestPref, qname);
  if ('failure' in cut) return { result: cut, allowFallback: opts.allowSrvLookupFallback };
  return { result: { endpoints: orderAndBalance(run, cut.endpoints, 'srv') }, allowFallback: false };
}

/** Postfix smtp_service_addr (§3.6), with the fallback to the MX or host path. */
async function srvPath(run: Run, domain: string, service: string): Promise<PathResult> {
  const qname = `_${service}._tcp.${domain}`;
  const iAmMxBefore = run.iAmMx;
  const { result, allowFallback } = await srvLookup(run, qname);
  if (result.endpoints.length > 0 || !allowFallback) return result;
  run.iAmMx = iAmMxBefore;
  run.warnings.push(`skipping SRV lookup for ${qname}: ${run.why.text}`);
  return run.target.lookup === 'mx' ? mxPath(run, domain) : hostPath(run, domain);
}

function unixEndpoint(target: NexthopTarget, opts: ResolvedOptions): Endpoint {
  return { kind: 'unix', host: opts.myhostname, address: target.host, port: 0, preference: 0 };
}

/** Resolve one next-hop element to ordered endpoints (§2.5 lookup mode, §3). */
export async function resolveServers(target: NexthopTarget, ctx: ResolveContext): Promise<ResolvedServers> {
  if (target.kind === 'unix')
    return { endpoints: [unixEndpoint(target, ctx.opts)], iAmMx: false, warnings: [] };
  const run: Run = { ctx, target, why: { status: '', text: '' }, warnings: [], iAmMx: false };
  const nonDns =
    ctx.opts.smtpDnsSupportLevel === 'disabled' || target.bracketed || target.lookup === 'literal';
  let result: PathResult;
  if (!nonDns && target.srvService !== undefined) result = await srvPath(run, target.host, target.srvService);
  else if (!nonDns && target.lookup === 'mx') result = await mxPath(run, target.host);
  else result = await hostPath(run, target.host);
  const out: ResolvedServers = { endpoints: result.endpoints, iAmMx: run.iAmMx, warnings: run.warnings };
  if ('failure' in result) out.failure = result.failure;
  return out;
}
