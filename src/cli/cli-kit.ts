/**
 * What every mxq command shares: the exit-code table (sysexits, as Postfix's tools use), `--help`,
 * argument parsing that names the flag, terminal-safe error text, caller-relative paths and a
 * progress bar for bulk work.
 *
 * Decides: the one exit code for each cause (docs/cli.md lists them), the wording of usage errors,
 * how control bytes in user input are shown (`\x1b`), and that progress goes to stderr and only
 * on a TTY.
 * Never: opens Redis or the queue (queue-connection.ts does), delivers mail.
 */
import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { escapeControls } from '../core/escape.ts';

/** sysexits(3) codes used by every command; docs/cli.md has the table. */
export const EXIT = {
  OK: 0,
  /** Bad command line: unknown flag, missing argument, bad flag value. */
  USAGE: 64,
  /** Input data refused: a bad address, next-hop, message or DSN parameter. */
  DATAERR: 65,
  /** A named input does not exist: --file, --config, a queue id. */
  NOINPUT: 66,
  /** A service is unavailable: Redis unreachable, no redis-server, a recipient bounced. */
  UNAVAILABLE: 69,
  /** An internal error (a bug). */
  SOFTWARE: 70,
  /** Try again later: still deferred at --timeout, a message busy being delivered. */
  TEMPFAIL: 75,
  /** Permission denied: Redis refused the password (WRONGPASS/NOAUTH). */
  NOPERM: 77,
  /** Configuration error: a bad config file, an unsafe Redis. */
  CONFIG: 78,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error a command reports as one line and exits with `code`. */
export class CliError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = 'CliError';
    this.code = code;
  }
}

export { escapeControls };

export interface CommandSpec<O> {
  /** "send", "queue", ...: used in every message as `mxq NAME: ...`. */
  name: string;
  /** Full usage text (first line "usage: mxq NAME ..."), printed by --help and after usage errors. */
  usage: string;
  options: O;
  positionals?: boolean;
}

type ParseOptions = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

/**
 * parseArgs with the shared conventions: -h/--help prints the usage on stdout (returns EXIT.OK
 * as `exit`), an unknown or malformed flag prints the error and the usage on stderr (EXIT.USAGE).
 */
export function parseCommand<O extends ParseOptions>(
  spec: CommandSpec<O>,
  argv: string[],
):
  | { exit: number }
  | {
      exit?: undefined;
      values: ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true }>>['values'];
      positionals: string[];
    } {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(spec.usage.endsWith('\n') ? spec.usage : `${spec.usage}\n`);
    return { exit: EXIT.OK };
  }
  try {
    const r = parseArgs({
      args: argv,
      options: spec.options,
      allowPositionals: true,
      strict: true,
    });
    if (spec.positionals !== true && r.positionals.length > 0) {
      throw new Error(`unexpected argument "${r.positionals[0]}"`);
    }
    return { values: r.values as never, positionals: r.positionals };
  } catch (err) {
    usageError(spec, err instanceof Error ? err.message : String(err));
    return { exit: EXIT.USAGE };
  }
}

/** Print "mxq NAME: message" and the usage to stderr; returns EXIT.USAGE. */
export function usageError(spec: { name: string; usage: string }, message: string): number {
  const first = spec.usage.split('\n')[0] ?? '';
  process.stderr.write(
    `mxq ${spec.name}: ${escapeControls(message)}\n${first}\n(mxq ${spec.name} --help for more)\n`,
  );
  return EXIT.USAGE;
}

/** Print "mxq NAME: message" to stderr (control bytes escaped) and return `code`. */
export function fail(name: string, code: number, message: string): number {
  process.stderr.write(`mxq ${name}: ${escapeControls(message)}\n`);
  return code;
}

/**
 * A path the user typed, made absolute against the directory they typed it in: `./run` changes
 * into the repository and passes the caller's directory in MXQ_CALLER_CWD.
 */
export function callerPath(p: string, env: NodeJS.ProcessEnv = process.env): string {
  if (isAbsolute(p)) return p;
  return resolve(env.MXQ_CALLER_CWD || process.cwd(), p);
}

/** A one-line progress bar on stderr, drawn only when stderr is a TTY and the work is bulk. */
export function progressBar(
  label: string,
  total: number,
  stream: NodeJS.WriteStream = process.stderr,
): { tick(n?: number): void; done(): void } {
  const on = stream.isTTY === true && total > 1;
  let n = 0;
  let lastDrawn = -1;
  const draw = () => {
    const pct = total === 0 ? 100 : Math.floor((n / total) * 100);
    if (pct === lastDrawn) return;
    lastDrawn = pct;
    const width = 30;
    const full = Math.round((pct / 100) * width);
    stream.write(`\r${label} [${'#'.repeat(full)}${'.'.repeat(width - full)}] ${n}/${total}`);
  };
  return {
    tick(k = 1) {
      n += k;
      if (on) draw();
    },
    done() {
      if (on) stream.write('\n');
    },
  };
}
