/**
 * `mxq config check [--config FILE]` and `mxq config show [--config FILE] [-d] [--json]`: like
 * Postfix's `postfix check` and `postconf -n` / `postconf -d`.
 *
 * Decides: check = the file parses and every key and value passes the one option check
 * (core/option-schema.ts via resolveOptions), printing "ok: N options"; show = the options the
 * file sets (postconf -n), or with -d every option with its default, as `name = value` lines
 * (durations as written, lists comma-separated, maps as JSON), secrets (SASL passwords) shown as
 * `*****`; exit 0, 64 usage, 66 no such file, 78 a bad file (docs/cli.md).
 * Never: connects to Redis or a server; prints a password.
 */
import { DEFAULT_OPTIONS, resolveOptions } from '../core/options.ts';
import { CliError, EXIT, fail, parseCommand, usageError } from './cli-kit.ts';
import { optionsFromArgs } from './queue-connection.ts';

const USAGE = `usage: mxq config check [--config FILE]
       mxq config show  [--config FILE] [-d] [--json]

check: read FILE (JSON delivery options, docs/configuration.md) and check every key and value;
       prints "mxq config: FILE: ok (N options set)".
show:  print the options FILE sets, as "name = value" (like postconf -n); with -d every option
       with its default (like postconf -d). Passwords are shown as *****.

  --config FILE    the file (relative to the current directory); without it, no options are set
  -d, --defaults   show every option's default
  --json           print JSON

exit: 0, 64 usage, 66 no such --config file, 78 a bad option or value (docs/cli.md)
`;

const SPEC = {
  name: 'config',
  usage: USAGE,
  options: {
    config: { type: 'string' },
    defaults: { type: 'boolean', short: 'd' },
    json: { type: 'boolean' },
  },
  positionals: true,
} as const;

/** A copy with every SASL password replaced by *****. */
export function redactOptions(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...o };
  const maps = out.smtpSaslPasswordMaps;
  if (typeof maps === 'object' && maps !== null) {
    out.smtpSaslPasswordMaps = Object.fromEntries(
      Object.entries(maps as Record<string, { username?: unknown }>).map(([k, v]) => [
        k,
        { username: v.username, password: '*****' },
      ]),
    );
  }
  return out;
}

function valueText(v: unknown): string {
  if (Array.isArray(v)) return v.map(String).join(', ');
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(SPEC, argv);
  if (parsed.exit !== undefined) return parsed.exit;
  const [sub, ...rest] = parsed.positionals;
  if ((sub !== 'check' && sub !== 'show') || rest.length > 0)
    return usageError(SPEC, 'say "check" or "show"');
  const v = parsed.values;
  let set: Record<string, unknown>;
  try {
    set = (await optionsFromArgs({ config: v.config })) as Record<string, unknown>;
    resolveOptions(set);
  } catch (err) {
    // The file's errors name the file already (runtime/config.ts).
    return fail('config', err instanceof CliError ? err.code : EXIT.CONFIG, (err as Error).message);
  }
  if (sub === 'check') {
    const n = Object.keys(set).length;
    const text = `mxq config: ${v.config ?? '(no file)'}: ok (${n} option${n === 1 ? '' : 's'} set)`;
    process.stdout.write(v.json === true ? `${JSON.stringify({ ok: true, set: n })}\n` : `${text}\n`);
    return EXIT.OK;
  }
  const shown = redactOptions(v.defaults === true ? { ...DEFAULT_OPTIONS } : set);
  if (v.json === true) process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
  else for (const k of Object.keys(shown).sort()) process.stdout.write(`${k} = ${valueText(shown[k])}\n`);
  return EXIT.OK;
}
