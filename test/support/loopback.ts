/**
 * Unique loopback /24 blocks (127.X.Y.0/24) per test file, safe across parallel vitest forks.
 *
 * Decides: a block is owned through an exclusive lock file in $TMPDIR/mxq-loopback/ holding the
 * owner's pid; a lock whose pid is dead is reclaimed. 127.0.0.0/24 and 127.255.x are never handed out.
 * Never: configures interfaces (Linux routes all of 127.0.0.0/8 to lo) or frees another process's block.
 */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LOCK_DIR = join(tmpdir(), 'mxq-loopback');
const MAX_TRIES = 2000;

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function createLock(file: string): boolean {
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  }
}

function tryLock(file: string): boolean {
  if (createLock(file)) return true;
  let owner = 0;
  try {
    owner = Number(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
  if (pidAlive(owner)) return false;
  try {
    unlinkSync(file);
  } catch {
    return false;
  }
  return createLock(file);
}

/** Reserve a fresh 127.X.Y.0/24 block; addr(1) === `${prefix}.1`. */
export function allocateLoopbackBlock(): { prefix: string; addr(n: number): string; release(): void } {
  mkdirSync(LOCK_DIR, { recursive: true });
  const start = Math.floor(Math.random() * 254 * 256);
  for (let i = 0; i < MAX_TRIES; i++) {
    const slot = (start + i) % (254 * 256);
    const x = 1 + Math.floor(slot / 256);
    const y = slot % 256;
    const file = join(LOCK_DIR, `${x}.${y}`);
    if (!tryLock(file)) continue;
    const prefix = `127.${x}.${y}`;
    return {
      prefix,
      addr(n: number) {
        if (!Number.isInteger(n) || n < 1 || n > 254)
          throw new RangeError(`loopback host ${n} out of 1..254`);
        return `${prefix}.${n}`;
      },
      release() {
        try {
          if (Number(readFileSync(file, 'utf8')) === process.pid) unlinkSync(file);
        } catch {
          // already released
        }
      },
    };
  }
  throw new Error(`no free loopback block after ${MAX_TRIES} tries (${LOCK_DIR})`);
}
