import { X509Certificate } from 'node:crypto';
import { createServer, type Server, connect as tlsConnect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { makeTestPki, type TestCert } from '../../support/certs.ts';

const HOST = 'mx.pki.test';

async function handshake(
  cert: TestCert,
  ca: string,
  servername = HOST,
): Promise<{ ok: boolean; code?: string }> {
  const server: Server = createServer({ key: cert.key, cert: cert.cert }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  try {
    return await new Promise((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port, servername, ca: [ca] });
      s.once('secureConnect', () => {
        s.destroy();
        resolve({ ok: true });
      });
      s.once('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, code: err.code ?? err.message }));
    });
  } finally {
    server.close();
  }
}

describe('makeTestPki', () => {
  it('makes certificates that verify (or fail) as named', async () => {
    const pki = await makeTestPki(HOST);
    expect(await handshake(pki.valid, pki.caCert)).toEqual({ ok: true });
    expect(await handshake(pki.expired, pki.caCert)).toEqual({ ok: false, code: 'CERT_HAS_EXPIRED' });
    expect(await handshake(pki.wrongName, pki.caCert)).toEqual({
      ok: false,
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
    const untrusted = await handshake(pki.untrustedCa, pki.caCert);
    expect(untrusted.ok).toBe(false);
    expect(untrusted.code).toMatch(/UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    expect(await handshake(pki.selfSigned, pki.caCert)).toEqual({
      ok: false,
      code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    });
    // The self-signed certificate is its own anchor.
    expect(await handshake(pki.selfSigned, pki.selfSigned.cert)).toEqual({ ok: true });
  });

  it('gives SHA-256 fingerprints of the DER cert and public key, and caches by hostname', async () => {
    const pki = await makeTestPki(HOST);
    const x = new X509Certificate(pki.valid.cert);
    expect(pki.valid.fingerprintSha256).toBe(x.fingerprint256.replace(/:/g, '').toLowerCase());
    expect(pki.valid.pubkeySha256).toMatch(/^[0-9a-f]{64}$/);
    expect(pki.valid.pubkeySha256).not.toBe(pki.valid.fingerprintSha256);
    expect(pki.valid.pubkeySha256).not.toBe(pki.expired.pubkeySha256);
    expect(x.subjectAltName).toBe(`DNS:${HOST}`);
    expect(new X509Certificate(pki.wrongName.cert).subjectAltName).toBe('DNS:other.invalid');
    expect(new Date(new X509Certificate(pki.expired.cert).validTo).getTime()).toBeLessThan(Date.now());
    expect(await makeTestPki(HOST.toUpperCase())).toBe(pki);
  });
});
