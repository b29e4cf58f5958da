/**
 * Which SASL mechanism the client may use with a server, by Postfix's smtp_sasl_mechanism_filter,
 * smtp_sasl_security_options (sessions without TLS) and smtp_sasl_tls_security_options (inside
 * TLS).
 *
 * Decides: the mechanism filter (only the listed mechanisms the server offers are considered; an
 * empty filter keeps all), the properties of each mechanism mxq implements (PLAIN and LOGIN send
 * the password readable: `plaintext`, and can be guessed offline: `dictionary`; XOAUTH2 sends a
 * bearer token readable: `plaintext`), and which security option rules a mechanism out:
 * `noplaintext`, `nodictionary`, `noanonymous` (mxq has no ANONYMOUS), `noactive` and
 * `mutual_auth` (none of mxq's mechanisms resists active attacks or authenticates the server,
 * so these two rule out every mechanism).
 * Never: talks to the server, logs a credential.
 */

const MECHANISM_PROPERTIES: Readonly<Record<string, readonly string[]>> = {
  PLAIN: ['plaintext', 'dictionary', 'active'],
  LOGIN: ['plaintext', 'dictionary', 'active'],
  XOAUTH2: ['plaintext', 'active'],
};

/** Security option words Postfix accepts for smtp_sasl_*security_options. */
export const SASL_SECURITY_WORDS = [
  'noplaintext',
  'noactive',
  'nodictionary',
  'noanonymous',
  'mutual_auth',
] as const;

function allowedBy(mech: string, options: readonly string[]): boolean {
  const props = MECHANISM_PROPERTIES[mech];
  if (props === undefined) return false;
  for (const o of options) {
    const w = o.toLowerCase();
    if (w === 'noplaintext' && props.includes('plaintext')) return false;
    if (w === 'nodictionary' && props.includes('dictionary')) return false;
    if (w === 'noactive' && props.includes('active')) return false;
    if (w === 'mutual_auth') return false;
  }
  return true;
}

export type SaslChoice =
  | { kind: 'mechanism'; mechanism: string }
  /** The filter left nothing the server offers: continue without AUTH (Postfix warns). */
  | { kind: 'filtered-out'; offered: string[] }
  /** Mechanisms remain, but the security options forbid all of them: do not authenticate, defer. */
  | { kind: 'no-mechanism'; offered: string[] };

export interface SaslPolicy {
  /** Preferred order; default PLAIN, LOGIN. */
  mechanisms?: readonly string[] | undefined;
  /** smtpSaslSecurityOptions (no TLS); default noplaintext, noanonymous. */
  securityOptions?: readonly string[] | undefined;
  /** smtpSaslTlsSecurityOptions (TLS active); default noanonymous. */
  tlsSecurityOptions?: readonly string[] | undefined;
  /** smtpSaslMechanismFilter; empty = every offered mechanism. */
  mechanismFilter?: readonly string[] | undefined;
}

export const DEFAULT_SASL_SECURITY_OPTIONS = ['noplaintext', 'noanonymous'];
export const DEFAULT_SASL_TLS_SECURITY_OPTIONS = ['noanonymous'];

/** The mechanism to use for `offered` (upper-case names) on a session with or without TLS. */
export function chooseSaslMechanism(
  offered: readonly string[],
  policy: SaslPolicy,
  tlsActive: boolean,
): SaslChoice {
  const filter = (policy.mechanismFilter ?? []).map((m) => m.toUpperCase());
  const candidates = filter.length === 0 ? [...offered] : offered.filter((m) => filter.includes(m));
  if (candidates.length === 0) return { kind: 'filtered-out', offered: [...offered] };
  const options = tlsActive
    ? (policy.tlsSecurityOptions ?? DEFAULT_SASL_TLS_SECURITY_OPTIONS)
    : (policy.securityOptions ?? DEFAULT_SASL_SECURITY_OPTIONS);
  const preference = policy.mechanisms ?? ['PLAIN', 'LOGIN'];
  const mechanism = preference.find((m) => candidates.includes(m) && allowedBy(m, options));
  return mechanism === undefined
    ? { kind: 'no-mechanism', offered: candidates }
    : { kind: 'mechanism', mechanism };
}
