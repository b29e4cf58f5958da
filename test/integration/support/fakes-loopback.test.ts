import { connect, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { fakeClock, memoryLogger, seededRandom } from '../../support/fakes.ts';
import { allocateLoopbackBlock } from '../../support/loopback.ts';

describe('fakes', () => {
  it('fakeClock advances and sets', () => {
    const c = fakeClock(1000);
    expect(c.now()).toBe(1000);
    c.advance(500);
    expect(c.now()).toBe(1500);
    c.set(42);
    expect(c.now()).toBe(42);
  });

  it('seededRandom is deterministic, in [0,1), and differs per seed', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const c = seededRandom(8);
    const xs = Array.from({ length: 100 }, () => a.next());
    expect(Array.from({ length: 100 }, () => b.next())).toEqual(xs);
    expect(c.next()).not.toBe(xs[0]);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
    expect(new Set(xs).size).toBeGreaterThan(90);
  });

  it('memoryLogger records levels, messages and child bindings', () => {
    const log = memoryLogger();
    log.info({ a: 1 }, 'hello');
    log.child({ qid: 'Q1' }).warn({ b: 2 });
    expect(log.records).toEqual([
      { level: 'info', a: 1, msg: 'hello' },
      { level: 'warn', qid: 'Q1', b: 2 },
    ]);
  });
});

describe('loopback blocks', () => {
  it('hands out distinct usable blocks and frees them', async () => {
    const a = allocateLoopbackBlock();
    const b = allocateLoopbackBlock();
    try {
      expect(a.prefix).not.toBe(b.prefix);
      expect(a.addr(1)).toBe(`${a.prefix}.1`);
      expect(a.prefix).toMatch(/^127\.\d+\.\d+$/);
      expect(() => a.addr(0)).toThrow();
      const server = createServer((s) => s.end('hi'));
      await new Promise<void>((r) => server.listen(0, a.addr(2), r));
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      const got = await new Promise<string>((resolve, reject) => {
        const s = connect({ host: a.addr(2), port, localAddress: a.addr(3) });
        let data = '';
        s.on('data', (d) => {
          data += d.toString();
        });
        s.on('end', () => resolve(data));
        s.on('error', reject);
      });
      server.close();
      expect(got).toBe('hi');
    } finally {
      a.release();
      b.release();
    }
  });
});
