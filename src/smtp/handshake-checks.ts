/**
 * Handshake verdicts (§4.4 loop, §5.5 SMTPUTF8, §7.3 STARTTLS, §7.6 REQUIRETLS): which failure,
 * with which status, handler and flags.
 *
 * Decides: the wording and flags of each handshake refusal that does not come from a reply.
 * Never: does I/O.
 */
import type { HandshakeParams } from '../core/ports.ts';
import type { DeliveryFailure, Endpoint } from '../core/types.ts';
import { namaddr } from '../core/types.ts';
import type { Capabilities } from './capabilities.ts';
import { localFailure } from './failures.ts';

export const requiresTls = (p: HandshakeParams): boolean => p.tls.level !== 'none' && p.tls.level !== 'may';
export const requireTlsNeedsTls = (p: HandshakeParams): boolean =>
  p.requireTls === 'enforce' || p.requireTls === 'opportunistic+starttls';

/** Checks after each EHLO (§5.1 step 7 order: loop, SMTPUTF8, REQUIRETLS post-TLS). */
export function afterHello(
  p: HandshakeParams,
  ep: Endpoint,
  caps: Capabilities,
  tlsActive: boolean,
): DeliveryFailure | undefined {
  if (p.protocol === 'smtp' && p.loopDetect && caps.serverName.toLowerCase() === p.myHostname.toLowerCase()) {
    return localFailure(
      'site',
      p.bestMx ? '5.4.6' : '4.4.6',
      `mail for ${p.requestNexthop} loops back to myself`,
    );
  }
  if (p.smtputf8Required && caps.map.SMTPUTF8 === undefined) {
    return localFailure(
      'misc',
      '5.6.7',
      `message requires SMTPUTF8, but no server was found that supports SMTPUTF8. The last attempted server was ${namaddr(ep)}`,
      { softNonFinal: true, dontCache: true },
    );
  }
  if (tlsActive && p.requireTls === 'enforce' && caps.map.REQUIRETLS === undefined) {
    return localFailure(
      'misc',
      '5.7.30',
      `Sender requested REQUIRETLS, but no server was found that supports REQUIRETLS. The last attempted server was ${namaddr(ep)}`,
      { softNonFinal: true, dontCache: true },
    );
  }
  return undefined;
}

export function tlsMissing(p: HandshakeParams, ep: Endpoint): DeliveryFailure | undefined {
  if (requiresTls(p))
    return localFailure('site', '4.7.4', `TLS is required, but was not offered by host ${namaddr(ep)}`);
  if (requireTlsNeedsTls(p)) {
    return localFailure(
      'misc',
      '5.7.30',
      `Sender requested REQUIRETLS, but TLS service was not offered by host ${namaddr(ep)}`,
      {
        softNonFinal: true,
        dontCache: true,
      },
    );
  }
  return undefined;
}

export function handshakeFailed(p: HandshakeParams): DeliveryFailure {
  const may = p.tls.level === 'may';
  return localFailure('misc', '4.7.5', 'Cannot start TLS: handshake failure', {
    throttle: !may,
    dontCache: true,
    tlsHandshakeFailed: true,
    ...(may && p.plaintextRetryAllowed && !requireTlsNeedsTls(p) ? { retryAsPlaintext: true } : {}),
  });
}

export function notVerified(p: HandshakeParams, ep: Endpoint, trusted: boolean): DeliveryFailure {
  if (p.requireTls === 'enforce') {
    const what = trusted ? 'matching' : 'trusted';
    return localFailure(
      'misc',
      '5.7.10',
      `Sender requested REQUIRETLS, but no ${what} server certificate was found. The last attempted server was ${namaddr(ep)}`,
      { softNonFinal: true, dontCache: true, certificate: trusted ? 'name-mismatch' : 'untrusted' },
    );
  }
  return localFailure('site', '4.7.5', 'Server certificate not verified', {
    certificate: trusted ? 'name-mismatch' : 'untrusted',
  });
}
