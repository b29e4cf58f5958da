/**
 * Fakes of the core ports (Clock, Random, Logger) for unit tests of pure code.
 *
 * Decides: deterministic time (manual advance), a seeded PRNG (mulberry32) and an in-memory
 * logger whose children share one record list.
 * Never: touches real time, Math.random or any I/O.
 */
import type { Clock, Logger, Random } from '../../src/core/ports.ts';

/** A clock that only moves when told. Default start: 2025-01-01T00:00:00Z. */
export function fakeClock(
  startMs = 1_735_689_600_000,
): Clock & { advance(ms: number): void; set(ms: number): void } {
  const state = { now: startMs };
  return {
    now: () => state.now,
    advance(ms: number) {
      state.now += ms;
    },
    set(ms: number) {
      state.now = ms;
    },
  };
}

/** Deterministic uniform floats in [0, 1) from a 32-bit seed (mulberry32). */
export function seededRandom(seed: number): Random {
  const state = { s: seed >>> 0 };
  return {
    next() {
      state.s = (state.s + 0x6d2b79f5) >>> 0;
      let t = state.s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

export type LogRecord = { level: string; msg?: string } & Record<string, unknown>;

/** A Logger that keeps every record (with child bindings merged in) in `records`. */
export function memoryLogger(): Logger & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const write = (level: string) => (obj: Record<string, unknown>, msg?: string) => {
      const rec: LogRecord = { ...bindings, ...obj, level };
      if (msg !== undefined) rec.msg = msg;
      records.push(rec);
    };
    return {
      info: write('info'),
      warn: write('warn'),
      error: write('error'),
      debug: write('debug'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return Object.assign(make({}), { records });
}
