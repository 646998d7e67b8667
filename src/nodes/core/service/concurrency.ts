/**
 * A counting semaphore for outbound calls. Forwarding runs after the 202, so without a bound a burst
 * of accepted inquiries would open one socket per inquiry at once and time them all out together;
 * with it, the excess waits in memory (in order) and each call's timeout only counts its own call.
 */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new TypeError('limit must be a positive integer');
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
