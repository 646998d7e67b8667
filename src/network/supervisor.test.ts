import { describe, expect, it } from 'vitest';
import { StartWatch } from './supervisor.ts';

describe('a supervised node that is not ready yet (StartWatch)', () => {
  it('is waited for while its CPU time moves, on a machine too crowded for the limit of wall clock', () => {
    const watch = new StartWatch(120_000, 0);
    // Ten minutes starting, a little CPU every few seconds (a dozen nodes on two cores).
    for (let t = 5_000, cpu = 50; t < 590_000; t += 5_000, cpu += 50) {
      expect(watch.check(t, cpu)).toBe('starting');
    }
  });

  it('is given up when its CPU time stands still for the limit (hung, or waiting for what does not come)', () => {
    const watch = new StartWatch(120_000, 0);
    expect(watch.check(10_000, 800)).toBe('starting');
    expect(watch.check(129_000, 800)).toBe('starting');
    expect(watch.check(130_000, 800)).toBe('stalled');
  });

  it('is given up after five times the limit in all, however busy', () => {
    const watch = new StartWatch(1_000, 0);
    expect(watch.check(4_999, 4_999)).toBe('starting');
    expect(watch.check(5_000, 5_000)).toBe('too-long');
  });

  it('falls back to the limit of wall clock where the CPU time cannot be read (0)', () => {
    const watch = new StartWatch(1_000, 0);
    expect(watch.check(999, 0)).toBe('starting');
    expect(watch.check(1_000, 0)).toBe('stalled');
  });
});
