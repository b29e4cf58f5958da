/**
 * DANE certificate matching (RFC 7672 §3.1, RFC 6698 §2.1) against the chain the server presented.
 *
 * Decides: a DANE-EE(3) record matches the leaf certificate (selector 0: DER certificate, 1: DER
 * SubjectPublicKeyInfo; matching type 0: exact, 1: SHA2-256, 2: SHA2-512), with no name, expiry
 * or trust-store check (§3.1.1). A DANE-TA(2) record matches a certificate of the presented chain
 * (or, for a full certificate or key, one that is not presented), the leaf must chain up to it by
 * signatures (at most 10 links), and the leaf must carry one of `matchNames` (MX host or next-hop
 * domain, §3.2.2). Any one matching record is enough.
 * Never: uses the trust store, decides what a mismatch means (handshake.ts does).
 */
import { createHash, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import type tls from 'node:tls';
import type { TlsaRecord } from '../core/ports.ts';

const MAX_CHAIN = 10;

function selected(cert: X509Certificate, selector: number): Buffer {
  return selector === 0 ? cert.raw : (cert.publicKey.export({ type: 'spki', format: 'der' }) as Buffer);
}

function digest(data: Buffer, matchingType: number): string {
  if (matchingType === 1) return createHash('sha256').update(data).digest('hex');
  if (matchingType === 2) return createHash('sha512').update(data).digest('hex');
  return data.toString('hex');
}

const recordMatches = (cert: X509Certificate, r: TlsaRecord): boolean =>
  digest(selected(cert, r.selector), r.matchingType) === r.data;

/** The presented chain, leaf first (Node links issuers; a self-signed root points at itself). */
export function presentedChain(peer: tls.DetailedPeerCertificate): X509Certificate[] {
  const out: X509Certificate[] = [];
  let cur: tls.DetailedPeerCertificate | undefined = peer;
  const seen = new Set<string>();
  for (let i = 0; i < MAX_CHAIN && cur?.raw !== undefined; i++) {
    const key = cur.raw.toString('base64');
    if (seen.has(key)) break;
    seen.add(key);
    out.push(new X509Certificate(cur.raw));
    cur = cur.issuerCertificate;
  }
  return out;
}

/** The trust anchor's key for a TA record not found in the chain (full certificate or SPKI only). */
function absentAnchorKey(r: TlsaRecord): KeyObject | undefined {
  if (r.matchingType !== 0) return undefined;
  const der = Buffer.from(r.data, 'hex');
  try {
    return r.selector === 0
      ? new X509Certificate(der).publicKey
      : createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

function chainsTo(chain: X509Certificate[], r: TlsaRecord): boolean {
  // Walk up from the leaf: each link must be signed by the next certificate.
  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i] as X509Certificate;
    if (i > 0 && recordMatches(cert, r)) return true;
    const issuer = chain[i + 1];
    if (issuer === undefined) {
      const key = absentAnchorKey(r);
      return key !== undefined && cert.verify(key);
    }
    if (!cert.verify(issuer.publicKey)) return false;
  }
  return false;
}

/** `nameOk` checks the leaf's names against the MX host / next-hop domain (tls-upgrade.ts). */
export function daneMatches(
  peer: tls.DetailedPeerCertificate,
  records: TlsaRecord[],
  nameOk: () => boolean,
): boolean {
  if (peer.raw === undefined) return false;
  let chain: X509Certificate[];
  try {
    chain = presentedChain(peer);
  } catch {
    return false;
  }
  const leaf = chain[0];
  if (leaf === undefined) return false;
  for (const r of records) {
    try {
      if (r.usage === 3 && recordMatches(leaf, r)) return true;
      if (r.usage === 2 && nameOk() && chainsTo(chain, r)) return true;
    } catch {
      // a record that cannot be evaluated does not match
    }
  }
  return false;
}
