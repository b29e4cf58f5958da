/**
 * One list element of an attempt (the body of Postfix's smtp_connect_inet/_local loop): resolve,
 * apply what the pool remembers (attempt-memory.ts: dead endpoints out, the bound one first,
 * broken-TLS plaintext, TLS tickets), try cached sessions (§6.4), then walk the addresses with the
 * limits, connecting, handshaking and running one transaction per session.
 *
 * Decides: FINAL_NEXTHOP changes from resolution (i_am_mx, x.4.6), FINAL_SERVER per session, the
 * address/session counters and the plaintext retry of the same address (§7.4).
 * Never: classifies failures (trouble.ts via attempt-record.ts) or builds cache labels itself.
 */
import { isRecipientDestination } from './address-policy.ts';
import { loadElementMemory } from './attempt-memory.ts';
import { markAllUnmarked, trace } from './attempt-record.ts';
import { runSession } from './attempt-session.ts';
import type { AddressPrep, AttemptRun, Element, ElementInput } from './attempt-state.ts';
import {
  domainOf,
  lookupDane,
  lookupSts,
  reportDaneRefusal,
  reportTlsSession,
  tlsPolicyFor,
} from './attempt-tls.ts';
import { ticketKey } from './endpoint-memory.ts';
import { mxMatchesPolicy } from './mta-sts.ts';
import type { SmtpSession } from './ports.ts';
import { requireTlsPolicyFor } from './requiretls-policy.ts';
import { resolveServers } from './resolve.ts';
import {
  cachePolicyFor,
  requireTlsInForce,
  requireTlsLevelFailure,
  requireTlsNeedsTls,
  saslFor,
  stageTimeouts,
} from './route-plan.ts';
import { noteSession } from './session-notice.ts';
import type { LabelContext } from './session-reuse.ts';
import { destLabelFor, endpointLabelFor, labelContext, takeProbed } from './session-reuse.ts';
import { isLoopStatus } from './trouble.ts';
import type { Endpoint } from './types.ts';
import { namaddrport } from './types.ts';

const epKey = (ep: Pick<Endpoint, 'address' | 'port'>): string => `${ep.address} ${ep.port}`;

/** §4.2 per-address checks: TLS policy, wrappermode, REQUIRETLS; undefined = skip the address. */
function prepareAddress(run: AttemptRun, el: Element, ep: Endpoint, plain: boolean): AddressPrep | undefined {
  const policy = tlsPolicyFor(run, el, ep);
  if (!policy.ok) {
    if (policy.warning !== undefined) {
      // wrappermode with a level below encrypt: warn and skip; `why` is not updated (§7.5).
      run.log.warn({ event: 'tls-policy', server: ep.host }, policy.warning);
      trace(run, ep, 'skipped-wrappermode');
      return undefined;
    }
    run.why = policy.failure;
    run.log.warn({ event: 'tls-policy', server: ep.host }, `${run.req.queueId}: ${policy.failure.text}`);
    reportDaneRefusal(run, el, ep, policy.failure);
    trace(run, ep, 'skipped-tls-policy');
    return undefined;
  }
  if (el.sts?.mode === 'testing' && !mxMatchesPolicy(ep.host, el.sts)) {
    const text = `MTA-STS policy (testing) for ${domainOf(run, el.target)} does not list MX host ${ep.host}; delivering anyway`;
    run.log.warn({ event: 'mta-sts', server: ep.host }, `${run.req.queueId}: ${text}`);
  }
  let tls = policy.settings;
  if (ep.kind === 'unix' && tls.level === 'may') tls = { ...tls, level: 'none' };
  const rt = requireTlsLevelFailure(el.requireTls, tls.level, ep.host);
  if (rt !== undefined) {
    run.why = rt;
    run.log.info({ event: 'requiretls', server: ep.host }, `${run.req.queueId}: ${rt.text}`);
    trace(run, ep, 'skipped-requiretls');
    return undefined;
  }
  const policyLevel = tls.level;
  const sasl = saslFor(el.site, ep.host, run.opts);
  const remembered =
    !plain &&
    el.memory?.plaintext(ep, {
      level: tls.level,
      sasl: sasl !== undefined,
      requireTlsNeedsTls: requireTlsNeedsTls(el.requireTls),
    }) === true;
  if (remembered) trace(run, ep, 'tls-broken-remembered');
  if (plain || remembered) tls = { ...tls, level: 'none' };
  if (el.memory !== undefined) tls = el.memory.withTicket(ep, tls, sasl);
  const aged = run.activeTime - run.req.arrivalTime >= run.opts.minimalBackoffTime;
  const plaintextRetryAllowed =
    !plain && tls.level === 'may' && sasl === undefined && !requireTlsNeedsTls(el.requireTls) && aged;
  return {
    tls,
    policyLevel,
    ...(sasl !== undefined ? { sasl } : {}),
    plaintextRetryAllowed,
    tlsReuse: policy.connectionReuse,
  };
}

function limitReached(run: AttemptRun, el: Element): boolean {
  const { smtpMxAddressLimit: al, smtpMxSessionLimit: sl } = run.opts;
  return (al > 0 && el.addrCount >= al) || (sl > 0 && el.sessCount >= sl);
}

/** Take a cached session under `label` and run it; false when none was taken. */
async function takeAndRun(run: AttemptRun, el: Element, label: string, prep: AddressPrep): Promise<boolean> {
  const { deps, opts } = run;
  if (el.list.length === 0 || limitReached(run, el) || run.ledger.remaining() === 0) return false;
  const session = await takeProbed(deps.cache, label, opts.smtpRsetTimeout, run.req.signal);
  if (session === undefined) return false;
  const ep = session.state.endpoint;
  el.list = el.list.filter((e) => epKey(e) !== epKey(ep));
  run.usedViaCache.add(epKey(ep));
  el.addrCount++;
  el.sessCount++;
  if (limitReached(run, el)) el.list = [];
  const finalServer = el.finalNexthop && el.list.length === 0;
  await runSession(
    run,
    el,
    session,
    { ...prep, plaintextRetryAllowed: false },
    { finalServer, fromCache: true },
  );
  return true;
}

/** §6.4 step 1: the dest label, with the TLS settings of the element's best candidate. */
async function reuseByDestLabel(run: AttemptRun, el: Element): Promise<void> {
  const best = el.list[0];
  if (!el.first || run.requestNexthop === undefined || best === undefined) return;
  const prep = quietPrep(run, el, best);
  if (prep !== undefined)
    await takeAndRun(run, el, destLabelFor(labelCtx(run, el), el.site, prep.tls.level), prep);
}

/** §6.4 step 2: the endpoint label of each best-preference address. */
async function reuseByEndpointLabel(run: AttemptRun, el: Element): Promise<void> {
  for (const ep of el.list.filter((e) => e.preference === el.bestPref)) {
    const prep = quietPrep(run, el, ep);
    if (prep === undefined) continue;
    const label = endpointLabelFor(labelCtx(run, el), {
      endpoint: ep,
      tlsLevel: prep.tls.level,
      site: el.site,
      sasl: prep.sasl,
    });
    await takeAndRun(run, el, label, prep);
  }
}

/**
 * The dest label can be looked up before the cluster tier's read when the memory cannot change
 * that lookup: with one inet candidate, its order keeps the list as it is (a lone endpoint is never
 * skipped as dead, a binding can only put it first), and a session taken from the cache uses no
 * ticket, plaintext or failure memory. Postfix, too, asks its scache by dest label first.
 */
function destLabelBeforeMemory(run: AttemptRun, el: Element): boolean {
  return (
    run.cachePolicy.load &&
    el.first &&
    run.requestNexthop !== undefined &&
    el.list.length === 1 &&
    el.list[0]?.kind === 'inet'
  );
}

/** The TLS settings for a cache lookup, without logging or tracing a skip. */
function quietPrep(run: AttemptRun, el: Element, ep: Endpoint): AddressPrep | undefined {
  const policy = tlsPolicyFor(run, el, ep);
  if (!policy.ok) return undefined;
  const level = ep.kind === 'unix' && policy.settings.level === 'may' ? 'none' : policy.settings.level;
  if (requireTlsLevelFailure(el.requireTls, level, ep.host) !== undefined) return undefined;
  const sasl = saslFor(el.site, ep.host, run.opts);
  return {
    tls: { ...policy.settings, level },
    policyLevel: level,
    ...(sasl !== undefined ? { sasl } : {}),
    plaintextRetryAllowed: false,
    tlsReuse: policy.connectionReuse,
  };
}

function labelCtx(run: AttemptRun, el: Pick<Element, 'requireTls'>): LabelContext {
  return labelContext(run, el.requireTls);
}

/** Connect (or take a cached session for a non-best address) and handshake. */
async function openSession(
  run: AttemptRun,
  el: Element,
  ep: Endpoint,
  prep: AddressPrep,
  finalIfLast: () => boolean,
): Promise<{ session?: SmtpSession; fromCache: boolean; plainRetry: boolean }> {
  const { deps, opts, req } = run;
  if (run.cachePolicy.load && ep.preference !== el.bestPref) {
    const label = endpointLabelFor(labelCtx(run, el), {
      endpoint: ep,
      tlsLevel: prep.tls.level,
      site: el.site,
      sasl: prep.sasl,
    });
    const cached = await takeProbed(deps.cache, label, opts.smtpRsetTimeout, req.signal);
    if (cached !== undefined) {
      run.usedViaCache.add(epKey(ep));
      return { session: cached, fromCache: true, plainRetry: false };
    }
  }
  const conn = await deps.connector.connect({
    endpoint: ep,
    protocol: req.protocol,
    connectTimeoutMs: opts.smtpConnectTimeout,
    ...(opts.smtpBindAddress !== '' ? { bindAddress: opts.smtpBindAddress } : {}),
    ...(opts.smtpBindAddress6 !== '' ? { bindAddress6: opts.smtpBindAddress6 } : {}),
    ...(opts.smtpBindAddressEnforce ? { bindAddressEnforce: true } : {}),
    ...(req.signal !== undefined ? { signal: req.signal } : {}),
  });
  if (!conn.ok) {
    if (req.signal?.aborted !== true) el.memory?.failed(ep, conn.failure, prep.policyLevel);
    run.why = conn.failure;
    run.log.info({ event: 'connect-failed', server: ep.host }, conn.failure.text);
    trace(run, ep, 'connect-failed');
    return { fromCache: false, plainRetry: false };
  }
  const finalServer = ep.kind === 'unix' || finalIfLast();
  const hs = await conn.connection.handshake({
    protocol: req.protocol,
    heloName: opts.smtpHeloName,
    myHostname: opts.myhostname,
    loopDetect: el.target.loopDetect,
    bestMx: ep.preference === el.bestPref,
    requestNexthop: req.nexthop,
    tls: prep.tls,
    requireTls: el.requireTls,
    smtputf8Required: run.smtputf8Required,
    ...(prep.sasl !== undefined ? { sasl: prep.sasl } : {}),
    skip5xxGreeting: opts.smtpSkip5xxGreeting,
    alwaysSendEhlo: opts.smtpAlwaysSendEhlo,
    neverSendEhlo: opts.smtpNeverSendEhlo,
    discardEhloKeywords: opts.smtpDiscardEhloKeywords,
    timeouts: stageTimeouts(opts),
    plaintextRetryAllowed: prep.plaintextRetryAllowed,
    ...(req.signal !== undefined ? { signal: req.signal } : {}),
  });
  reportTlsSession(run, el, ep, prep.tls, hs.ok ? { ok: true, tlsActive: hs.session.state.tls.active } : hs);
  if (hs.ok) {
    el.memory?.succeeded(ep);
    return { session: hs.session, fromCache: false, plainRetry: false };
  }
  if (req.signal?.aborted !== true) el.memory?.failed(ep, hs.failure, prep.policyLevel);
  const plainRetry = hs.failure.retryAsPlaintext === true && prep.plaintextRetryAllowed;
  markAllUnmarked(run, hs.failure, { finalServer: finalServer && !plainRetry, relay: namaddrport(ep) });
  run.ledger.sweep();
  noteSession(run, ep, conn.connection.takeHistory?.());
  conn.connection.close();
  // §4.6 step 4 runs for this session too: only a throttled one keeps the dest label available.
  if (!hs.failure.throttle) delete run.requestNexthop;
  trace(run, ep, plainRetry ? 'tls-failed-retry-plaintext' : 'handshake-failed');
  return { fromCache: false, plainRetry };
}

/** The address loop of one element (§4.2). */
async function walkAddresses(run: AttemptRun, el: Element): Promise<void> {
  const { smtpMxAddressLimit: addrLimit, smtpMxSessionLimit: sessLimit } = run.opts;
  let idx = 0;
  let plain = false;
  // Bounded: idx only moves forward, except one plaintext retry per address.
  while (idx < el.list.length && run.ledger.remaining() > 0) {
    const ep = el.list[idx] as Endpoint;
    let next: number | undefined = idx + 1 < el.list.length ? idx + 1 : undefined;
    el.addrCount++;
    if (addrLimit > 0 && el.addrCount >= addrLimit) next = undefined;
    const prep = prepareAddress(run, el, ep, plain);
    plain = false;
    if (prep === undefined) {
      idx = next ?? el.list.length;
      continue;
    }
    const opened = await openSession(run, el, ep, prep, () => el.finalNexthop && next === undefined);
    if (opened.plainRetry) {
      el.addrCount--;
      plain = true;
      continue;
    }
    if (opened.session !== undefined) {
      el.sessCount++;
      if (sessLimit > 0 && el.sessCount >= sessLimit) next = undefined;
      const finalServer = ep.kind === 'unix' || (el.finalNexthop && next === undefined);
      const out = await runSession(run, el, opened.session, prep, {
        finalServer,
        fromCache: opened.fromCache,
      });
      if (out.plainRetry) {
        el.sessCount--;
        el.addrCount--;
        plain = true;
        continue;
      }
    }
    idx = next ?? el.list.length;
  }
}

/** Cluster tier: one batched read, then dead endpoints out and the bound endpoint first. */
async function applyMemory(run: AttemptRun, el: Element): Promise<void> {
  el.memory = await loadElementMemory(
    {
      store: run.deps.nexthopState,
      opts: run.opts,
      protocol: run.req.protocol,
      site: el.site,
      log: run.log,
    },
    el.list,
    (ep) => {
      const prep = quietPrep(run, el, ep);
      return prep === undefined ? undefined : ticketKey(ep, prep.tls, prep.sasl);
    },
  );
  const ordered = el.memory.order(el.list);
  for (const ep of ordered.skipped) trace(run, ep, 'skipped-dead');
  el.list = ordered.list;
}

/** One list element; returns FINAL_NEXTHOP (the site loop stops after it). */
export async function runElement(run: AttemptRun, input: ElementInput): Promise<boolean> {
  const { target } = input;
  const el: Element = {
    ...input,
    requireTls: requireTlsInForce(run.req, run.opts, () =>
      requireTlsPolicyFor(domainOf(run, target), run.opts),
    ),
    bestPref: 0,
    addrCount: 0,
    sessCount: 0,
    list: [],
  };
  if (target.kind === 'unix') {
    el.finalNexthop = true;
    el.list = [{ kind: 'unix', host: run.opts.myhostname, address: target.host, port: 0, preference: 0 }];
  } else {
    const resolved = await resolveServers(target, {
      dns: run.deps.dns,
      random: run.deps.random,
      opts: run.opts,
      ...(run.req.signal !== undefined ? { signal: run.req.signal } : {}),
      ...(isRecipientDestination(target, run.req.recipients, run.req.protocol)
        ? { addressPolicy: { allowlist: run.opts.smtpAddressAllowlist } }
        : {}),
    });
    for (const w of resolved.warnings) run.log.warn({ event: 'dns-warning', nexthop: input.site }, w);
    if (resolved.iAmMx) el.finalNexthop = true;
    if (resolved.endpoints.length === 0 && resolved.failure !== undefined) {
      run.why = resolved.failure;
      if (isLoopStatus(resolved.failure.status)) el.finalNexthop = true;
    }
    el.list = resolved.endpoints;
    if (el.list.length > 0) await lookupSts(run, el);
    if (el.list.length > 0) await lookupDane(run, el);
  }
  if (el.list.length > 0 && el.first) {
    run.cachePolicy = cachePolicyFor(target, run.req.cacheHint, run.opts);
    run.requestNexthop = input.site;
  }
  if (el.list.length > 0 && run.cachePolicy.load) {
    el.list = el.list.filter((ep) => !run.usedViaCache.has(epKey(ep)));
  }
  el.bestPref = Math.min(...el.list.map((ep) => ep.preference));
  const destFirst = destLabelBeforeMemory(run, el);
  if (destFirst) await reuseByDestLabel(run, el);
  // After a cached session took every recipient, the read would change nothing: it is skipped.
  if (el.list.length > 0 && target.kind === 'inet' && run.ledger.remaining() > 0) await applyMemory(run, el);
  if (el.list.length > 0 && run.cachePolicy.load) {
    if (!destFirst) await reuseByDestLabel(run, el);
    await reuseByEndpointLabel(run, el);
  }
  await walkAddresses(run, el);
  return el.finalNexthop;
}
