/**
 * Connection-cache labels (Postfix smtp_key.c, spec §6.1): the dest label (logical: request
 * next-hop → session) and the endpoint label (physical: address and port).
 *
 * Decides: which facts keep cached sessions apart. Each field is followed by "\n"; an absent
 * field is "*"; a field that contains "\n" or "*" is base64-encoded (UTF-8), so "*" always means
 * absent and labels cannot be forged by field contents. Fields keep fixed positions ("*" rather
 * than omission) so that two label shapes can never collide.
 *
 * Extra field (mxq): `saslIdentity`, a hash of the SASL username (never the password), appended
 * to the endpoint label when given, so that sessions authenticated as different users never mix.
 * Postfix instead adds the next-hop and host name whenever smtp_sasl_password_maps is set and
 * relies on one credential per next-hop; callers should still pass `nexthop` and `host` when SASL
 * maps are set or the TLS level matches certificates (> encrypt): see `endpointNeedsNexthop`.
 * Never: looks at sockets or the cache itself; hashes passwords.
 */

import { utf8Bytes } from './dsn.ts';
import type { Endpoint, RequireTlsPolicy, TlsLevel } from './types.ts';
import { TLS_LEVEL_NUMBER } from './types.ts';

export const REQUIRETLS_LEVEL_NUMBER: Readonly<Record<RequireTlsPolicy, number>> = {
  disable: 0,
  opportunistic: 1,
  'opportunistic+starttls': 2,
  enforce: 3,
};

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 of the UTF-8 bytes of `s`. */
export function base64Utf8(s: string): string {
  const bytes = utf8Bytes(s);
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i] ?? 0;
    const b = bytes[i + 1];
    const c = bytes[i + 2];
    const n = (a << 16) | ((b ?? 0) << 8) | (c ?? 0);
    out += B64[(n >> 18) & 63];
    out += B64[(n >> 12) & 63];
    out += b === undefined ? '=' : B64[(n >> 6) & 63];
    out += c === undefined ? '=' : B64[n & 63];
  }
  return out;
}

/** One label field with its "\n" terminator. */
function field(value: string | number | undefined): string {
  if (value === undefined) return '*\n';
  const s = String(value);
  return s.includes('\n') || s.includes('*') ? `${base64Utf8(s)}\n` : `${s}\n`;
}

/** Postfix: the endpoint label carries the next-hop when SASL maps are set or the level matches certificates. */
export function endpointNeedsNexthop(tlsLevel: TlsLevel, saslMapsSet: boolean): boolean {
  return saslMapsSet || TLS_LEVEL_NUMBER[tlsLevel] > TLS_LEVEL_NUMBER.encrypt;
}

export interface DestLabelParams {
  /** Transport name, e.g. "smtp" or "lmtp" (Postfix: the master.cf service name). */
  service: string;
  /** Request next-hop exactly as in the request (with [] and :port). */
  requestNexthop: string;
  tlsLevel: TlsLevel;
  requireTls: RequireTlsPolicy;
  smtputf8Required: boolean;
  /** Only under sender-dependent authentication. */
  sender?: string;
}

/** service · sender · request next-hop · TLS level · REQUIRETLS level · SMTPUTF8 (0/1). */
export function destLabel(p: DestLabelParams): string {
  return (
    field(p.service) +
    field(p.sender) +
    field(p.requestNexthop) +
    field(TLS_LEVEL_NUMBER[p.tlsLevel]) +
    field(REQUIRETLS_LEVEL_NUMBER[p.requireTls]) +
    field(p.smtputf8Required ? 1 : 0)
  );
}

export interface EndpointLabelParams {
  service: string;
  endpoint: Endpoint;
  tlsLevel: TlsLevel;
  requireTls: RequireTlsPolicy;
  smtputf8Required: boolean;
  /** Current next-hop (see endpointNeedsNexthop). */
  nexthop?: string;
  /** Server host name (when SASL maps are set). */
  host?: string;
  sender?: string;
  /** saslIdentityFor(username), when the session authenticates. */
  saslIdentity?: string;
}

/** service · sender · next-hop · host · address · port · TLS · REQUIRETLS · SMTPUTF8 [· SASL identity]. */
export function endpointLabel(p: EndpointLabelParams): string {
  const base =
    field(p.service) +
    field(p.sender) +
    field(p.nexthop) +
    field(p.host) +
    field(p.endpoint.address) +
    field(p.endpoint.port) +
    field(TLS_LEVEL_NUMBER[p.tlsLevel]) +
    field(REQUIRETLS_LEVEL_NUMBER[p.requireTls]) +
    field(p.smtputf8Required ? 1 : 0);
  return p.saslIdentity === undefined ? base : base + field(p.saslIdentity);
}

// SHA-256 (FIPS 180-4), pure, for saslIdentityFor. Inputs are short strings.
const K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
];

const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n));

/** SHA-256 of the UTF-8 bytes of `s`, lower-case hex. */
export function sha256Hex(s: string): string {
  const bytes = utf8Bytes(s);
  const bitLength = bytes.length * 8;
  bytes.push(0x80);
  while (bytes.length % 64 !== 56) bytes.push(0);
  const hi = Math.floor(bitLength / 2 ** 32);
  for (const word of [hi, bitLength >>> 0])
    bytes.push((word >>> 24) & 255, (word >>> 16) & 255, (word >>> 8) & 255, word & 255);
  const h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
  const w = new Array<number>(64).fill(0);
  for (let off = 0; off < bytes.length; off += 64) {
    for (let i = 0; i < 16; i++) {
      const j = off + i * 4;
      w[i] =
        (((bytes[j] ?? 0) << 24) |
          ((bytes[j + 1] ?? 0) << 16) |
          ((bytes[j + 2] ?? 0) << 8) |
          (bytes[j + 3] ?? 0)) >>>
        0;
    }
    for (let i = 16; i < 64; i++) {
      const w15 = w[i - 15] ?? 0;
      const w2 = w[i - 2] ?? 0;
      const s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >>> 3);
      const s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >>> 10);
      w[i] = ((w[i - 16] ?? 0) + s0 + (w[i - 7] ?? 0) + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h as [number, number, number, number, number, number, number, number];
    for (let i = 0; i < 64; i++) {
      const t1 =
        (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + (K[i] ?? 0) + (w[i] ?? 0)) >>>
        0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    const next = [a, b, c, d, e, f, g, hh];
    for (let i = 0; i < 8; i++) h[i] = ((h[i] ?? 0) + (next[i] ?? 0)) >>> 0;
  }
  return h.map((x) => x.toString(16).padStart(8, '0')).join('');
}

/** The SASL identity field for endpoint labels: a SHA-256 digest of the username (never the password). */
export function saslIdentityFor(username: string): string {
  return `sasl:${sha256Hex(`mxq-sasl-user\n${username}`).slice(0, 32)}`;
}
