/**
 * Test PKI made at test time with the openssl CLI: EC P-256 keys, a CA, and server certificates
 * for one hostname in the ways TLS tests need them (valid, self-signed, expired, wrong name,
 * signed by a CA the client does not know).
 *
 * Decides: SAN = the hostname (IP: for an IP literal); validity 825 days from now except
 * `expired` (2020-01-01 .. 2020-01-02, made with `openssl ca -startdate/-enddate` because
 * openssl 3.0 `x509` has no -not_before/-not_after); fingerprints are SHA-256 (lower hex, no
 * colons) of the DER certificate and of its DER SubjectPublicKeyInfo. Results are cached per
 * process by hostname (the one deliberate piece of module state); the work dir is removed.
 * Never: writes outside its temp dir or touches any system trust store.
 */
import { execFile } from 'node:child_process';
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type TestCert = {
  key: string;
  cert: string;
  /** SHA-256 of the DER certificate: lower-case hex, no colons. */
  fingerprintSha256: string;
  /** SHA-256 of the DER SubjectPublicKeyInfo: lower-case hex, no colons. */
  pubkeySha256: string;
};
export interface TestPki {
  caCert: string;
  valid: TestCert;
  selfSigned: TestCert;
  expired: TestCert;
  wrongName: TestCert;
  /** Signed by a second CA that is not caCert. */
  untrustedCa: TestCert;
}

const CACHE = new Map<string, Promise<TestPki>>();
const DAYS = '825';

const openssl = async (dir: string, args: string[]): Promise<void> => {
  await run('openssl', args, { cwd: dir });
};

export function certFingerprints(certPem: string): { fingerprintSha256: string; pubkeySha256: string } {
  const x = new X509Certificate(certPem);
  const spki = createPublicKey(certPem).export({ type: 'spki', format: 'der' });
  return {
    fingerprintSha256: createHash('sha256').update(x.raw).digest('hex'),
    pubkeySha256: createHash('sha256').update(spki).digest('hex'),
  };
}

const san = (name: string): string => (isIP(name) ? `IP:${name}` : `DNS:${name}`);

async function newKey(dir: string, name: string): Promise<string> {
  await openssl(dir, [
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-out',
    `${name}.key`,
  ]);
  return join(dir, `${name}.key`);
}

async function makeCa(dir: string, name: string, cn: string): Promise<void> {
  await newKey(dir, name);
  await openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-key',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '3650',
    '-subj',
    `/CN=${cn}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

async function extFile(dir: string, name: string, host: string): Promise<string> {
  const file = join(dir, `${name}.ext`);
  await writeFile(
    file,
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${san(host)}\n`,
  );
  return file;
}

async function readCert(dir: string, name: string): Promise<TestCert> {
  const key = await readFile(join(dir, `${name}.key`), 'utf8');
  const cert = await readFile(join(dir, `${name}.crt`), 'utf8');
  return { key, cert, ...certFingerprints(cert) };
}

/** A leaf for `host` signed by CA `ca` (file stem in dir). */
async function leaf(dir: string, name: string, host: string, ca: string): Promise<TestCert> {
  await newKey(dir, name);
  await openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${host}`, '-out', `${name}.csr`]);
  const ext = await extFile(dir, name, host);
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-set_serial',
    String(Date.now() % 1e12),
    '-days',
    DAYS,
    '-sha256',
    '-extfile',
    ext,
    '-out',
    `${name}.crt`,
  ]);
  return readCert(dir, name);
}

async function selfSigned(dir: string, host: string): Promise<TestCert> {
  await newKey(dir, 'self');
  await openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-key',
    'self.key',
    '-out',
    'self.crt',
    '-days',
    DAYS,
    '-subj',
    `/CN=${host}`,
    '-addext',
    `subjectAltName=${san(host)}`,
  ]);
  return readCert(dir, 'self');
}

/** Signed by the CA, valid 2020-01-01 .. 2020-01-02 (via `openssl ca`, which takes explicit dates). */
async function expired(dir: string, host: string): Promise<TestCert> {
  await newKey(dir, 'expired');
  await openssl(dir, ['req', '-new', '-key', 'expired.key', '-subj', `/CN=${host}`, '-out', 'expired.csr']);
  await writeFile(join(dir, 'index.txt'), '');
  await writeFile(join(dir, 'serial'), '1000\n');
  const conf = [
    '[ca]',
    'default_ca = test',
    '[test]',
    `dir = ${dir}`,
    'database = $dir/index.txt',
    'serial = $dir/serial',
    'new_certs_dir = $dir',
    'default_md = sha256',
    'policy = any',
    'unique_subject = no',
    'copy_extensions = none',
    '[any]',
    'commonName = supplied',
  ].join('\n');
  await writeFile(join(dir, 'ca.cnf'), `${conf}\n`);
  const ext = await extFile(dir, 'expired', host);
  await openssl(dir, [
    'ca',
    '-batch',
    '-config',
    'ca.cnf',
    '-cert',
    'ca.crt',
    '-keyfile',
    'ca.key',
    '-in',
    'expired.csr',
    '-out',
    'expired.crt',
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200102000000Z',
    '-extfile',
    ext,
    '-notext',
  ]);
  return readCert(dir, 'expired');
}

async function build(hostname: string): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'mxq-pki-'));
  try {
    await makeCa(dir, 'ca', 'mxq test CA');
    await makeCa(dir, 'ca2', 'mxq untrusted test CA');
    const valid = await leaf(dir, 'valid', hostname, 'ca');
    const wrongName = await leaf(dir, 'wrong', 'other.invalid', 'ca');
    const untrustedCa = await leaf(dir, 'untrusted', hostname, 'ca2');
    const self = await selfSigned(dir, hostname);
    const old = await expired(dir, hostname);
    const caCert = await readFile(join(dir, 'ca.crt'), 'utf8');
    return { caCert, valid, selfSigned: self, expired: old, wrongName, untrustedCa };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The PKI for `hostname` (made once per process). */
export function makeTestPki(hostname: string): Promise<TestPki> {
  const key = hostname.toLowerCase();
  const hit = CACHE.get(key);
  if (hit !== undefined) return hit;
  const made = build(key);
  CACHE.set(key, made);
  made.catch(() => CACHE.delete(key));
  return made;
}
