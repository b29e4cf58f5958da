/**
 * A throw-away redis-server for integration tests: 127.0.0.1, a free port, its own temp dir.
 *
 * Decides: `appendonly yes` (unless opts.appendonly === false) and `--save ""` (no RDB snapshots)
 * unless opts.args passes its own `--save`; extra args are appended. With `tls`: TLS only
 * (`--port 0`, `--tls-port` on the free port) with the test PKI of 127.0.0.1 (certs.ts) written
 * under the dir (ca.crt, server.crt/key, a client.crt/key signed by the same CA and an
 * other-ca.crt/key signed by another), `tls-auth-clients` as asked (default yes), and a rediss://
 * url. With `acl`: these lines become the ACL file (`--aclfile`). Resolves once the server answers
 * PING (+PONG, or -NOAUTH when the default user is off).
 * stop() kills the process (SIGKILL after a short grace) and removes the dir.
 * Never: touches a shared Redis, binds beyond 127.0.0.1, or leaves the dir behind after stop().
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { makeTestPki } from './certs.ts';
import { freePort } from './net-util.ts';

export interface RedisTlsFiles {
  /** The CA that signed the server's and the client's certificates. */
  caFile: string;
  /** A client certificate and key signed by that CA (SAN IP:127.0.0.1). */
  certFile: string;
  keyFile: string;
  /** A client certificate and key signed by another CA (refused by the server). */
  otherCertFile: string;
  otherKeyFile: string;
  /** The PEM texts of the CA, client cert and key (for ioredis `tls` options). */
  ca: string;
  cert: string;
  key: string;
}

export interface RedisHandle {
  host: string;
  port: number;
  /** redis://127.0.0.1:PORT, or rediss://127.0.0.1:PORT with `tls` (no credentials, no query). */
  url: string;
  dir: string;
  pid: number;
  /** Set with `tls`: the files under dir. */
  tls?: RedisTlsFiles;
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  appendonly?: boolean;
  args?: string[];
  /** TLS only (`--port 0`); `authClients` is tls-auth-clients (default yes: a client certificate is required). */
  tls?: { authClients?: 'yes' | 'no' | 'optional' };
  /** Lines of the ACL file (e.g. `user default off`, `user admin on >pw ~* &* +@all`). */
  acl?: string[];
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;

function ping(port: number, tls: RedisTlsFiles | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const s: Socket =
      tls === undefined
        ? connect({ host: HOST, port })
        : tlsConnect({ host: HOST, port, ca: tls.ca, cert: tls.cert, key: tls.key });
    let data = '';
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.on('error', () => done(false));
    s.on(tls === undefined ? 'connect' : 'secureConnect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      data += d.toString();
      if (data.includes('\r\n')) done(data.startsWith('+PONG') || data.startsWith('-NOAUTH'));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitReady(
  proc: ChildProcess,
  port: number,
  tls: RedisTlsFiles | undefined,
  stderr: () => string,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited (${proc.exitCode}): ${stderr()}`);
    if (await ping(port, tls)) return;
    await sleep(25);
  }
  throw new Error(`redis-server on port ${port} did not answer PING: ${stderr()}`);
}

function killAndWait(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => proc.kill('SIGKILL'), 2000);
    proc.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

/** The test PKI of 127.0.0.1 as files under dir. */
async function writeTlsFiles(dir: string): Promise<RedisTlsFiles> {
  const pki = await makeTestPki(HOST);
  const f = (name: string) => join(dir, name);
  const files: Array<[string, string]> = [
    ['ca.crt', pki.caCert],
    ['server.crt', pki.valid.cert],
    ['server.key', pki.valid.key],
    ['client.crt', pki.valid.cert],
    ['client.key', pki.valid.key],
    ['other-ca.crt', pki.untrustedCa.cert],
    ['other-ca.key', pki.untrustedCa.key],
  ];
  for (const [name, text] of files) await writeFile(f(name), text, { mode: 0o600 });
  return {
    caFile: f('ca.crt'),
    certFile: f('client.crt'),
    keyFile: f('client.key'),
    otherCertFile: f('other-ca.crt'),
    otherKeyFile: f('other-ca.key'),
    ca: pki.caCert,
    cert: pki.valid.cert,
    key: pki.valid.key,
  };
}

/** Start redis-server (from PATH). Retries a few ports if one is taken in between. */
export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'mxq-redis-'));
  const extra = opts.args ?? [];
  const tls = opts.tls === undefined ? undefined : await writeTlsFiles(dir);
  if (opts.acl !== undefined)
    await writeFile(join(dir, 'users.acl'), `${opts.acl.join('\n')}\n`, { mode: 0o600 });
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const args = ['--bind', HOST, '--dir', dir, '--daemonize', 'no'];
    if (tls === undefined) args.push('--port', String(port));
    else {
      args.push('--port', '0', '--tls-port', String(port));
      args.push('--tls-cert-file', join(dir, 'server.crt'), '--tls-key-file', join(dir, 'server.key'));
      args.push('--tls-ca-cert-file', tls.caFile, '--tls-auth-clients', opts.tls?.authClients ?? 'yes');
    }
    if (opts.acl !== undefined) args.push('--aclfile', join(dir, 'users.acl'));
    args.push('--appendonly', opts.appendonly === false ? 'no' : 'yes');
    if (!extra.includes('--save')) args.push('--save', '');
    args.push(...extra);
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    proc.stdout?.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-4000);
    });
    proc.stderr?.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-4000);
    });
    try {
      await waitReady(proc, port, tls, () => log);
    } catch (err) {
      await killAndWait(proc);
      if (attempt < 4 && /in use/i.test(log)) continue;
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return {
      host: HOST,
      port,
      url: `${tls === undefined ? 'redis' : 'rediss'}://${HOST}:${port}`,
      dir,
      pid: proc.pid ?? 0,
      ...(tls !== undefined ? { tls } : {}),
      async stop() {
        await killAndWait(proc);
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error('redis-server: no free port');
}
