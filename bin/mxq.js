#!/usr/bin/env node
// The installed `mxq` command: runs the TypeScript sources directly (Node >= 22.18 strips types).
import { main } from '../src/cli/main.ts';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`mxq: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 70;
  },
);
