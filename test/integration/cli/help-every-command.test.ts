/**
 * Every command in main.ts's COMMANDS table answers `--help` the same way (cli-kit.ts): usage on
 * stdout starting "usage: mxq NAME", exit 0, nothing on stderr. The list of commands is read from
 * `mxq --help`, so a command added later is checked without editing this file; docs/cli.md must
 * have a row for each. Real processes.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const MAIN = join(ROOT, 'src/cli/main.ts');

function mxq(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [MAIN, ...args], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

it('every command prints its usage for --help and -h and exits 0', { timeout: 600_000 }, async () => {
  const top = await mxq(['--help']);
  expect(top.code).toBe(0);
  const names = [...top.stdout.matchAll(/^ {2}([a-z][a-z-]*) {2,}/gm)].map((m) => m[1] ?? '');
  expect(names.length).toBeGreaterThan(10);
  const wrong: string[] = [];
  for (const name of names) {
    for (const flag of ['--help', '-h']) {
      const r = await mxq([name, flag]);
      const first = r.stdout.split('\n')[0] ?? '';
      if (r.code !== 0 || !first.startsWith(`usage: mxq ${name}`) || r.stderr !== '') {
        wrong.push(`${name} ${flag}: exit ${r.code}, stdout "${first}", stderr "${r.stderr.slice(0, 120)}"`);
      }
    }
  }
  expect(wrong).toEqual([]);
  // docs/cli.md's command table has a row (with its exit codes) for each of them.
  const doc = readFileSync(join(ROOT, 'docs/cli.md'), 'utf8');
  expect(names.filter((n) => !new RegExp(`^\\| \`${n}[ \`]`, 'm').test(doc))).toEqual([]);
});
