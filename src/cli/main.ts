/**
 * The `mxq` command: dispatches to one module per subcommand.
 *
 * Decides: which subcommand runs and the process exit code.
 * Never: parses a subcommand's own arguments (each module does), holds state.
 * Exit codes: as the subcommand returns (sysexits: 0 ok, 64 usage, 69 unavailable, 75 tempfail).
 */

type CommandModule = { run(argv: string[]): Promise<number> };

const COMMANDS: Readonly<Record<string, { summary: string; load: () => Promise<CommandModule> }>> = {
  'smtp-probe': {
    summary: 'talk to one SMTP/LMTP server and show the conversation',
    load: () => import('./smtp-probe.ts'),
  },
  deliver: { summary: 'run one delivery attempt in-process (no queue)', load: () => import('./deliver.ts') },
  worker: { summary: 'run delivery workers against Redis', load: () => import('./worker.ts') },
  send: { summary: 'enqueue a message (from a file or stdin)', load: () => import('./send.ts') },
  queue: { summary: 'list the queue, like mailq', load: () => import('./queue.ts') },
  flush: { summary: 'make deferred mail due now, like postqueue -f', load: () => import('./flush.ts') },
  delete: {
    summary: 'delete queued mail by queue id or ALL, like postsuper -d',
    load: () => import('./delete.ts'),
  },
  sink: { summary: 'a development SMTP/LMTP sink', load: () => import('./sink.ts') },
  tlsrpt: { summary: 'send the TLSRPT (RFC 8460) reports that are due', load: () => import('./tlsrpt.ts') },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return `usage: mxq <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 64 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`mxq: unknown command "${name}"\n${usage()}`);
    return 64;
  }
  const mod = await command.load();
  return mod.run(rest);
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`mxq: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 70;
    },
  );
}
