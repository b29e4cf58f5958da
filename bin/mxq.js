#!/usr/bin/env node
// The installed `mxq` command. In a source checkout it runs the TypeScript sources directly
// (Node >= 22.18 strips types); in an installed package, where src/ is not shipped, the build in dist/.
import { existsSync } from 'node:fs';

const fromSource = existsSync(new URL('../src/cli/main.ts', import.meta.url));
const { main } = await import(fromSource ? '../src/cli/main.ts' : '../dist/cli/main.js');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`mxq: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 70;
  },
);
