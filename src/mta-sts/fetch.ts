/**
 * The HTTPS fetch of an MTA-STS policy file (RFC 8461 §3.3):
 * `https://mta-sts.<domain>/.well-known/mta-sts.txt`.
 *
 * Decides: the policy host's address (A, then AAAA, through the configured DNS, so tests and
 * split-horizon set-ups see the same names as delivery); the request (GET, no keep-alive, SNI and
 * Host = the policy host); the checks, each failure a defect text for the log: the certificate
 * must chain to the trust store (smtpTlsCAfile when set, else Node's) and name the policy host;
 * status 200 only (a redirect is never followed, §3.3); media type text/plain; at most
 * `maxBytes` (64 KiB) of body, cut off the moment it is exceeded; one deadline for the whole fetch
 * (connect, headers and body), so a stalled host cannot hold a delivery longer than `timeoutMs`.
 * Never: parses the policy (core/mta-sts.ts), caches, retries.
 */
import https from 'node:https';
import tls from 'node:tls';
import type { DnsPort } from '../core/ports.ts';

export const STS_POLICY_PATH = '/.well-known/mta-sts.txt';
export const STS_MAX_POLICY_BYTES = 64 * 1024;

export interface StsFetchParams {
  domain: string;
  dns: DnsPort;
  /** PEM trust anchors; empty = Node's CA store. */
  ca: string[];
  timeoutMs: number;
  maxBytes?: number;
  /** HTTPS port; 443 except in tests that cannot bind it. */
  port?: number;
  signal?: AbortSignal;
}

export type StsFetchResult = { ok: true; text: string } | { ok: false; defect: string };

async function policyHostAddress(p: StsFetchParams, host: string): Promise<string | undefined> {
  for (const type of ['A', 'AAAA'] as const) {
    const a = await p.dns.lookup(host, type, p.signal);
    if (a.class === 'OK' && (a.type === 'A' || a.type === 'AAAA') && a.addresses[0] !== undefined)
      return a.addresses[0];
  }
  return undefined;
}

function get(p: StsFetchParams, host: string, address: string): Promise<StsFetchResult> {
  const maxBytes = p.maxBytes ?? STS_MAX_POLICY_BYTES;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: StsFetchResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      p.signal?.removeEventListener('abort', onAbort);
      req.destroy();
      resolve(r);
    };
    const req = https.request({
      host: address,
      port: p.port ?? 443,
      path: STS_POLICY_PATH,
      method: 'GET',
      servername: host,
      headers: { host, 'user-agent': 'mxq-mta-sts' },
      agent: false,
      rejectUnauthorized: true,
      checkServerIdentity: (_name, cert) => tls.checkServerIdentity(host, cert),
      ...(p.ca.length > 0 ? { ca: p.ca } : {}),
    });
    const timer = setTimeout(
      () => finish({ ok: false, defect: `no complete answer within ${p.timeoutMs} ms` }),
      p.timeoutMs,
    );
    const onAbort = (): void => finish({ ok: false, defect: 'aborted' });
    p.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e: NodeJS.ErrnoException) =>
      finish({ ok: false, defect: `HTTPS fetch failed: ${e.code ?? e.message}` }),
    );
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400)
        return finish({ ok: false, defect: `redirect (HTTP ${status}) not followed` });
      if (status !== 200) return finish({ ok: false, defect: `HTTP status ${status}` });
      const type = (res.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      if (type !== 'text/plain')
        return finish({ ok: false, defect: `content type "${type ?? ''}" is not text/plain` });
      const declared = Number(res.headers['content-length'] ?? '0');
      if (declared > maxBytes) return finish({ ok: false, defect: `policy larger than ${maxBytes} bytes` });
      const chunks: Buffer[] = [];
      let total = 0;
      res.on('data', (c: Buffer) => {
        total += c.length;
        if (total > maxBytes) return finish({ ok: false, defect: `policy larger than ${maxBytes} bytes` });
        chunks.push(c);
      });
      res.on('end', () => finish({ ok: true, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => finish({ ok: false, defect: 'connection lost while reading the policy' }));
    });
    req.end();
  });
}

/** Fetch the policy text for a domain; every failure is a defect, never a throw. */
export async function fetchStsPolicy(p: StsFetchParams): Promise<StsFetchResult> {
  const host = `mta-sts.${p.domain}`;
  const address = await policyHostAddress(p, host);
  if (address === undefined) return { ok: false, defect: `no address for ${host}` };
  return get(p, host, address);
}
