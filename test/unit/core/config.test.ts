import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS, resolveOptions } from '../../../src/core/options.ts';
import { checkOptionValue, loadConfigFile, parseConfigObject } from '../../../src/runtime/config.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mxq-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

describe('loadConfigFile', () => {
  it('reads a valid file with every kind of value', async () => {
    const config = {
      myhostname: 'mx.mxq.test',
      dnsServers: ['127.0.0.1:5353'],
      smtpTcpPort: '2525',
      inetInterfaces: ['127.0.0.1'],
      smtpMxAddressLimit: 3,
      smtpRandomizeAddresses: false,
      smtpConnectTimeout: '5s',
      smtpRsetTimeout: 2,
      inetProtocols: 'ipv4',
      smtpTlsSecurityLevel: 'none',
      smtpTlsPolicyMaps: { 'example.test': { level: 'verify', match: ['hostname'], connectionReuse: true } },
      smtpRequiretlsPolicy: { '*': 'opportunistic' },
      smtpSaslPasswordMaps: { '[relay.test]:587': { username: 'u', password: 'p' } },
      knownTcpPorts: { smtp: 25, custom: 2600 },
      smtpFallbackRelay: ['[fb.test]'],
    };
    const path = await write('good.json', JSON.stringify(config));
    const input = await loadConfigFile(path);
    expect(input).toEqual(config);
    expect(resolveOptions(input).smtpConnectTimeout).toBe(5000);
  });
  it('an unknown key names the key and the file', async () => {
    const path = await write('unknown.json', JSON.stringify({ myhostname: 'x', smtpMxAddresLimit: 3 }));
    await expect(loadConfigFile(path)).rejects.toThrow(`${path}: unknown option "smtpMxAddresLimit"`);
  });
  it('a badly typed value names the key', async () => {
    const path = await write('bad.json', JSON.stringify({ smtpMxAddressLimit: 'five' }));
    await expect(loadConfigFile(path)).rejects.toThrow(/bad value for option "smtpMxAddressLimit"/);
  });
  it('invalid JSON, a non-object and a missing file are clear errors', async () => {
    await expect(loadConfigFile(await write('broken.json', '{ "a": '))).rejects.toThrow(/invalid JSON/);
    await expect(loadConfigFile(await write('list.json', '[]'))).rejects.toThrow(/must be a JSON object/);
    await expect(loadConfigFile(join(dir, 'missing.json'))).rejects.toThrow(/cannot read configuration/);
  });
});

describe('checkOptionValue', () => {
  it.each([
    ['smtpConnectTimeout', 'soon'],
    ['smtpConnectTimeout', true],
    ['inetProtocols', 'ipv5'],
    ['smtpTlsSecurityLevel', 'halfdane'],
    ['dnsServers', '127.0.0.1'],
    ['dnsServers', [1]],
    ['smtpRandomizeAddresses', 'yes'],
    ['smtpMxSessionLimit', -1],
    ['myhostname', 5],
    ['knownTcpPorts', { smtp: 0 }],
    ['smtpRequiretlsPolicy', { x: 'always' }],
    ['smtpSaslPasswordMaps', { x: { username: 'u' } }],
    ['smtpTlsPolicyMaps', { x: { level: 'bogus' } }],
    ['smtpTlsPolicyMaps', { x: { level: 'may', ciphers: 'high' } }],
    ['smtpTlsPolicyMaps', { x: { level: 'verify', match: 'hostname' } }],
    ['smtpTlsPolicyMaps', []],
  ])('%s = %j is refused', (key, value) => {
    expect(checkOptionValue(key, value)).toMatch(new RegExp(key.replace(/[[\]]/g, '')));
  });
  it('every default value passes its own check', () => {
    for (const [key, value] of Object.entries(DEFAULT_OPTIONS))
      expect(checkOptionValue(key, value), key).toBeUndefined();
  });
  it('durations are exactly the options resolveOptions converts', () => {
    const resolved = resolveOptions({}) as Record<string, unknown>;
    for (const [key, value] of Object.entries(DEFAULT_OPTIONS)) {
      const isDuration = typeof value === 'string' && typeof resolved[key] === 'number';
      expect(checkOptionValue(key, 60) === undefined && checkOptionValue(key, '1m') === undefined, key).toBe(
        isDuration,
      );
    }
  });
  it('parseConfigObject names the source', () => {
    expect(() => parseConfigObject({ nope: 1 }, 'inline')).toThrow('inline: unknown option "nope"');
  });
});
