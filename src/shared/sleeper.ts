/**
 * Waits that a closing service can cut short: `sleep(ms)` resolves after `ms`, or at once when
 * `wakeAll()` is called (a node shutting down must not wait out a retry's backoff).
 */
export class Sleeper {
  private readonly sleepers = new Set<() => void>();

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  /** Resolve every pending sleep now. */
  wakeAll(): void {
    for (const wake of this.sleepers) wake();
  }
}
