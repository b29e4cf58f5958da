/**
 * The TLS handshake over an existing socket (STARTTLS or SMTPS) and the certificate checks per
 * level: none for may/encrypt, SHA-256 of the certificate or its SPKI for fingerprint, PKIX trust
 * plus a name in `matchNames` for verify/secure.
 *
 * Decides: SNI (settings.servername, else the host name when it is not an IP literal), trust
 * anchors (settings.ca instead of Node's store), session-ticket offer and emission (only from a
 * session that passed its level's check), and that a session resumed from an offered ticket keeps
 * the check it passed when the ticket was issued (fingerprint/verify/secure: Node exposes no peer
 * certificate on resumption).
 * Never: speaks SMTP; decides what a failed check means (handshake.ts does).
 */
import { createHash, X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import type { TlsSettings } from '../core/ports.ts';
import { daneMatches } from './dane-verify.ts';

export interface TlsFacts {
  protocol?: string;
  cipher?: string;
  resumed: boolean;
  /** Chain trusted by the trust store. */
  trusted: boolean;
  /** The check the level asks for passed (always true for may/encrypt). */
  matched: boolean;
}

export type TlsOutcome =
  | { ok: true; socket: net.Socket; facts: TlsFacts }
  | { ok: false; timeout: boolean; aborted?: boolean };

const hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const norm = (f: string): string => f.replace(/:/g, '').toLowerCase();

function fingerprintMatch(cert: tls.PeerCertificate, wanted: string[]): boolean {
  if (!cert.raw) return false;
  const certHash = hex(cert.raw);
  let spkiHash = '';
  try {
    const spki = new X509Certificate(cert.raw).publicKey.export({ type: 'spki', format: 'der' });
    spkiHash = hex(spki);
  } catch {
    spkiHash = '';
  }
  return wanted.map(norm).some((w) => w === certHash || (spkiHash !== '' && w === spkiHash));
}

function certNames(cert: tls.PeerCertificate): string[] {
  const sans = (cert.subjectaltname ?? '')
    .split(/,\s*/)
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4).toLowerCase());
  if (sans.length > 0) return sans;
  const cn = cert.subject?.CN;
  return typeof cn === 'string' ? [cn.toLowerCase()] : [];
}

/** verify/secure name check: exact names via tls.checkServerIdentity, ".domain" as any sub-domain. */
export function nameMatches(cert: tls.PeerCertificate, matchNames: string[]): boolean {
  const names = certNames(cert);
  for (const m of matchNames.map((n) => n.toLowerCase())) {
    if (m.startsWith('.')) {
      if (names.some((n) => n.replace(/^\*/, '').endsWith(m) && n.length > m.length)) return true;
    } else if (tls.checkServerIdentity(m, cert) === undefined) return true;
  }
  return false;
}

/** Levels whose certificate check a resumed session inherits from the session it resumes. */
const RESUMABLE_CHECKS: ReadonlySet<string> = new Set(['fingerprint', 'verify', 'secure']);

function judge(socket: tls.TLSSocket, settings: TlsSettings): TlsFacts {
  const cert = socket.getPeerCertificate();
  const cipher = socket.getCipher();
  const proto = socket.getProtocol();
  const trusted = socket.authorized;
  let matched = true;
  // A session resumed from a ticket offered under this exact name and policy (the cluster tier
  // stores tickets only from sessions that passed this check) passed it before; Node gives no
  // peer certificate on resumption to check again.
  const resumedChecked = socket.isSessionReused() && settings.sessionTicket !== undefined;
  if (resumedChecked && RESUMABLE_CHECKS.has(settings.level)) matched = true;
  else if (settings.level === 'fingerprint') matched = fingerprintMatch(cert, settings.fingerprints ?? []);
  // --- tls (issue 14): RFC 7672; a dane level without records never counts as matched ---
  else if (settings.level === 'dane' || settings.level === 'dane-only')
    matched = daneMatches(socket.getPeerCertificate(true), settings.tlsa ?? [], () =>
      nameMatches(cert, settings.matchNames ?? []),
    );
  else if (settings.level === 'verify' || settings.level === 'secure')
    matched = trusted && nameMatches(cert, settings.matchNames ?? []);
  return {
    ...(proto ? { protocol: proto } : {}),
    ...(cipher?.name ? { cipher: cipher.name } : {}),
    resumed: socket.isSessionReused(),
    trusted,
    matched,
  };
}

export function startTls(
  socket: net.Socket,
  settings: TlsSettings,
  host: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<TlsOutcome> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      socket.destroy();
      resolve({ ok: false, timeout: false, aborted: true });
      return;
    }
    const servername = settings.servername ?? (net.isIP(host) === 0 ? host : undefined);
    const t = tls.connect({
      socket,
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
      ...(servername ? { servername } : {}),
      ...(settings.ca ? { ca: settings.ca } : {}),
      ...(settings.sessionTicket ? { session: settings.sessionTicket } : {}),
    });
    t.on('error', () => undefined); // errors after the handshake reach the channel's listener
    // Tickets go out only from a session that passed the level's check (held until judged).
    const onTicket = settings.onSessionTicket;
    const ticketGate: { verdict?: boolean; held: Buffer[] } = { held: [] };
    if (onTicket) {
      t.on('session', (s: Buffer) => {
        if (ticketGate.verdict === undefined) ticketGate.held.push(s);
        else if (ticketGate.verdict) onTicket(s);
      });
    }
    let timer: NodeJS.Timeout | undefined;
    const done = (r: TlsOutcome): void => {
      if (timer) clearTimeout(timer);
      t.off('secureConnect', onSecure);
      t.off('error', onError);
      t.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (!r.ok) t.destroy();
      resolve(r);
    };
    const onSecure = (): void => {
      const facts = judge(t, settings);
      ticketGate.verdict = facts.matched;
      if (onTicket && facts.matched) for (const s of ticketGate.held.splice(0)) onTicket(s);
      done({ ok: true, socket: t, facts });
    };
    const onError = (): void => done({ ok: false, timeout: false });
    const onClose = (): void => done({ ok: false, timeout: false });
    const onAbort = (): void => done({ ok: false, timeout: false, aborted: true });
    signal?.addEventListener('abort', onAbort, { once: true });
    t.once('secureConnect', onSecure);
    t.once('error', onError);
    t.once('close', onClose);
    if (timeoutMs > 0) timer = setTimeout(() => done({ ok: false, timeout: true }), timeoutMs);
  });
}
