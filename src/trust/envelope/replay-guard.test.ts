import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../shared/clock.ts';
import { MemoryReplayGuard } from './replay-guard.ts';

const T0 = '2026-04-01T09:00:00.000Z';
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000);

describe('MemoryReplayGuard', () => {
  it('accepts an id once and refuses it again until it expires', async () => {
    const clock = fixedClock(T0);
    const guard = new MemoryReplayGuard({ clock });
    expect(await guard.checkAndRemember('jps a', at(300))).toBe(true);
    expect(await guard.checkAndRemember('jps a', at(300))).toBe(false);
    clock.set(at(299.999));
    expect(await guard.checkAndRemember('jps a', at(600))).toBe(false);
  });

  it('forgets an id once it has expired, since the staleness check refuses its message by then', async () => {
    const clock = fixedClock(T0);
    const guard = new MemoryReplayGuard({ clock });
    await guard.checkAndRemember('jps a', at(300));
    await guard.checkAndRemember('jps b', at(400));
    clock.set(at(300));
    await guard.checkAndRemember('jps c', at(600));
    expect(guard.size).toBe(2);
    expect(await guard.checkAndRemember('jps b', at(700))).toBe(false);
  });

  it('refuses new ids when full rather than forgetting unexpired ones, a flood followed by a replay (ERR_REPLAY_GUARD_FULL)', async () => {
    const clock = fixedClock(T0);
    const guard = new MemoryReplayGuard({ clock, maxEntries: 3 });
    for (const id of ['a', 'b', 'c']) await guard.checkAndRemember(id, at(300));
    await expect(guard.checkAndRemember('d', at(300))).rejects.toThrow(
      expect.objectContaining({ code: 'ERR_REPLAY_GUARD_FULL' }),
    );
    // The flood did not push out the first id: it is still refused.
    expect(await guard.checkAndRemember('a', at(300))).toBe(false);
    expect(guard.size).toBe(3);
  });

  it('takes new ids again as soon as old ones expire when full, without waiting for the next periodic sweep', async () => {
    const clock = fixedClock(T0);
    const guard = new MemoryReplayGuard({ clock, maxEntries: 2 });
    await guard.checkAndRemember('a', at(1));
    clock.set(at(1));
    await guard.checkAndRemember('b', at(20)); // sweeps out a; the next periodic sweep is not before 2 s
    await guard.checkAndRemember('c', at(1.5));
    clock.set(at(1.6));
    expect(await guard.checkAndRemember('d', at(20))).toBe(true);
    expect(guard.size).toBe(2);
  });

  it('stays bounded under a steady stream of messages', async () => {
    const clock = fixedClock(T0);
    const guard = new MemoryReplayGuard({ clock, maxEntries: 1000 });
    // 10 messages a second for 10 minutes, each remembered for 60 s: never more than ~610 at once.
    for (let i = 0; i < 6000; i++) {
      clock.set(at(i / 10));
      expect(await guard.checkAndRemember(`id-${i}`, at(i / 10 + 60))).toBe(true);
    }
    expect(guard.size).toBeLessThanOrEqual(611);
  });

  it('treats a bad bound or expiry as a caller mistake', async () => {
    const clock = fixedClock(T0);
    expect(() => new MemoryReplayGuard({ clock, maxEntries: 0 })).toThrow(TypeError);
    expect(() => new MemoryReplayGuard({ clock, maxEntries: 1.5 })).toThrow(TypeError);
    await expect(new MemoryReplayGuard({ clock }).checkAndRemember('a', new Date(NaN))).rejects.toThrow(
      TypeError,
    );
  });
});
