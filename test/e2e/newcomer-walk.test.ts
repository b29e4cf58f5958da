/**
 * A newcomer's walk through README.md, top to bottom, as real processes: the "Watch mail flow"
 * commands exactly as written (only the sink's port and the /tmp path are swapped for free ones),
 * run from another directory through ./run, with the pool's embedded redis-server; then the
 * "Using it from code" example as a separate client process importing 'mxq' (dist/: `./run test`
 * builds it first; alone, run `npm run build`). Every command must succeed and the mail must reach
 * the sink.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { freePort } from '../support/net-util.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const LONG = 300_000;
const background: ChildProcess[] = [];
let tmp = '';

/** The fenced blocks of `lang` between two headings of README.md, continuation lines joined. */
function blocks(readme: string, from: string, to: string, lang: string): string[] {
  const part = readme.slice(readme.indexOf(from), readme.indexOf(to));
  return [...part.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) =>
    (m[1] ?? '').replace(/\\\n\s*/g, ''),
  );
}

function sh(line: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile('bash', ['-c', line], { cwd: tmp, env, timeout: 120_000 }, (err, stdout, stderr) =>
      done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
    );
  });
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['REDIS_URL', 'MXQ_PREFIX', 'MXQ_CALLER_CWD', 'MXQ_LOG_FORMAT']) delete env[k];
  env.PATH = `${ROOT}:${env.PATH ?? ''}`;
  return env;
}

async function until(what: () => boolean | Promise<boolean>, ms = 90_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await what()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

afterAll(async () => {
  for (const p of background.reverse()) {
    if (p.exitCode !== null || p.signalCode !== null) continue;
    const gone = new Promise<void>((done) => p.once('exit', () => done()));
    p.kill('SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 30_000))]);
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }
  if (tmp !== '') await rm(tmp, { recursive: true, force: true });
}, LONG);

it(
  'README top to bottom: watch mail flow, then the code example as its own client process',
  async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    tmp = await mkdtemp(join(tmpdir(), 'mxq-walk-'));
    const port = await freePort();
    const swap = (s: string) =>
      s.replaceAll(':2525', `:${port}`).replaceAll('/tmp/mxq.json', join(tmp, 'mxq.json'));
    const env = cleanEnv();
    const lines = blocks(readme, '## Watch mail flow', '## Using it from code', 'sh')
      .flatMap((b) => b.split('\n'))
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(5);
    let queueId = '';
    const outputs: Record<string, string> = {};
    for (const raw of lines) {
      // `./run ...` from another directory: the newcomer's shell is anywhere.
      const line = swap(raw)
        .replaceAll('./run ', `${join(ROOT, 'run')} `)
        .replaceAll('<queue-id>', queueId);
      if (line.endsWith('&')) {
        const p = spawn('bash', ['-c', `exec ${line.slice(0, -1)}`], {
          cwd: tmp,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        background.push(p);
        let out = '';
        p.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
        });
        p.stderr?.on('data', (d: Buffer) => {
          out += d.toString();
        });
        if (line.includes(' sink ')) {
          const { connect } = await import('node:net');
          const listening = () =>
            new Promise<boolean>((done) => {
              const s = connect({ host: '127.0.0.1', port }, () => {
                s.destroy();
                done(true);
              });
              s.on('error', () => done(false));
            });
          expect(await until(listening), out).toBe(true);
        }
        // `./run pool` (or `./run worker`): ready once a worker process has started.
        if (line.includes(' worker ') || line.includes(' pool '))
          expect(await until(() => out.includes('worker started')), out).toBe(true);
        continue;
      }
      const r = await sh(line, env);
      expect(r.code, `${raw}\n${r.stdout}\n${r.stderr}`).toBe(0);
      outputs[raw] = r.stdout;
      if (line.includes(' send ')) {
        queueId = r.stdout.split('\n')[0] ?? '';
        expect(queueId).toMatch(/^[0-9A-Za-z]{14}$/);
        expect(r.stdout).toContain(`${queueId}: to=<you@example.test>, relay=127.0.0.1[127.0.0.1]:${port}`);
        expect(r.stdout).toContain('status=sent');
      }
    }
    expect(queueId).not.toBe('');

    // "Using it from code", as a separate client process importing the package by its name.
    const [code] = blocks(readme, '## Using it from code', '## Documentation', 'ts');
    expect(code).toContain("from 'mxq'");
    const built = await readFile(join(ROOT, 'dist/index.js'), 'utf8').then(
      () => true,
      () => false,
    );
    expect(built, "dist/ is missing: run 'npm run build' (./run test does) before this test").toBe(true);
    const clientDir = join(ROOT, 'var', `walk-${process.pid}`);
    await mkdir(clientDir, { recursive: true });
    try {
      const client = join(clientDir, 'client.mjs');
      await writeFile(client, swap(code ?? ''));
      const redisUrl = (await readFile(join(ROOT, 'var/redis/redis.url'), 'utf8')).trim();
      const r = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
        execFile(
          process.execPath,
          [client],
          { cwd: tmp, env: { ...env, REDIS_URL: redisUrl }, timeout: 120_000 },
          (err, stdout, stderr) =>
            done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
        );
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe('sent');
    } finally {
      await rm(clientDir, { recursive: true, force: true });
    }
  },
  LONG,
);
