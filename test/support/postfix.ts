/**
 * Postfix's independent test tools (smtp-sink, smtp-source, posttls-finger) for interop tests.
 *
 * Decides: where the tools live: env MXQ_POSTFIX_ROOT, else <repo>/.cache/postfix when it has
 * the tool, else /opt/setup/pf; binaries under <root>/usr/sbin, libraries under
 * <root>/usr/lib/postfix (LD_LIBRARY_PATH). smtp-sink runs with `-u nobody` when we are root,
 * `-L` for LMTP, `unix:/path` for a unix socket, and is waited for until it accepts connections.
 * Tools that read main.cf (posttls-finger) get MAIL_CONFIG = <root>/etc/postfix when it has a
 * main.cf, else a minimal generated one in $TMPDIR/mxq-postfix-config (mail_owner and
 * setgid_group picked from existing system accounts); an existing MAIL_CONFIG is kept.
 * posttls-finger (like other Postfix tools) writes its transcript to stderr only when stderr is a
 * terminal, so runPostfixTool() runs tools under `script` (a pty) when /usr/bin/script exists.
 * Never: installs or configures a Postfix instance, or listens beyond what it is given.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForListen } from './net-util.ts';

export type PostfixToolName = 'smtp-sink' | 'smtp-source' | 'posttls-finger';

const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const FALLBACK_ROOT = '/opt/setup/pf';

/** The Postfix root in use (see the header). */
export function postfixRoot(): string {
  const fromEnv = process.env.MXQ_POSTFIX_ROOT;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const cached = join(REPO_ROOT, '.cache', 'postfix');
  if (existsSync(join(cached, 'usr', 'sbin', 'smtp-sink'))) return cached;
  return FALLBACK_ROOT;
}

/** Path of a tool and the environment to run it with. Throws when the binary is missing. */
export function postfixTool(name: PostfixToolName): { path: string; env: NodeJS.ProcessEnv } {
  const root = postfixRoot();
  const path = join(root, 'usr', 'sbin', name);
  if (!existsSync(path)) throw new Error(`${name} not found at ${path} (set MXQ_POSTFIX_ROOT)`);
  const lib = join(root, 'usr', 'lib', 'postfix');
  const prev = process.env.LD_LIBRARY_PATH;
  const env: NodeJS.ProcessEnv = { ...process.env, LD_LIBRARY_PATH: prev ? `${lib}:${prev}` : lib };
  if (!process.env.MAIL_CONFIG) env.MAIL_CONFIG = mailConfigDir(root);
  return { path, env };
}

function accounts(file: string): Array<{ name: string; gid: number }> {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .map((l) => l.split(':'))
      .filter((f) => f.length > 3)
      .map((f) => ({ name: f[0] ?? '', gid: Number(file.endsWith('passwd') ? f[3] : f[2]) }));
  } catch {
    return [];
  }
}

/** A config dir with a main.cf that Postfix's tools accept outside a Postfix installation. */
function mailConfigDir(root: string): string {
  const own = join(root, 'etc', 'postfix');
  if (existsSync(join(own, 'main.cf'))) return own;
  const users = accounts('/etc/passwd');
  const groups = accounts('/etc/group');
  const nobodyGid = users.find((u) => u.name === 'nobody')?.gid ?? 65534;
  const owner = ['postfix', 'daemon', 'bin', 'sys']
    .map((n) => users.find((u) => u.name === n))
    .find((u) => u);
  const group = ['postdrop', 'adm', 'mail', 'sys', 'tty']
    .map((n) => groups.find((g) => g.name === n))
    .find((g) => g && g.gid !== nobodyGid && g.gid !== owner?.gid);
  const dir = join(tmpdir(), 'mxq-postfix-config');
  const text =
    `mail_owner = ${owner?.name ?? 'daemon'}\nsetgid_group = ${group?.name ?? 'adm'}\n` +
    'compatibility_level = 3.6\nsmtp_tls_loglevel = 1\n';
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'main.cf');
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return dir;
  const tmp = `${file}.${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file); // atomic: parallel test forks never see a half-written main.cf
  return dir;
}

export interface SmtpSinkHandle {
  host: string;
  /** 0 for a unix socket. */
  port: number;
  unixPath?: string;
  /** What smtp-sink printed (stdout+stderr, last 8 KB), for diagnostics. */
  output(): string;
  stop(): Promise<void>;
}

function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const t = setTimeout(() => proc.kill('SIGKILL'), 2000);
    proc.once('exit', () => {
      clearTimeout(t);
      done();
    });
    proc.kill('SIGTERM');
  });
}

/** Start smtp-sink (extra `args` go before the address; e.g. ['-c'] or ['-h', 'sink.test']). */
export async function startSmtpSink(
  opts: { host?: string; port?: number; lmtp?: boolean; unixPath?: string; args?: string[] } = {},
): Promise<SmtpSinkHandle> {
  const tool = postfixTool('smtp-sink');
  const host = opts.host ?? '127.0.0.1';
  const port = opts.unixPath !== undefined ? 0 : (opts.port ?? (await freePort(host)));
  const args: string[] = [];
  if (process.getuid?.() === 0) args.push('-u', 'nobody');
  if (opts.lmtp) args.push('-L');
  args.push(...(opts.args ?? []));
  const hostPart = host.includes(':') ? `[${host}]` : host;
  args.push(opts.unixPath !== undefined ? `unix:${opts.unixPath}` : `${hostPart}:${port}`, '100');
  const proc = spawn(tool.path, args, { env: tool.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-8192);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const target = opts.unixPath !== undefined ? { path: opts.unixPath } : { host, port };
  try {
    await waitForListen(target, 10_000, () => proc.exitCode === null);
  } catch (err) {
    await stopProcess(proc);
    throw new Error(`smtp-sink did not start: ${(err as Error).message}\n${out}`);
  }
  const handle: SmtpSinkHandle = { host, port, output: () => out, stop: () => stopProcess(proc) };
  if (opts.unixPath !== undefined) handle.unixPath = opts.unixPath;
  return handle;
}

const shellQuote = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;

/**
 * Run a tool to completion (killed after timeoutMs, default 20 s) and return its exit code and
 * combined output (CRLF normalised). Under a pty when `script` is available (see header).
 */
export function runPostfixTool(
  name: PostfixToolName,
  args: string[],
  opts: { timeoutMs?: number } = {},
): Promise<{ code: number | null; output: string }> {
  const tool = postfixTool(name);
  const usePty = existsSync('/usr/bin/script');
  const cmd = usePty ? '/usr/bin/script' : tool.path;
  const argv = usePty ? ['-qfec', [tool.path, ...args].map(shellQuote).join(' '), '/dev/null'] : args;
  const proc = spawn(cmd, argv, { env: tool.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
  return new Promise((resolve) => {
    proc.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: out.replace(/\r\n/g, '\n') });
    });
  });
}
