/**
 * DANE for SMTP (RFC 7672) decisions: which TLSA records are usable, and what the `dane` and
 * `dane-only` levels become for one server given the DNSSEC status of its MX RRset and its TLSA
 * lookup (Postfix smtp_tls_policy.c semantics, spec §7.1).
 *
 * Decides: usable = DANE-TA(2) or DANE-EE(3), selector 0 (certificate) or 1 (SPKI), matching
 * type 0 (full), 1 (SHA2-256, 32 bytes) or 2 (SHA2-512, 64 bytes), well-formed hex (§3.1.3:
 * PKIX-TA/PKIX-EE are not used for SMTP). Per server:
 * - TLSA lookup failed (SERVFAIL, timeout): 4.7.5 `TLSA lookup error for host:port`, address
 *   skipped (§2.2: a server whose TLSA cannot be had is unreachable), both levels;
 * - secure TLSA with usable records: the level stays, with the records (the engine then needs a
 *   chain that matches one; DANE-TA also checks the name: MX host or next-hop domain);
 * - secure TLSA, none usable: `dane` → `encrypt` (§2.2: mandatory unauthenticated TLS);
 *   `dane-only` → 4.7.5 `TLSA records unusable`;
 * - no TLSA, or an insecure (unsigned) answer: `dane` → `may`; `dane-only` → 4.7.5
 *   `no TLSA records found`, or `non DNSSEC destination` when the MX RRset was not secure.
 * An insecure MX RRset with `dane` still uses secure TLSA of the host (Postfix "halfdane").
 * Without a DANE port (no validating resolver configured) the level is refused with 4.7.5
 * `client TLS configuration problem`: mxq never lowers dane silently (Postfix lowers `dane` to
 * `may` with a warning).
 * Never: does DNS or TLS.
 */
import type { TlsaRecord, TlsSettings } from './ports.ts';
import type { DeliveryFailure } from './types.ts';

export type TlsaLookup =
  | { kind: 'records'; secure: boolean; records: TlsaRecord[] }
  | { kind: 'none'; secure: boolean }
  | { kind: 'error'; reason: string };

/** DNSSEC-aware lookups for DANE (src/dane adapts a raw DNS client to a validating resolver). */
export interface DanePort {
  /** Whether the domain's MX RRset validated (AD); 'error' when it could not be asked. */
  mxSecure(domain: string, signal?: AbortSignal): Promise<boolean | 'error'>;
  /** TLSA `_<port>._tcp.<host>`. */
  tlsa(host: string, port: number, signal?: AbortSignal): Promise<TlsaLookup>;
}

const HASH_BYTES: Readonly<Record<number, number>> = { 1: 32, 2: 64 };

export const isDaneLevel = (level: string): boolean => level === 'dane' || level === 'dane-only';

export function isUsableTlsa(r: TlsaRecord): boolean {
  if (r.usage !== 2 && r.usage !== 3) return false;
  if (r.selector !== 0 && r.selector !== 1) return false;
  if (!/^([0-9a-f]{2})+$/.test(r.data)) return false;
  if (r.matchingType === 0) return r.data.length > 0;
  const want = HASH_BYTES[r.matchingType];
  return want !== undefined && r.data.length === want * 2;
}

const fail = (text: string, dane: NonNullable<DeliveryFailure['dane']>): DeliveryFailure => ({
  handler: 'sess',
  status: '4.7.5',
  text,
  throttle: false,
  dane,
});

export type DaneVerdict =
  | { ok: true; settings: TlsSettings }
  | { ok: false; failure: DeliveryFailure; defect?: string };

export function decideDane(p: {
  settings: TlsSettings;
  mxSecure: boolean;
  lookup: TlsaLookup;
  host: string;
  port: number;
  domain: string;
}): DaneVerdict {
  const { settings, lookup, host, port } = p;
  const only = settings.level === 'dane-only';
  const where = `${host}:${port}`;
  if (lookup.kind === 'error')
    return {
      ok: false,
      failure: fail(`TLSA lookup error for ${where}`, 'lookup-error'),
      defect: lookup.reason,
    };
  if (only && !p.mxSecure)
    return { ok: false, failure: fail(`TLS is required, but non DNSSEC destination ${where}`, 'no-tlsa') };
  if (lookup.kind === 'none' || !lookup.secure) {
    if (only)
      return {
        ok: false,
        failure: fail(`TLS is required, but no TLSA records found for ${where}`, 'no-tlsa'),
      };
    return { ok: true, settings: { ...settings, level: 'may' } };
  }
  const usable = lookup.records.filter(isUsableTlsa);
  if (usable.length === 0) {
    const defect = `TLSA records unusable for ${where}`;
    if (only) return { ok: false, failure: fail(`TLS is required, but ${defect}`, 'unusable-tlsa'), defect };
    return { ok: true, settings: { ...settings, level: 'encrypt' } };
  }
  const names = [host.toLowerCase(), p.domain.toLowerCase()].filter(
    (n, i, a) => n !== '' && a.indexOf(n) === i,
  );
  return { ok: true, settings: { ...settings, tlsa: usable, matchNames: names } };
}
