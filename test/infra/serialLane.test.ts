import { describe, expect, it } from 'vitest';
import { SerialLane } from '../../src/infra/serialLane.js';

describe('SerialLane', () => {
  it('runs tasks one at a time in the order given, a failure failing only its own task', async () => {
    const lane = new SerialLane();
    const events: string[] = [];
    let running = 0;
    const task = (name: string, fail = false) =>
      lane.run(async () => {
        running += 1;
        expect(running).toBe(1);
        events.push(`start ${name}`);
        await new Promise((r) => setImmediate(r));
        events.push(`end ${name}`);
        running -= 1;
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([task('a'), task('b', true), task('c')]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['a', 'b', 'c']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(events).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });
});
