/**
 * What an application that installs mxq gets: `import 'mxq'` resolves to the build in dist/
 * (Node does not strip types under node_modules), with the documented API and its types, and the
 * built command runs. dist/ is made by `npm ci` / `npm install` (the `prepare` script).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';

function node(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, { cwd: process.cwd(), encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

it('import "mxq" resolves to dist/index.js and exports the enqueue API', () => {
  const r = node([
    '--input-type=module',
    '-e',
    "const m = await import('mxq'); console.log(import.meta.resolve('mxq')); console.log(Object.keys(m).sort().join(','));",
  ]);
  expect(r.stderr).toBe('');
  const [resolved, names] = r.stdout.trim().split('\n');
  expect(resolved).toMatch(/\/dist\/index\.js$/);
  expect(names?.split(',')).toEqual(
    expect.arrayContaining([
      'createMailQueue',
      'MailQueueInputError',
      'createDeliveryAgent',
      'resolveOptions',
    ]),
  );
  expect(existsSync('dist/index.d.ts')).toBe(true);
});

it('the built command runs without the TypeScript sources', () => {
  const r = node(['dist/cli/main.js', '--help']);
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('usage: mxq <command>');
});
