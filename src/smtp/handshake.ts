/**
 * The handshake flow (Postfix smtp_helo): [SMTPS TLS], greeting, EHLO/HELO/LHLO with the 421
 * rule and the HELO fallback, checks, STARTTLS per level (everything buffered before the TLS
 * handshake is discarded, then EHLO again), AUTH.
 *
 * Decides: the order of steps, and that at level ≥ encrypt nothing but EHLO/STARTTLS/QUIT is ever
 * written in plaintext. Verdicts come from handshake-checks.ts.
 * Never: runs a mail transaction; decides what happens to recipients.
 */
import type { HandshakeParams, HandshakeResult } from '../core/ports.ts';
import type { DeliveryFailure, Endpoint } from '../core/types.ts';
import { namaddr } from '../core/types.ts';
import { authenticate } from './auth.ts';
import { authMechanisms, type Capabilities, parseEhloReply } from './capabilities.ts';
import { type Channel, StreamError } from './channel.ts';
import { heloCommand, SmtpInputError } from './commands.ts';
import type { EngineDeps } from './engine-deps.ts';
import { localFailure, refusedFailure, streamFailure } from './failures.ts';
import {
  afterHello,
  handshakeFailed,
  notVerified,
  requiresTls,
  requireTlsNeedsTls,
  tlsMissing,
} from './handshake-checks.ts';
import { chooseSaslMechanism } from './sasl-policy.ts';
import { createSession, type SessionTls } from './session.ts';
import { startTls } from './tls-upgrade.ts';

type Step = { stage: string };
type Hello = { ok: true; caps: Capabilities; esmtp: boolean } | { ok: false; failure: DeliveryFailure };

/** Send QUIT without waiting when the stream is still usable, then close. */
export function hangUp(ch: Channel, sendQuit: boolean): void {
  if (sendQuit && ch.usable) {
    ch.write('QUIT\r\n', 1000, undefined, ['QUIT']).catch(() => undefined);
    ch.socket.end();
    setTimeout(() => ch.destroy(), 1000).unref();
  } else ch.destroy();
}

const is2xx = (code: number): boolean => code >= 200 && code < 300;

async function hello(
  ch: Channel,
  p: HandshakeParams,
  ep: Endpoint,
  step: Step,
  esmtp: boolean,
): Promise<Hello> {
  const t = p.protocol === 'lmtp' ? p.timeouts.lhlo : p.timeouts.helo;
  if (p.protocol === 'lmtp' || esmtp) {
    const verb = p.protocol === 'lmtp' ? 'LHLO' : 'EHLO';
    step.stage = `performing the ${verb} handshake`;
    const cmd = heloCommand(verb, p.heloName);
    await ch.write(`${cmd}\r\n`, t, p.signal, [cmd]);
    const r = await ch.readReply(t, p.signal);
    if (is2xx(r.code)) return { ok: true, caps: parseEhloReply(r, p.discardEhloKeywords), esmtp: true };
    if (verb === 'LHLO' || r.code === 421) return { ok: false, failure: refusedFailure(ep, r, false, verb) };
  }
  step.stage = 'performing the HELO handshake';
  const cmd = heloCommand('HELO', p.heloName);
  await ch.write(`${cmd}\r\n`, t, p.signal, [cmd]);
  const r = await ch.readReply(t, p.signal);
  if (!is2xx(r.code)) return { ok: false, failure: refusedFailure(ep, r, false, 'HELO') };
  const serverName = r.lines[0]?.slice(4).trim().split(/\s+/)[0] ?? '';
  return { ok: true, caps: { serverName, map: {}, sizeLimit: 0, warnings: [] }, esmtp: false };
}

type TlsStep = { ok: true; tls: SessionTls } | { ok: false; failure: DeliveryFailure; quit: boolean };

/** STARTTLS (or wrapper TLS when `command` is false) and the certificate verdict. */
async function upgrade(
  ch: Channel,
  p: HandshakeParams,
  ep: Endpoint,
  step: Step,
  command: boolean,
  deps: EngineDeps,
): Promise<TlsStep> {
  if (command) {
    step.stage = 'receiving the STARTTLS response';
    await ch.write('STARTTLS\r\n', p.timeouts.starttls, p.signal, ['STARTTLS']);
    const r = await ch.readReply(p.timeouts.starttls, p.signal);
    if (!is2xx(r.code)) {
      if (requiresTls(p)) {
        const text = `TLS is required, but host ${namaddr(ep)} refused to start TLS: ${r.text}`;
        return { ok: false, quit: true, failure: { ...refusedFailure(ep, r, false, 'STARTTLS'), text } };
      }
      if (requireTlsNeedsTls(p)) {
        const text = `Sender requested REQUIRETLS, but host ${namaddr(ep)} refused to start TLS: ${r.text}`;
        const failure = localFailure('misc', '5.7.10', text, {
          softNonFinal: true,
          dontCache: true,
          reply: r,
        });
        return { ok: false, quit: true, failure };
      }
      ch.info(`STARTTLS refused by ${namaddr(ep)}; continuing in plaintext`);
      return { ok: true, tls: { active: false, level: p.tls.level } };
    }
  }
  const raw = ch.detach(); // discard every byte buffered before the TLS handshake
  const start = deps.tlsStarter?.start ?? startTls;
  const out = await start(raw, p.tls, ep.host, p.timeouts.starttls, p.signal);
  if (!out.ok) {
    if (out.aborted) throw new StreamError('abort');
    ch.info(`TLS handshake with ${namaddr(ep)} failed${out.timeout ? ' (timeout)' : ''}`);
    return { ok: false, quit: false, failure: handshakeFailed(p) };
  }
  ch.attach(out.socket);
  const f = out.facts;
  ch.info(
    `TLS ${f.protocol ?? '?'} ${f.cipher ?? '?'} trusted=${f.trusted} matched=${f.matched} resumed=${f.resumed}`,
  );
  if (!f.matched) return { ok: false, quit: true, failure: notVerified(p, ep, f.trusted) };
  const tls: SessionTls = {
    active: true,
    level: p.tls.level,
    peerVerified: f.matched && f.trusted,
    resumed: f.resumed,
  };
  if (f.protocol) tls.protocol = f.protocol;
  if (f.cipher) tls.cipher = f.cipher;
  return { ok: true, tls };
}

async function run(
  ch: Channel,
  p: HandshakeParams,
  ep: Endpoint,
  deps: EngineDeps,
  step: Step,
): Promise<HandshakeResult> {
  const fail = (failure: DeliveryFailure, quit = true): HandshakeResult => {
    hangUp(ch, quit);
    return { ok: false, failure };
  };
  let tls: SessionTls = { active: false, level: p.tls.level };
  if (p.tls.wrapperMode) {
    const w = await upgrade(ch, p, ep, step, false, deps);
    if (!w.ok) return fail(w.failure, w.quit);
    tls = w.tls;
  }
  step.stage = 'receiving the initial server greeting';
  const greeting = await ch.readReply(p.timeouts.helo, p.signal);
  if (!is2xx(greeting.code)) return fail(refusedFailure(ep, greeting, p.skip5xxGreeting, 'greeting'));
  const greetName = greeting.lines[0]?.slice(4).trim().split(/\s+/)[0] ?? '';
  if (greetName.toLowerCase() === p.myHostname.toLowerCase()) {
    deps.logger?.warn(
      { host: namaddr(ep) },
      `host ${namaddr(ep)} greeted me with my own hostname ${p.myHostname}`,
    );
  }
  const esmtp = !p.neverSendEhlo && (p.alwaysSendEhlo || /\bESMTP\b/.test(greeting.text));
  let h = await hello(ch, p, ep, step, esmtp);
  if (!h.ok) return fail(h.failure);
  let bad = afterHello(p, ep, h.caps, tls.active);
  if (bad) return fail(bad);
  if (!tls.active && p.tls.level !== 'none' && h.caps.map.STARTTLS !== undefined) {
    const u = await upgrade(ch, p, ep, step, true, deps);
    if (!u.ok) return fail(u.failure, u.quit);
    if (u.tls.active) {
      tls = u.tls;
      h = await hello(ch, p, ep, step, true);
      if (!h.ok) return fail(h.failure);
      bad = afterHello(p, ep, h.caps, true);
      if (bad) return fail(bad);
    }
  } else if (!tls.active) {
    const missing = tlsMissing(p, ep);
    if (missing) return fail(missing);
  }
  if (tls.active) delete h.caps.map.STARTTLS;
  let authenticated = false;
  if (p.sasl && h.caps.map.AUTH !== undefined) {
    const choice = chooseSaslMechanism(authMechanisms(h.caps.map), p.sasl, tls.active);
    if (choice.kind === 'filtered-out') {
      deps.logger?.warn(
        { host: namaddr(ep) },
        `${namaddr(ep)} offered no supported AUTH mechanisms: '${choice.offered.join(' ')}'`,
      );
    } else if (choice.kind === 'no-mechanism') {
      // smtpSaslSecurityOptions (e.g. noplaintext without TLS): never send the password.
      return fail(
        localFailure(
          'sess',
          '4.7.0',
          `SASL authentication failed; cannot authenticate to server ${namaddr(ep)}: no mechanism available`,
          { command: 'AUTH', remoteMta: ep.host },
        ),
      );
    } else {
      step.stage = 'performing the AUTH handshake';
      const authFail = await authenticate(ch, ep, choice.mechanism, p.sasl, p.timeouts, p.signal);
      if (authFail) return fail(authFail);
      authenticated = true;
    }
  }
  for (const w of h.caps.warnings) deps.logger?.warn({ host: namaddr(ep) }, w);
  const now = deps.clock.now();
  const state = {
    endpoint: ep,
    protocol: p.protocol,
    serverName: h.caps.serverName,
    capabilities: h.caps.map,
    sizeLimit: h.caps.sizeLimit,
    esmtp: h.esmtp,
    tls,
    authenticated,
    reuseCount: 0,
    createdAt: now,
    lastUsedAt: now,
  };
  return { ok: true, session: createSession(ch, state, deps) };
}

/** Runs the whole handshake. Never throws: failures are values; the connection is closed on failure. */
export async function handshake(
  ch: Channel,
  p: HandshakeParams,
  ep: Endpoint,
  deps: EngineDeps,
): Promise<HandshakeResult> {
  const step: Step = {
    stage: p.tls.wrapperMode ? 'receiving the STARTTLS response' : 'receiving the initial server greeting',
  };
  try {
    return await run(ch, p, ep, deps, step);
  } catch (e) {
    ch.destroy();
    if (e instanceof StreamError) {
      const f = streamFailure(ep, e.kind, step.stage);
      if (
        p.tls.level === 'may' &&
        p.plaintextRetryAllowed &&
        e.kind !== 'abort' &&
        'encrypted' in ch.socket &&
        !requireTlsNeedsTls(p)
      ) {
        f.retryAsPlaintext = true;
      }
      return { ok: false, failure: f };
    }
    if (e instanceof SmtpInputError) {
      return {
        ok: false,
        failure: localFailure('sess', '4.3.5', `mail system configuration error: ${e.message}`),
      };
    }
    // e.g. tls.connect refusing a malformed trust anchor.
    deps.logger?.error(
      { host: namaddr(ep), err: e instanceof Error ? e.message : String(e) },
      'SMTP handshake error',
    );
    return {
      ok: false,
      failure: localFailure('site', '4.7.0', 'client TLS configuration problem', { dontCache: true }),
    };
  }
}
