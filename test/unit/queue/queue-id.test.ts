import { describe, expect, it } from 'vitest';
import {
  createQueueIdGenerator,
  decodeBase62,
  encodeBase62,
  isQueueId,
  QUEUE_ID_LENGTH,
  queueIdTime,
} from '../../../src/queue/queue-id.ts';
import { fakeClock, seededRandom } from '../../support/fakes.ts';

describe('queue ids', () => {
  it('encodes base-62 with fixed width and round-trips', () => {
    expect(encodeBase62(0, 3)).toBe('000');
    expect(encodeBase62(61, 2)).toBe('0z');
    expect(decodeBase62(encodeBase62(1_735_689_600_123, 8))).toBe(1_735_689_600_123);
    expect(() => encodeBase62(62 ** 2, 2)).toThrow(RangeError);
  });

  it('are strictly increasing within a generator, also inside one millisecond', () => {
    const clock = fakeClock();
    const next = createQueueIdGenerator({ clock, random: seededRandom(1) });
    const ids: string[] = [];
    for (let i = 0; i < 5000; i++) {
      ids.push(next());
      if (i % 1000 === 999) clock.advance(1);
    }
    expect(ids.every((id) => isQueueId(id) && id.length === QUEUE_ID_LENGTH)).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('stay increasing when the clock goes backwards, and encode the time', () => {
    const clock = fakeClock(1_800_000_000_000);
    const next = createQueueIdGenerator({ clock, random: seededRandom(2) });
    const a = next();
    clock.set(1_700_000_000_000);
    const b = next();
    expect(b > a).toBe(true);
    expect(queueIdTime(a)).toBe(1_800_000_000_000);
  });

  it('sort by time across generators', () => {
    const clock = fakeClock();
    const g1 = createQueueIdGenerator({ clock, random: seededRandom(3) });
    const g2 = createQueueIdGenerator({ clock, random: seededRandom(4) });
    const first = g1();
    clock.advance(1);
    expect(g2() > first).toBe(true);
  });

  it('rejects malformed ids', () => {
    expect(isQueueId('short')).toBe(false);
    expect(isQueueId('0Vc0NBkA00Cp4c')).toBe(true);
    expect(isQueueId('0Vc0NBkA00Cp4!')).toBe(false);
  });
});
