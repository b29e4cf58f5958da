/**
 * One delivery attempt (Postfix smtp_connect.c, whole): walk the sites (next-hop list + fallback
 * relays), resolve each, try cached sessions, then the addresses in order, until every recipient
 * is sent, deferred or bounced.
 *
 * Decides: FIRST/FINAL_NEXTHOP and FINAL_SERVER (§4.1: set after connect and again after the
 * handshake; always for LMTP unix:), smtpMxAddressLimit (every address attempt, cached ones too)
 * and smtpMxSessionLimit (completed handshakes and reused sessions), both per list element; the
 * per-address TLS policy, wrappermode and REQUIRETLS skips; the §7.4 plaintext retry of the same
 * address without counting; the ledger sweep after each session; the left-over rules (4.3.0
 * excuse, 4.3.5 for fallback relay / relayhost problems, best_mx_transport hand-off); and the
 * invariant that every recipient ends exactly once.
 * Never: parses replies or speaks SMTP (the engine does), classifies failures (trouble.ts), reads
 * the clock or randomness except through ports. A malformed next-hop defers (4.3.5), never throws.
 */

import { markAllUnmarked } from './attempt-record.ts';
import type { AttemptDeps, AttemptRun } from './attempt-state.ts';
import { runElement } from './attempt-walk.ts';
import type { NexthopTarget } from './nexthop.ts';
import { parseNexthop } from './nexthop.ts';
import type { ResolvedOptions } from './options.ts';
import { createRecipientLedger } from './recipients.ts';
import { headerHasNonAscii, planSites, smtputf8Required } from './route-plan.ts';
import { hasTlsRequiredNo, tlsRequiredNoApplies } from './tls-required.ts';
import { isHardFailureStatus, isLoopStatus } from './trouble.ts';
import type { AttemptRequest, AttemptResult, DeliveryFailure, Recipient } from './types.ts';

const NO_SERVER: DeliveryFailure = {
  handler: 'sess',
  status: '4.3.0',
  text: 'server unavailable or unable to receive mail',
  throttle: true,
};

/** A blank line in this chunk (a split across chunks only means reading on). */
function headerSectionEnds(chunk: Uint8Array): boolean {
  for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, i + 1)) {
    const next = chunk[i + 1];
    if (next === 0x0a || (next === 0x0d && chunk[i + 2] === 0x0a)) return true;
  }
  return false;
}

async function messageHead(message: AttemptRequest['message']): Promise<Uint8Array> {
  if (typeof message !== 'function') return message;
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of message()) {
    chunks.push(chunk);
    total += chunk.length;
    if (total >= 256 * 1024 || headerSectionEnds(chunk)) break;
  }
  const head = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    head.set(c, offset);
    offset += c.length;
  }
  return head;
}

async function createRun(req: AttemptRequest, deps: AttemptDeps, opts: ResolvedOptions): Promise<AttemptRun> {
  const startedAt = deps.clock.now();
  const head = await messageHead(req.message);
  const headerNonAscii = req.smtputf8 === true ? headerHasNonAscii(head) : false;
  const tlsRequiredNo = tlsRequiredNoApplies({
    enabled: opts.tlsRequiredEnable,
    requireTls: req.requireTls,
    headerPresent: hasTlsRequiredNo(head),
  });
  return {
    req,
    deps,
    opts,
    ledger: createRecipientLedger(req.recipients),
    log: deps.logger.child({ queueId: req.queueId }),
    clock: deps.clock,
    softBounce: opts.softBounce,
    startedAt,
    activeTime: req.activeTime ?? startedAt,
    completeSession: false,
    servers: [],
    keptLogged: new Set(),
    smtputf8Required: smtputf8Required(req, headerNonAscii, opts),
    tlsRequiredNo,
    cachePolicy: { load: false, store: false },
    usedViaCache: new Set(),
  };
}

/** A malformed list element: a configuration problem, every recipient left is deferred 4.3.5. */
function configProblem(run: AttemptRun, site: string, error: string): void {
  run.log.error({ event: 'nexthop-config-error', nexthop: site }, `${run.req.queueId}: ${error}`);
  const failure: DeliveryFailure = { handler: 'sess', status: '4.3.5', text: error, throttle: true };
  markAllUnmarked(run, failure, { finalServer: true, relay: 'none' });
  run.ledger.sweep();
}

function bestMxHandoff(transport: string): { transport: string; nexthop?: string } {
  const colon = transport.indexOf(':');
  if (colon < 0) return { transport };
  const nexthop = transport.slice(colon + 1);
  return nexthop === ''
    ? { transport: transport.slice(0, colon) }
    : { transport: transport.slice(0, colon), nexthop };
}

/** §4.2 left-over recipients. Returns the hand-off when best_mx_transport takes them. */
function leftovers(
  run: AttemptRun,
  plan: { sites: string[]; primaryCount: number },
  lastSite: number,
): AttemptResult['handoff'] {
  const left = run.ledger.unmarked();
  if (left.length === 0) return undefined;
  let why: DeliveryFailure = { ...(run.why ?? NO_SERVER), handler: 'sess', throttle: true };
  const smtp = run.req.protocol === 'smtp';
  let handoff: AttemptResult['handoff'];
  if (isHardFailureStatus(why.status)) {
    if (lastSite >= plan.primaryCount) {
      why = { ...why, status: '4.3.5' };
      run.log.warn({ event: 'config-problem' }, 'smtp_fallback_relay configuration problem');
    } else if (smtp && run.opts.relayhost !== '' && plan.sites[0] === run.opts.relayhost) {
      why = { ...why, status: '4.3.5' };
      run.log.warn({ event: 'config-problem' }, 'relayhost configuration problem');
    } else if (smtp && isLoopStatus(why.status) && run.opts.bestMxTransport !== '') {
      const recipients: Recipient[] = left.map((i) => run.ledger.recipient(i));
      handoff = { ...bestMxHandoff(run.opts.bestMxTransport), recipients };
      run.log.info(
        { event: 'handoff', transport: handoff.transport },
        `${run.req.queueId}: passing to ${run.opts.bestMxTransport}: ${why.text}`,
      );
      why = { ...why, status: `4${why.status.slice(1)}`, throttle: false };
    }
  }
  markAllUnmarked(run, why, { finalServer: true, relay: 'none' });
  run.ledger.sweep();
  return handoff;
}

export async function runAttempt(
  req: AttemptRequest,
  deps: AttemptDeps,
  opts: ResolvedOptions,
): Promise<AttemptResult> {
  const run = await createRun(req, deps, opts);
  const plan = planSites(req, opts);
  for (const w of plan.warnings) run.log.warn({ event: 'config-warning' }, w);
  let lastSite = -1;
  for (const [i, site] of plan.sites.entries()) {
    if (run.ledger.remaining() === 0) break;
    lastSite = i;
    const parsed = parseNexthop(site, req.protocol, opts);
    if (!parsed.ok) {
      configProblem(run, site, parsed.error);
      break;
    }
    const target: NexthopTarget = parsed.target;
    const finalNexthop = await runElement(run, {
      site,
      target,
      first: i === 0,
      finalNexthop: i === plan.sites.length - 1,
    });
    if (finalNexthop) break;
  }
  if (plan.sites.length === 0) configProblem(run, req.nexthop, `null destination: "${req.nexthop}"`);
  const handoff = leftovers(run, plan, lastSite);
  const result: AttemptResult = { recipients: run.ledger.finish(), servers: run.servers };
  if (run.hopStatus !== undefined && handoff === undefined) result.hopStatus = run.hopStatus;
  if (handoff !== undefined) result.handoff = handoff;
  if (run.notices !== undefined) result.notices = run.notices;
  return result;
}
