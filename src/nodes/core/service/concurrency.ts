/**
 * Bounds on the core's outbound calls. Forwarding runs after the 202, so without a bound a burst of
 * accepted inquiries would open one socket per inquiry at once and time them all out together; with
 * one, the excess waits in memory (in order).
 *
 * One shared bound alone let one slow provider hold every slot: 300 inquiries to a provider that
 * takes 30 s each filled the pool, and an unrelated pair of institutions waited behind them. So a
 * call first takes a slot of its peer (at most `perPeer` calls to one institution), and only then one
 * of the shared pool (`total`, which bounds sockets and memory): calls queued for a slow peer wait in
 * that peer's queue and hold nothing that another peer's calls need.
 */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new TypeError('limit must be a positive integer');
  }

  get idle(): boolean {
    return this.active === 0 && this.waiting.length === 0;
  }

  /** Slots taken, and calls waiting for one. */
  get load(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }

  /**
   * Take a slot, waiting in order; false if `deadline` (a `Date.now()` time) passes first, and the
   * place in the queue is given up.
   */
  async acquire(deadline?: number): Promise<boolean> {
    if (this.active < this.limit) {
      this.active++;
      return true;
    }
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const granted = () => {
        if (timer) clearTimeout(timer);
        resolve(true);
      };
      this.waiting.push(granted);
      if (deadline !== undefined) {
        timer = setTimeout(
          () => {
            const at = this.waiting.indexOf(granted);
            if (at >= 0) this.waiting.splice(at, 1);
            resolve(false);
          },
          Math.max(0, deadline - Date.now()),
        );
      }
    });
  }

  /** Give a slot back: to the next in the queue, if any. */
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

export const DEFAULT_MAX_CALLS_PER_INSTITUTION = 32;
export const DEFAULT_MAX_OUTBOUND_CALLS = 256;

/** What `OutboundLimits.run` answers when the deadline passed while the call waited its turn. */
export const QUEUE_DEADLINE_PASSED = Symbol('queue deadline passed');

export class OutboundLimits {
  private readonly shared: Semaphore;
  private readonly peers = new Map<string, Semaphore>();

  constructor(private readonly limits: { total: number; perPeer: number }) {
    this.shared = new Semaphore(limits.total);
    if (!Number.isInteger(limits.perPeer) || limits.perPeer < 1) {
      throw new TypeError('perPeer must be a positive integer');
    }
  }

  /**
   * The calls of each peer with any now (`active`: holding a slot of the peer, running or waiting for
   * one of the shared pool; `waiting`: for a slot of the peer), and of the shared pool (`peer` null).
   */
  load(): { peer: string | null; active: number; waiting: number }[] {
    return [
      { peer: null, ...this.shared.load },
      ...[...this.peers].map(([peer, semaphore]) => ({ peer, ...semaphore.load })),
    ];
  }

  /**
   * Run `work` once a slot of `peer` and one of the shared pool are free; `QUEUE_DEADLINE_PASSED`,
   * without running it, if `deadline` (a `Date.now()` time) passes first.
   */
  async run<T>(
    peer: string,
    work: () => Promise<T>,
    deadline?: number,
  ): Promise<T | typeof QUEUE_DEADLINE_PASSED> {
    let own = this.peers.get(peer);
    if (!own) {
      own = new Semaphore(this.limits.perPeer);
      this.peers.set(peer, own);
    }
    try {
      if (!(await own.acquire(deadline))) return QUEUE_DEADLINE_PASSED;
      try {
        if (!(await this.shared.acquire(deadline))) return QUEUE_DEADLINE_PASSED;
        try {
          return await work();
        } finally {
          this.shared.release();
        }
      } finally {
        own.release();
      }
    } finally {
      if (own.idle) this.peers.delete(peer);
    }
  }
}
