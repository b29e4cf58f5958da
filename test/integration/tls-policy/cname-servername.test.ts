/**
 * smtpCnameOverridesServername (Postfix smtp_cname_overrides_servername): with the option, a
 * CNAME'd MX host is named by the end of its CNAME chain (relay=, TLS verify name); without it,
 * by the MX target (spec §3.1, scenario 30). Real DNS server and SMTP peer on loopback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeTestPki } from '../../support/certs.ts';
import type { Scene } from '../attempt/harness.ts';
import { rcpt, request, scene } from '../attempt/harness.ts';

const zone = (addr: (n: number) => string) => ({
  'example.test': { MX: [[10, 'mx1.example.test']] as Array<[number, string]> },
  'mx1.example.test': { CNAME: 'alias.test' },
  'alias.test': { CNAME: 'real.test' },
  'real.test': { A: [addr(9)] },
});

let s: Scene | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

describe('smtpCnameOverridesServername', () => {
  it('off: relay names the MX target; on: the canonical name (two CNAME hops)', async () => {
    s = await scene(zone);
    await s.peer(9);
    const off = await s.agent().agent.deliver(request());
    expect(rcpt(off, 0)).toMatchObject({ status: 'sent', relay: `mx1.example.test[${s.addr(9)}]:25` });
    const on = await s.agent({ smtpCnameOverridesServername: true }).agent.deliver(request());
    expect(rcpt(on, 0)).toMatchObject({ status: 'sent', relay: `real.test[${s.addr(9)}]:25` });
  });

  it('verify checks the certificate against the canonical name when on', async () => {
    const pki = await makeTestPki('real.test');
    s = await scene(zone);
    await s.peer(9, { tls: pki.valid });
    const opts = { smtpTlsSecurityLevel: 'verify' as const, smtpTlsCAfile: [pki.caCert] };
    const off = await s.agent(opts).agent.deliver(request());
    expect(rcpt(off, 0)).toMatchObject({ status: 'deferred', diagnostic: 'Server certificate not verified' });
    const on = await s.agent({ ...opts, smtpCnameOverridesServername: true }).agent.deliver(request());
    expect(rcpt(on, 0)).toMatchObject({ status: 'sent' });
  });
});
