/**
 * `mxq sink`: a development SMTP/LMTP server that accepts every message and stores it in a
 * Maildir (DIR/new/<unique>) or prints one summary line per message, so that a newcomer can watch
 * mail flow without the internet.
 *
 * Decides: where each accepted message goes (a file in --maildir DIR, or only a line on stdout)
 * and how the summary line looks (text or --json).
 * Never: relays or forwards mail, offers AUTH, listens anywhere the user did not ask.
 * Exit codes: 0 after SIGTERM/SIGINT, 64 usage, 69 when the listener cannot start.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { usageError } from './cli-kit.ts';

const USAGE =
  'usage: mxq sink [--listen HOST:PORT] [--unix PATH] [--lmtp] [--maildir DIR | --print] [--json] [--no-starttls]\n';
const DEFAULT_LISTEN = '127.0.0.1:2525';
const MAX_MESSAGE_BYTES = 52_428_800;

export interface SinkConfig {
  listen: { host: string; port: number } | { path: string };
  lmtp: boolean;
  maildir?: string;
  json: boolean;
  starttls: boolean;
}

/** One accepted message, as printed. */
export interface SinkRecord {
  at: string;
  protocol: 'smtp' | 'lmtp';
  client: string;
  helo: string;
  tls: boolean;
  from: string;
  to: string[];
  size: number;
  file?: string;
}

/** "127.0.0.1:2525" or "[::1]:2525" → host and port; undefined when malformed. */
export function parseListen(value: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (host === undefined || !Number.isInteger(port) || port > 65535) return undefined;
  return { host, port };
}

/** argv → config, or a usage error text. */
export function parseSinkArgs(
  argv: string[],
): { ok: true; config: SinkConfig } | { ok: false; error: string } {
  let values: ReturnType<typeof parseSinkValues>;
  try {
    values = parseSinkValues(argv);
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  if (values.maildir !== undefined && values.print === true) {
    return { ok: false, error: '--maildir and --print exclude each other' };
  }
  if (values.unix !== undefined && values.listen !== undefined) {
    return { ok: false, error: '--listen and --unix exclude each other' };
  }
  let listen: SinkConfig['listen'];
  if (values.unix !== undefined) {
    listen = { path: values.unix };
  } else {
    const hostPort = parseListen(values.listen ?? DEFAULT_LISTEN);
    if (hostPort === undefined) return { ok: false, error: `bad --listen value "${values.listen}"` };
    listen = hostPort;
  }
  const config: SinkConfig = {
    listen,
    lmtp: values.lmtp === true,
    json: values.json === true,
    starttls: values['no-starttls'] !== true,
  };
  if (values.maildir !== undefined) config.maildir = values.maildir;
  return { ok: true, config };
}

function parseSinkValues(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: false,
    strict: true,
    options: {
      listen: { type: 'string' },
      unix: { type: 'string' },
      lmtp: { type: 'boolean' },
      maildir: { type: 'string' },
      print: { type: 'boolean' },
      json: { type: 'boolean' },
      'no-starttls': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values;
}

/** The summary line for one message (no trailing newline). */
export function formatRecord(r: SinkRecord, json: boolean): string {
  if (json) return JSON.stringify(r);
  const file = r.file === undefined ? '' : ` file=${r.file}`;
  return `${r.at} ${r.protocol} from=<${r.from}> to=${r.to.map((t) => `<${t}>`).join(',')} size=${r.size} client=${r.client} helo=${r.helo} tls=${r.tls ? 'yes' : 'no'}${file}`;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

/** Maildir delivery: write to tmp/, then rename into new/ (atomic for readers). Returns the path. */
export async function storeInMaildir(dir: string, from: string, to: string[], body: Buffer): Promise<string> {
  const name = `${Date.now()}.P${process.pid}R${randomBytes(6).toString('hex')}.${hostname()}`;
  const tmpPath = join(dir, 'tmp', name);
  const newPath = join(dir, 'new', name);
  const header = `Return-Path: <${from}>\r\n${to.map((t) => `Delivered-To: ${t}\r\n`).join('')}`;
  await writeFile(tmpPath, Buffer.concat([Buffer.from(header), body]), { flag: 'wx' });
  try {
    await rename(tmpPath, newPath);
  } catch (err) {
    await unlink(tmpPath).catch(() => undefined);
    throw err;
  }
  return newPath;
}

function recordFor(session: SMTPServerSession, config: SinkConfig, size: number): SinkRecord {
  const from = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address;
  return {
    at: new Date().toISOString(),
    protocol: config.lmtp ? 'lmtp' : 'smtp',
    client: 'path' in config.listen ? 'unix' : session.remoteAddress,
    helo: session.hostNameAppearsAs,
    tls: session.secure,
    from,
    to: session.envelope.rcptTo.map((r) => r.address),
    size,
  };
}

function createSink(config: SinkConfig, out: NodeJS.WritableStream): SMTPServer {
  const onData = (
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    done: (err?: Error | null) => void,
  ) => {
    const handle = async () => {
      const body = await readAll(stream);
      if (stream.sizeExceeded) return;
      const record = recordFor(session, config, body.length);
      if (config.maildir !== undefined) {
        record.file = await storeInMaildir(config.maildir, record.from, record.to, body);
      }
      out.write(`${formatRecord(record, config.json)}\n`);
    };
    handle().then(
      () => done(),
      (err: unknown) => {
        process.stderr.write(`mxq sink: cannot store message: ${err instanceof Error ? err.message : err}\n`);
        done(Object.assign(new Error('4.3.0 Error: cannot store message'), { responseCode: 451 }));
      },
    );
  };
  return new SMTPServer({
    lmtp: config.lmtp,
    name: hostname(),
    banner: 'mxq sink (development only)',
    disabledCommands: config.starttls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    hideSTARTTLS: !config.starttls,
    hideENHANCEDSTATUSCODES: false,
    hideDSN: false,
    size: MAX_MESSAGE_BYTES,
    rejectOversized: true,
    authOptional: true,
    logger: false,
    closeTimeout: 2000,
    onData,
  });
}

function listenOn(server: SMTPServer, listen: SinkConfig['listen']): Promise<string> {
  return new Promise((resolve, reject) => {
    server.server.once('error', reject);
    const ready = () => {
      server.server.off('error', reject);
      const a = server.server.address();
      if (a === null || typeof a === 'string') resolve(`unix:${a ?? ''}`);
      else resolve(a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`);
    };
    if ('path' in listen) server.listen(listen.path, ready);
    else server.listen(listen.port, listen.host, ready);
  });
}

async function prepareMaildir(dir: string): Promise<void> {
  for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(dir, sub), { recursive: true });
}

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const onSignal = (sig: string) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve(sig);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const parsed = parseSinkArgs(argv);
  if (!parsed.ok) {
    return usageError({ name: 'sink', usage: USAGE }, parsed.error);
  }
  const config = parsed.config;
  if (config.maildir !== undefined) await prepareMaildir(config.maildir);
  const server = createSink(config, process.stdout);
  server.on('error', (err) => process.stderr.write(`mxq sink: ${err.message}\n`));
  let where: string;
  try {
    where = await listenOn(server, config.listen);
  } catch (err) {
    process.stderr.write(`mxq sink: cannot listen: ${err instanceof Error ? err.message : err}\n`);
    return 69;
  }
  const store = config.maildir === undefined ? 'print only' : `maildir ${config.maildir}`;
  process.stderr.write(`mxq sink: listening on ${where} (${config.lmtp ? 'lmtp' : 'smtp'}, ${store})\n`);
  const signal = await waitForSignal();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if ('path' in config.listen) await unlink(config.listen.path).catch(() => undefined);
  process.stderr.write(`mxq sink: stopped (${signal})\n`);
  return 0;
}
