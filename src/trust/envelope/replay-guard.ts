/**
 * Replay protection: a message id is accepted once.
 *
 * The verifier asks the guard only about messages that are already authentic, addressed to this
 * party and fresh, so only a holder of a valid signing key can put an id into it. An id need be
 * remembered only until its message would be refused as stale anyway (`expiresAt`); after that the
 * staleness check does the guard's job, which is what keeps the guard bounded.
 *
 * A node may back `ReplayGuard` with its database (an `INSERT` into a table with a unique key on the
 * id, rows deleted once expired): then a restart does not reopen the window, and several processes of
 * one node share it. `MemoryReplayGuard` forgets everything on restart, so after a restart a message
 * seen in the last `maxAgeSeconds` could be accepted once more; it suits tests, the demo, and a node
 * whose operations are idempotent by other means (the records' unique processing numbers).
 */
import { RenkeiError } from '../../shared/errors.ts';
import type { Clock } from '../../shared/clock.ts';

const SWEEP_INTERVAL_MS = 1000;

export interface ReplayGuard {
  /**
   * True when `id` was not seen before (and is now remembered until `expiresAt`), false when it was.
   * Must be atomic: of two concurrent calls with one id, exactly one gets true.
   *
   * @throws RenkeiError ERR_REPLAY_GUARD_FULL (in `MemoryReplayGuard`) when it cannot remember more.
   */
  checkAndRemember(id: string, expiresAt: Date): Promise<boolean>;
}

export interface MemoryReplayGuardOptions {
  clock: Clock;
  /**
   * How many unexpired ids it holds at most. The default, 500,000 (about 65 MB), covers some 1,500
   * messages a second received by one node over a 330-second window (300 s age, 30 s skew): four
   * times the benchmark's 360 exchanges a second, each bringing the core two messages.
   */
  maxEntries?: number;
}

/**
 * An in-memory `ReplayGuard`, bounded: expired ids are swept out, and when `maxEntries` unexpired ids
 * are held it refuses new messages with ERR_REPLAY_GUARD_FULL (503) until some expire.
 *
 * We considered evicting the oldest id instead when full, as a cache would. But an evicted id that has
 * not expired can be replayed: a peer able to fill the guard (it needs a valid key, since only
 * verified messages reach here) would first flood it and then replay a message of its choosing. Failing
 * closed turns that flood into a refusal of service lasting at most one staleness window, which is
 * visible and recorded, instead of a silent replay; and unbounded growth would end in the process
 * running out of memory, a refusal of service to everyone.
 */
export class MemoryReplayGuard implements ReplayGuard {
  /** Expiry, in ms since the epoch, by id. */
  private readonly seen = new Map<string, number>();
  private readonly clock: Clock;
  private readonly maxEntries: number;
  /** The earliest expiry among `seen`, or Infinity: no sweep can free anything before it. */
  private nextExpiry = Infinity;
  /** Sweeps are O(n): at most one a second, unless the guard is full. */
  private nextSweepAt = -Infinity;

  constructor(options: MemoryReplayGuardOptions) {
    const maxEntries = options.maxEntries ?? 500_000;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new TypeError('maxEntries must be a positive integer');
    }
    this.clock = options.clock;
    this.maxEntries = maxEntries;
  }

  /** How many ids it holds (expired ones included until the next sweep). */
  get size(): number {
    return this.seen.size;
  }

  checkAndRemember(id: string, expiresAt: Date): Promise<boolean> {
    const now = this.clock.now().getTime();
    const expiry = expiresAt.getTime();
    if (Number.isNaN(expiry)) return Promise.reject(new TypeError('expiresAt must be a valid date'));
    const full = this.seen.size >= this.maxEntries;
    if (now >= this.nextExpiry && (full || now >= this.nextSweepAt)) this.sweep(now);
    const known = this.seen.get(id);
    if (known !== undefined && known > now) return Promise.resolve(false);
    if (known === undefined && this.seen.size >= this.maxEntries) {
      return Promise.reject(
        new RenkeiError(
          'ERR_REPLAY_GUARD_FULL',
          'Too many recent messages to check for replays; retry later.',
        ),
      );
    }
    this.seen.set(id, expiry);
    if (expiry < this.nextExpiry) this.nextExpiry = expiry;
    return Promise.resolve(true);
  }

  private sweep(now: number): void {
    let nextExpiry = Infinity;
    for (const [id, expiry] of this.seen) {
      if (expiry <= now) this.seen.delete(id);
      else if (expiry < nextExpiry) nextExpiry = expiry;
    }
    this.nextExpiry = nextExpiry;
    this.nextSweepAt = now + SWEEP_INTERVAL_MS;
  }
}
