/**
 * `mxq smtp-probe`: talk to one SMTP/LMTP server with the mxq engine and show the conversation,
 * like Postfix's posttls-finger or swaks: `<-` server lines, `->` client lines, `**` notes
 * (TLS facts, results). Without --from it greets, negotiates TLS/AUTH and QUITs.
 *
 * Decides: how the command line maps to one endpoint and one HandshakeParams, how the transcript
 * is printed, and the exit code (0 ok, 75 soft failure, 69 hard failure, 64 usage).
 * Never: prints credentials (the password comes from MXQ_PROBE_PASSWORD and every AUTH exchange
 * line is masked here even though the engine masks it too); looks up MX records (the target is
 * one host, like a bracketed next-hop).
 */
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { normalizedSize } from '../core/message-size.ts';
import { resolveOptions } from '../core/options.ts';
import type { HandshakeParams, SmtpSession, StageTimeoutsMs, TlsSettings } from '../core/ports.ts';
import type { DeliveryFailure, Endpoint, Protocol, TlsLevel } from '../core/types.ts';
import { createSmtpConnector } from '../smtp/connector.ts';
import { EXIT, fail, usageError } from './cli-kit.ts';

const USAGE = `usage: mxq smtp-probe <host[:port]|[addr]:port|unix:/path> [--lmtp]
    [--tls none|may|encrypt|fingerprint|verify|secure] [--ca FILE.pem]... [--fingerprint HEX]...
    [--servername NAME] [--smtps] [--helo NAME] [--auth USER [--sasl-security-options LIST]]
    [--timeout SECONDS] [--from ADDR --to ADDR [--to ADDR]... < message]
  The password for --auth is read from the environment variable MXQ_PROBE_PASSWORD. Without TLS
  the password is not sent unless --sasl-security-options allows plaintext (e.g. noanonymous);
  the default is smtpSaslSecurityOptions' (noplaintext,noanonymous).
  Exit: 0 ok, 75 temporary failure, 69 permanent failure, 64 usage error.
`;
const TLS_LEVELS: readonly TlsLevel[] = ['none', 'may', 'encrypt', 'fingerprint', 'verify', 'secure'];
const MASK = '********';

export type ProbeTarget = { kind: 'inet'; host: string; port: number } | { kind: 'unix'; path: string };

export interface ProbeConfig {
  target: ProbeTarget;
  protocol: Protocol;
  tls: TlsSettings;
  helo: string;
  auth?: { username: string; password: string; securityOptions?: string[] };
  from?: string;
  to: string[];
  timeoutMs?: number;
}

type Parsed = { ok: true; config: ProbeConfig } | { ok: false; error: string };

/** "host", "host:port", "[addr]", "[addr]:port", "unix:/path". */
export function parseTarget(raw: string, defaultPort: number): ProbeTarget | undefined {
  if (raw.startsWith('unix:')) return raw.length > 5 ? { kind: 'unix', path: raw.slice(5) } : undefined;
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(raw);
  const host = m?.[1] ?? m?.[2];
  const port = m?.[3] === undefined ? defaultPort : Number(m[3]);
  if (host === undefined || host === '' || port < 1 || port > 65535) return undefined;
  if (m?.[1] !== undefined && isIP(host) === 0) return undefined;
  return { kind: 'inet', host, port };
}

function parseProbeValues(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      lmtp: { type: 'boolean' },
      tls: { type: 'string' },
      ca: { type: 'string', multiple: true },
      fingerprint: { type: 'string', multiple: true },
      servername: { type: 'string' },
      smtps: { type: 'boolean' },
      helo: { type: 'string' },
      auth: { type: 'string' },
      'sasl-security-options': { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string', multiple: true },
      timeout: { type: 'string' },
    },
  });
}

/** argv (+ environment, + CA file contents) → config, or a usage error. */
export async function parseProbeArgs(argv: string[], env: NodeJS.ProcessEnv): Promise<Parsed> {
  let parsed: ReturnType<typeof parseProbeValues>;
  try {
    parsed = parseProbeValues(argv);
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  const v = parsed.values;
  if (parsed.positionals.length !== 1) return { ok: false, error: 'exactly one server argument is needed' };
  const protocol: Protocol = v.lmtp === true ? 'lmtp' : 'smtp';
  const raw = parsed.positionals[0] ?? '';
  const target = parseTarget(raw, protocol === 'lmtp' ? 24 : v.smtps === true ? 465 : 25);
  if (target === undefined) return { ok: false, error: `bad server "${raw}"` };
  const level = (v.tls ?? (v.smtps === true ? 'encrypt' : protocol === 'lmtp' ? 'none' : 'may')) as TlsLevel;
  if (!TLS_LEVELS.includes(level)) return { ok: false, error: `bad --tls level "${v.tls}"` };
  if (v.smtps === true && (level === 'none' || level === 'may')) {
    return { ok: false, error: '--smtps needs --tls encrypt or stronger' };
  }
  if (level === 'fingerprint' && (v.fingerprint ?? []).length === 0) {
    return { ok: false, error: '--tls fingerprint needs --fingerprint HEX' };
  }
  if ((v.from === undefined) !== (v.to === undefined))
    return { ok: false, error: '--from and --to go together' };
  const timeoutS = v.timeout === undefined ? undefined : Number(v.timeout);
  if (timeoutS !== undefined && !(timeoutS > 0)) return { ok: false, error: `bad --timeout "${v.timeout}"` };
  const tls = await tlsSettings(level, target, v);
  const config: ProbeConfig = { target, protocol, tls, helo: v.helo ?? hostname(), to: v.to ?? [] };
  if (v.from !== undefined) config.from = v.from;
  if (timeoutS !== undefined) config.timeoutMs = timeoutS * 1000;
  if (v.auth !== undefined) {
    const password = env.MXQ_PROBE_PASSWORD;
    if (password === undefined || password === '') {
      return { ok: false, error: '--auth needs the password in the environment variable MXQ_PROBE_PASSWORD' };
    }
    config.auth = { username: v.auth, password };
    const words = v['sasl-security-options'];
    if (words !== undefined) config.auth.securityOptions = words.split(/[\s,]+/).filter((w) => w !== '');
  }
  return { ok: true, config };
}

async function tlsSettings(
  level: TlsLevel,
  target: ProbeTarget,
  v: { ca?: string[]; fingerprint?: string[]; servername?: string; smtps?: boolean },
): Promise<TlsSettings> {
  const tls: TlsSettings = { level };
  const name = v.servername ?? (target.kind === 'inet' ? target.host : 'localhost');
  if (level === 'verify' || level === 'secure') tls.matchNames = [name];
  if (v.fingerprint !== undefined) tls.fingerprints = v.fingerprint;
  if (v.ca !== undefined) tls.ca = await Promise.all(v.ca.map((f) => readFile(f, 'utf8')));
  if (v.servername !== undefined) tls.servername = v.servername;
  if (v.smtps === true) tls.wrapperMode = true;
  return tls;
}

/** The transcript printer: one line per event, AUTH exchanges masked whatever the engine sends. */
export function createTranscriptPrinter(write: (line: string) => void) {
  let inAuth = false;
  return (dir: 'C' | 'S' | 'I', line: string): void => {
    const text = line.replace(/\r?\n$/, '');
    if (dir === 'S') {
      if (inAuth && !/^334[ -]/.test(text)) inAuth = false;
      write(`<- ${text}`);
    } else if (dir === 'C') {
      const auth = /^(AUTH\s+\S+)(\s+\S.*)?$/i.exec(text);
      if (auth?.[1] !== undefined) {
        inAuth = true;
        write(`-> ${auth[1]}${auth[2] === undefined ? '' : ` ${MASK}`}`);
      } else {
        write(`-> ${inAuth ? MASK : text}`);
      }
    } else {
      write(`** ${text}`);
    }
  };
}

/** Defence in depth: blot out the password (raw or in its usual base64 forms) wherever it shows. */
export function secretRedactor(
  auth: { username: string; password: string } | undefined,
): (line: string) => string {
  if (auth === undefined) return (line) => line;
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const secrets = [b64(`\0${auth.username}\0${auth.password}`), b64(auth.password), auth.password].filter(
    (s) => s.length >= 4,
  );
  return (line) => secrets.reduce((acc, secret) => acc.split(secret).join(MASK), line);
}

async function endpointFor(target: ProbeTarget): Promise<Endpoint> {
  if (target.kind === 'unix') {
    return { kind: 'unix', host: hostname(), address: target.path, port: 0, preference: 0 };
  }
  const ip = isIP(target.host);
  const { address, family } = ip === 0 ? await lookup(target.host) : { address: target.host, family: ip };
  return {
    kind: 'inet',
    host: target.host,
    address,
    port: target.port,
    family: family === 6 ? 6 : 4,
    preference: 0,
  };
}

/** 0 ok, 75 soft, 69 hard. */
export function exitCodeFor(failures: DeliveryFailure[]): number {
  if (failures.length === 0) return 0;
  return failures.some((f) => f.status.startsWith('5')) ? 69 : 75;
}

function timeoutsFor(config: ProbeConfig): StageTimeoutsMs {
  const o = resolveOptions();
  const t: StageTimeoutsMs = {
    connect: o.smtpConnectTimeout,
    helo: o.smtpHeloTimeout,
    lhlo: o.lmtpLhloTimeout,
    starttls: o.smtpStarttlsTimeout,
    mail: o.smtpMailTimeout,
    rcpt: o.smtpRcptTimeout,
    dataInit: o.smtpDataInitTimeout,
    dataXfer: o.smtpDataXferTimeout,
    dataDone: o.smtpDataDoneTimeout,
    rset: o.smtpRsetTimeout,
    quit: o.smtpQuitTimeout,
  };
  if (config.timeoutMs === undefined) return t;
  const ms = config.timeoutMs;
  return Object.fromEntries(Object.keys(t).map((k) => [k, ms])) as unknown as StageTimeoutsMs;
}

function handshakeParams(config: ProbeConfig, timeouts: StageTimeoutsMs): HandshakeParams {
  const o = resolveOptions();
  const target = config.target.kind === 'inet' ? config.target.host : `unix:${config.target.path}`;
  const params: HandshakeParams = {
    protocol: config.protocol,
    heloName: config.helo,
    myHostname: config.helo,
    loopDetect: false,
    bestMx: true,
    requestNexthop: target,
    tls: config.tls,
    requireTls: 'disable',
    smtputf8Required: false,
    skip5xxGreeting: o.smtpSkip5xxGreeting,
    alwaysSendEhlo: o.smtpAlwaysSendEhlo,
    neverSendEhlo: o.smtpNeverSendEhlo,
    timeouts,
  };
  if (config.auth !== undefined) {
    params.sasl = { username: config.auth.username, password: config.auth.password };
    if (config.auth.securityOptions !== undefined) params.sasl.securityOptions = config.auth.securityOptions;
  }
  return params;
}

function describeSession(session: SmtpSession, note: (s: string) => void): void {
  const s = session.state;
  const t = s.tls;
  if (t.active) {
    const verified = t.peerVerified === true ? 'verified' : 'not verified';
    const resumed = t.resumed === true ? ', resumed' : '';
    note(
      `TLS: ${t.protocol ?? '?'} with cipher ${t.cipher ?? '?'}, server certificate ${verified}${resumed}`,
    );
  } else {
    note(`TLS: none (level ${t.level})`);
  }
  const caps = Object.entries(s.capabilities).map(([k, v]) => (v === '' ? k : `${k}=${v}`));
  note(`server ${s.serverName || '?'}${s.esmtp ? '' : ' (no ESMTP)'}: ${caps.join(' ') || 'no extensions'}`);
  if (s.authenticated) note('authenticated');
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function probe(config: ProbeConfig, print: (line: string) => void): Promise<number> {
  const note = (s: string) => print(`** ${s}`);
  const message = config.from === undefined ? undefined : await readStdin();
  const timeouts = timeoutsFor(config);
  const connector = createSmtpConnector({ transcript: createTranscriptPrinter(print) });
  const endpoint = await endpointFor(config.target);
  const conn = await connector.connect({
    endpoint,
    protocol: config.protocol,
    connectTimeoutMs: timeouts.connect,
  });
  if (!conn.ok) return report([conn.failure], note);
  const hs = await conn.connection.handshake(handshakeParams(config, timeouts));
  if (!hs.ok) {
    conn.connection.close();
    return report([hs.failure], note);
  }
  const session = hs.session;
  describeSession(session, note);
  const failures: DeliveryFailure[] = [];
  if (config.from !== undefined && message !== undefined) {
    const result = await session.transaction({
      sender: config.from,
      recipients: config.to.map((address) => ({ address })),
      message,
      size: normalizedSize(message),
      eightBit: message.some((b) => b > 127),
      timeouts,
    });
    result.recipients.forEach((r, i) => {
      const rcpt = config.to[i] ?? '?';
      if (r.ok) note(`<${rcpt}>: delivered: ${r.reply.text}`);
      else {
        note(`<${rcpt}>: ${r.failure.status} ${r.failure.text}`);
        failures.push(r.failure);
      }
    });
  }
  await session.quit(timeouts.quit);
  return failures.length === 0 ? 0 : report(failures, note);
}

function report(failures: DeliveryFailure[], note: (s: string) => void): number {
  for (const f of failures) if (f.handler !== 'rcpt') note(`failed: ${f.status} ${f.text}`);
  return exitCodeFor(failures);
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const parsed = await parseProbeArgs(argv, process.env).catch((err: unknown) => ({
    ok: false as const,
    error: err instanceof Error ? err.message : String(err),
  }));
  if (!parsed.ok) {
    return usageError({ name: 'smtp-probe', usage: USAGE }, parsed.error);
  }
  const redact = secretRedactor(parsed.config.auth);
  try {
    return await probe(parsed.config, (line) => process.stdout.write(`${redact(line)}\n`));
  } catch (err) {
    return fail('smtp-probe', EXIT.TEMPFAIL, err instanceof Error ? err.message : String(err));
  }
}
