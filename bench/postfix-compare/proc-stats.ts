/**
 * CPU and memory of process trees from /proc, for bench/postfix-compare.
 *
 * Decides: CPU of a tree = utime+stime of every live process under a root (and the root's
 * cutime+cstime, which holds its reaped children, e.g. Postfix's short-lived smtp and cleanup
 * processes), in milliseconds; peak RSS = the largest VmHWM of one process in the tree (KiB);
 * current RSS = the largest VmRSS of one process in the tree (KiB).
 * Never: signals or otherwise touches the processes it reads.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ 100 on Linux

interface Stat {
  pid: number;
  ppid: number;
  cpuMs: number;
  childrenMs: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // after "pid (comm) ": state ppid … utime(14) stime(15) cutime(16) cstime(17) — 1-based in man proc
    const n = (i: number) => Number(f[i - 3]);
    return { pid, ppid: n(4), cpuMs: (n(14) + n(15)) * TICK_MS, childrenMs: (n(16) + n(17)) * TICK_MS };
  } catch {
    return undefined;
  }
}

function allStats(): Stat[] {
  const out: Stat[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = readStat(Number(d));
    if (s !== undefined) out.push(s);
  }
  return out;
}

/** pids of root and all its descendants alive now. */
export function tree(root: number): number[] {
  const stats = allStats();
  const kids = new Map<number, number[]>();
  for (const s of stats) kids.set(s.ppid, [...(kids.get(s.ppid) ?? []), s.pid]);
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    const p = todo.pop() as number;
    if (!stats.some((s) => s.pid === p)) continue;
    out.push(p);
    todo.push(...(kids.get(p) ?? []));
  }
  return out;
}

/**
 * CPU ms so far of the trees under `roots`: live processes' own time plus each root's reaped
 * children (a process gone between two samples is in its parent's children time after).
 */
export function cpuSample(roots: number[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const root of roots) {
    for (const pid of tree(root)) {
      const s = readStat(pid);
      if (s === undefined) continue;
      m.set(`p${pid}`, s.cpuMs);
      if (pid === root) m.set(`c${pid}`, s.childrenMs);
    }
  }
  return m;
}

/**
 * CPU ms spent between two samples: total after minus total before. A process that exited in
 * between is in its parent's children time after (its whole life), and its own time before is
 * subtracted here, so only what it used between the samples counts.
 */
export function cpuDelta(before: Map<string, number>, after: Map<string, number>): number {
  let ms = 0;
  for (const v of after.values()) ms += v;
  for (const v of before.values()) ms -= v;
  return ms;
}

/** Largest peak RSS (VmHWM, KiB) of one process among the trees under `roots`. */
export function peakRssKiB(roots: number[]): number {
  let max = 0;
  for (const root of roots) {
    for (const pid of tree(root)) {
      try {
        const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        max = Math.max(max, Number(m?.[1] ?? 0));
      } catch {
        // gone
      }
    }
  }
  return max;
}

/** Largest current RSS (VmRSS, KiB) of one process among the trees under `roots`. */
export function rssKiB(roots: number[]): number {
  let max = 0;
  for (const root of roots) {
    for (const pid of tree(root)) {
      try {
        const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        max = Math.max(max, Number(m?.[1] ?? 0));
      } catch {
        // gone
      }
    }
  }
  return max;
}
