/**
 * The `mxq` command: dispatches to one module per subcommand.
 *
 * Decides: which subcommand runs and the process exit code.
 * Never: parses a subcommand's own arguments (each module does), holds state.
 * Exit codes: as the subcommand returns; one sysexits table for all (cli-kit.ts EXIT, docs/cli.md).
 * `mxq help CMD` is `mxq CMD --help`.
 */
import { CliError, EXIT, escapeControls } from './cli-kit.ts';

type CommandModule = { run(argv: string[]): Promise<number> };

const COMMANDS: Readonly<Record<string, { summary: string; load: () => Promise<CommandModule> }>> = {
  'smtp-probe': {
    summary: 'talk to one SMTP/LMTP server and show the conversation',
    load: () => import('./smtp-probe.ts'),
  },
  deliver: { summary: 'run one delivery attempt in-process (no queue)', load: () => import('./deliver.ts') },
  worker: { summary: 'run delivery workers against Redis', load: () => import('./worker.ts') },
  pool: {
    summary: 'a supervisor with N worker processes sharing their sessions',
    load: () => import('./pool.ts'),
  },
  send: { summary: 'enqueue a message (from a file or stdin)', load: () => import('./send.ts') },
  queue: { summary: 'list the queue, like mailq', load: () => import('./queue.ts') },
  flush: { summary: 'make deferred mail due now, like postqueue -f', load: () => import('./flush.ts') },
  delete: {
    summary: 'delete queued mail by queue id or ALL, like postsuper -d',
    load: () => import('./delete.ts'),
  },
  sink: { summary: 'a development SMTP/LMTP sink', load: () => import('./sink.ts') },
  destinations: {
    summary: 'destination leases, limits, suspensions',
    load: () => import('./destinations.ts'),
  },
  suspend: { summary: 'suspend a destination pool-wide', load: () => import('./suspend.ts') },
  resume: { summary: 'lift a destination suspension', load: () => import('./resume.ts') },
  requeue: {
    summary: 'route queued mail again with the current configuration, like postsuper -r',
    load: () => import('./requeue.ts'),
  },
  hold: { summary: 'put queued mail on hold, like postsuper -h', load: () => import('./hold.ts') },
  release: { summary: 'release held mail, like postsuper -H', load: () => import('./release.ts') },
  show: {
    summary: "show one message and its recipients' history, like postcat -q",
    load: () => import('./show.ts'),
  },
  config: {
    summary: 'check or show a configuration file, like postconf -n',
    load: () => import('./config.ts'),
  },
  qshape: {
    summary: 'pending recipients by destination and age, like qshape',
    load: () => import('./qshape.ts'),
  },
  dashboard: { summary: 'web dashboard: bull-board and mxq pages', load: () => import('./dashboard.ts') },
  webhooks: {
    summary: 'POST signed delivery events to webhooks; replay',
    load: () => import('./webhooks.ts'),
  },
  tlsrpt: { summary: 'send the TLSRPT (RFC 8460) reports that are due', load: () => import('./tlsrpt.ts') },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return `usage: mxq <command> [options]     (mxq <command> --help for each)\n\ncommands:\n${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' && rest[0] !== undefined && COMMANDS[rest[0]] !== undefined) {
    return main([rest[0], '--help']);
  }
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    (name === undefined ? process.stderr : process.stdout).write(usage());
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`mxq: unknown command "${escapeControls(name)}"\n${usage()}`);
    return EXIT.USAGE;
  }
  const mod = await command.load();
  return mod.run(rest);
}

if (import.meta.main) {
  // `mxq queue | head`: a closed pipe ends the output quietly, as Postfix's tools do.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`mxq: ${escapeControls(err instanceof Error ? err.message : String(err))}\n`);
      process.exitCode = err instanceof CliError ? err.code : EXIT.SOFTWARE;
    },
  );
}
