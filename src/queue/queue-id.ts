/**
 * Queue ids: short, sortable, unique names for queued messages, in the spirit of Postfix's long
 * queue ids (enable_long_queue_ids): time first, so that `sort` lists mail in arrival order.
 *
 * Format: 8 base-62 chars of milliseconds since the epoch, 2 chars of a per-generator sequence
 * within that millisecond, 4 random chars: 14 chars of [0-9A-Za-z] (ASCII order = time order).
 * Decides: the format, and monotonicity within one generator (one per process/queue client).
 * Never: reads the clock or randomness directly (both are injected); holds module-level state.
 */
import type { Clock, Random } from '../core/ports.ts';

export const ID_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE = ID_ALPHABET.length;
const TIME_CHARS = 8;
const SEQ_CHARS = 2;
const RANDOM_CHARS = 4;
const SEQ_LIMIT = BASE ** SEQ_CHARS;
export const QUEUE_ID_LENGTH = TIME_CHARS + SEQ_CHARS + RANDOM_CHARS;
const QUEUE_ID_RE = /^[0-9A-Za-z]{14}$/;

/** Fixed-width base-62 encoding of a non-negative integer. */
export function encodeBase62(value: number, width: number): string {
  let v = Math.floor(value);
  let out = '';
  for (let i = 0; i < width; i++) {
    out = (ID_ALPHABET[v % BASE] ?? '0') + out;
    v = Math.floor(v / BASE);
  }
  if (v !== 0) throw new RangeError(`value ${value} does not fit in ${width} base-62 chars`);
  return out;
}

export function decodeBase62(text: string): number {
  let v = 0;
  for (const ch of text) {
    const d = ID_ALPHABET.indexOf(ch);
    if (d < 0) throw new RangeError(`not base-62: ${text}`);
    v = v * BASE + d;
  }
  return v;
}

export function isQueueId(s: string): boolean {
  return QUEUE_ID_RE.test(s);
}

/** Milliseconds since the epoch encoded in a queue id. */
export function queueIdTime(queueId: string): number {
  return decodeBase62(queueId.slice(0, TIME_CHARS));
}

/** A generator of strictly increasing queue ids (within this generator). */
export function createQueueIdGenerator(deps: { clock: Clock; random: Random }): () => string {
  let lastMs = -1;
  let seq = 0;
  return () => {
    const now = Math.floor(deps.clock.now());
    if (now > lastMs) {
      lastMs = now;
      seq = 0;
    } else if (++seq >= SEQ_LIMIT) {
      lastMs += 1; // more than 3844 ids in one ms: borrow the next millisecond
      seq = 0;
    }
    let rnd = '';
    for (let i = 0; i < RANDOM_CHARS; i++) {
      rnd += ID_ALPHABET[Math.floor(deps.random.next() * BASE) % BASE] ?? '0';
    }
    return encodeBase62(lastMs, TIME_CHARS) + encodeBase62(seq, SEQ_CHARS) + rnd;
  };
}
