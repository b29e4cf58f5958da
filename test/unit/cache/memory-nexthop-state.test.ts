import { describe, expect, it } from 'vitest';
import { createMemoryNexthopState } from '../../../src/cache/memory-nexthop-state.ts';
import { fakeClock } from '../../support/fakes.ts';

const q = { binding: 'smtp:example.test', endpoints: ['e1', 'e2'], tickets: ['t1'] };

describe('memory NexthopStateStore', () => {
  it('returns what was written until it expires', async () => {
    const clock = fakeClock();
    const s = createMemoryNexthopState({ clock });
    s.bind('smtp:example.test', 'e2', 1000);
    s.markDead('e1', 500);
    s.markBrokenTls('e2', 2000);
    s.putTicket('t1', Buffer.from('ticket'), 1000);
    let st = await s.read(q);
    expect(st.bound).toBe('e2');
    expect([...st.dead]).toEqual(['e1']);
    expect([...st.brokenTls]).toEqual(['e2']);
    expect(st.tickets.get('t1')?.toString()).toBe('ticket');
    clock.advance(500);
    st = await s.read(q);
    expect(st.dead.size).toBe(0);
    expect(st.bound).toBe('e2');
    clock.advance(500);
    st = await s.read(q);
    expect(st.bound).toBeUndefined();
    expect(st.tickets.size).toBe(0);
    expect([...st.brokenTls]).toEqual(['e2']);
  });
  it('clears a dead mark, ignores a zero lifetime and keeps at most maxEntries', async () => {
    const s = createMemoryNexthopState({ clock: fakeClock(), maxEntries: 3 });
    s.markDead('e1', 1000);
    s.clearDead('e1');
    s.markDead('e2', 0);
    expect((await s.read(q)).dead.size).toBe(0);
    for (let i = 0; i < 10; i++) s.markDead(`x${i}`, 1000);
    expect(s.size()).toBe(3);
    expect((await s.read({ binding: 'b', endpoints: ['x9', 'x0'], tickets: [] })).dead).toEqual(
      new Set(['x9']),
    );
  });
});
