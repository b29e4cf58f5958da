/**
 * One mail transaction on an established (fresh or reused) session, and its clean-up (Postfix
 * smtp_xfer + smtp_cleanup_session, §4.6).
 *
 * Decides: how each engine per-recipient outcome marks the ledger (sent, or a failure through the
 * classifier with FINAL_SERVER cleared for a plaintext retry), COMPLETE_SESSION, whether the
 * session was throttled, the ledger sweep, and store-or-QUIT: stored under its endpoint label, plus
 * the dest label for the first non-throttled session of the request (§6.4 storage).
 * Never: connects, handshakes or decides which server is final.
 */

import { markFailed, markSent, trace } from './attempt-record.ts';
import type { AddressPrep, AttemptRun, Element } from './attempt-state.ts';
import { tlsFeatureStatus } from './log-line.ts';
import type { RecipientReply, SmtpSession } from './ports.ts';
import { stageTimeouts } from './route-plan.ts';
import { noteSession } from './session-notice.ts';
import {
  destLabelFor,
  endpointLabelFor,
  labelContext,
  mayStore,
  mayStoreAfterTransaction,
} from './session-reuse.ts';
import { successActionFor } from './success-dsn.ts';
import type { DeliveryFailure } from './types.ts';
import { namaddrport } from './types.ts';

const NO_REPLY: DeliveryFailure = {
  handler: 'stream',
  status: '4.3.0',
  text: 'local data error while talking to the server: no reply recorded for this recipient',
  throttle: false,
  dontCache: true,
};

function outcomeName(sent: number, failed: number, fromCache: boolean): string {
  const base = failed === 0 ? 'delivered' : sent === 0 ? 'session-failed' : 'partial';
  return fromCache ? `reused-${base}` : base;
}

export async function runSession(
  run: AttemptRun,
  el: Element,
  session: SmtpSession,
  prep: AddressPrep,
  flags: { finalServer: boolean; fromCache: boolean },
): Promise<{ plainRetry: boolean }> {
  const { req, opts, deps } = run;
  const ep = session.state.endpoint;
  const relay = namaddrport(ep);
  const indices = run.ledger.unmarked();
  const connUse = flags.fromCache ? session.state.reuseCount + 1 : undefined;
  const setupDoneAt = deps.clock.now();
  const storable = mayStoreAfterTransaction({
    session,
    storeEnabled: run.cachePolicy.store,
    ...(prep.tlsReuse !== undefined ? { tlsReuse: prep.tlsReuse } : {}),
    now: setupDoneAt,
    opts,
  });
  const tx = await session.transaction({
    sender: req.sender,
    recipients: indices.map((i) => run.ledger.recipient(i)),
    message: req.message,
    size: req.size,
    ...(req.eightBit !== undefined ? { eightBit: req.eightBit } : {}),
    ...(req.smtputf8 !== undefined ? { smtputf8: req.smtputf8 } : {}),
    ...(req.requireTls !== undefined && el.requireTls !== 'disable' ? { requireTls: req.requireTls } : {}),
    ...(req.dsn !== undefined ? { dsn: req.dsn } : {}),
    timeouts: stageTimeouts(opts),
    plaintextRetryAllowed: prep.plaintextRetryAllowed,
    // §5.3: a session that will not be cached gets QUIT right behind the final dot (pipelining).
    quitAfterData: !storable,
    ...(opts.disableMimeOutputConversion ? { disableMimeOutputConversion: true } : {}),
    ...(req.signal !== undefined ? { signal: req.signal } : {}),
  });
  let throttled = false;
  let clean = tx.reusable;
  let plainRetry = false;
  let sent = 0;
  const tls = opts.smtpLogTlsFeatureStatus
    ? tlsFeatureStatus({
        policyLevel: prep.policyLevel,
        active: session.state.tls.active,
        requireTls: req.requireTls === true && el.requireTls !== 'disable',
      })
    : undefined;
  const ctx = {
    relay,
    setupDoneAt,
    ...(connUse !== undefined ? { connUse } : {}),
    ...(tls !== undefined ? { tls } : {}),
  };
  for (const [k, index] of indices.entries()) {
    const r: RecipientReply = tx.recipients[k] ?? { ok: false, failure: NO_REPLY };
    if (r.ok) {
      sent++;
      const successAction = successActionFor({
        notify: run.ledger.recipient(index).notify,
        serverDsn: session.state.capabilities.DSN !== undefined,
        protocol: req.protocol,
        lmtpAssumeFinal: opts.lmtpAssumeFinal,
      });
      markSent(run, index, r.reply, {
        ...ctx,
        finalServer: flags.finalServer,
        remoteMta: ep.host,
        ...(successAction !== undefined ? { successAction } : {}),
      });
      continue;
    }
    if (r.failure.throttle) throttled = true;
    if (r.failure.dontCache === true) clean = false;
    const retry = r.failure.retryAsPlaintext === true && prep.plaintextRetryAllowed;
    plainRetry ||= retry;
    markFailed(run, index, r.failure, { ...ctx, finalServer: flags.finalServer && !retry });
  }
  if (tx.completeSession) run.completeSession = true;
  run.ledger.sweep();
  trace(
    run,
    { host: ep.host, address: ep.address, port: ep.port },
    outcomeName(sent, indices.length - sent, flags.fromCache),
  );
  await cleanup(run, el, session, prep, { throttled, clean });
  return { plainRetry };
}

async function cleanup(
  run: AttemptRun,
  el: Element,
  session: SmtpSession,
  prep: AddressPrep,
  s: { throttled: boolean; clean: boolean },
): Promise<void> {
  const { opts, deps } = run;
  noteSession(run, session.state.endpoint, session.takeHistory?.());
  const store = mayStore({
    session,
    storeEnabled: run.cachePolicy.store,
    throttled: s.throttled,
    clean: s.clean,
    ...(prep.tlsReuse !== undefined ? { tlsReuse: prep.tlsReuse } : {}),
    now: deps.clock.now(),
    opts,
  });
  if (store) {
    const ctx = labelContext(run, el.requireTls);
    const level = prep.tls.level;
    const labels = [
      endpointLabelFor(ctx, {
        endpoint: session.state.endpoint,
        tlsLevel: level,
        site: el.site,
        sasl: prep.sasl,
      }),
    ];
    if (run.requestNexthop !== undefined) labels.push(destLabelFor(ctx, run.requestNexthop, level));
    await deps.cache.put(labels, session, opts.smtpConnectionCacheTimeLimit);
  } else if (session.isUsable()) {
    await session.quit(opts.smtpQuitTimeout).catch(() => session.close());
  } else {
    session.close();
  }
  if (!s.throttled) delete run.requestNexthop;
}
