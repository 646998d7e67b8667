/**
 * Sends a node must make until the other side acknowledges them: each one's state is in the store
 * (so the next start sends what this run could not), and here is the loop that retries it with
 * growing waits until it is done or the node closes. The core's provider notices and notices of
 * change (core/service/), and J-LIS's notices of change (jlis/service/resident-notices.ts) use it.
 */
import { RenkeiError } from './errors.ts';
import type { Logger } from './logger.ts';
import { Sleeper } from './sleeper.ts';

/** The first waits between attempts (200 ms, 1 s, 5 s), then doubling up to the cap. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [200, 1_000, 5_000];

/** The wait before retry `retry` (from 0): the listed ones, then doubling the last up to `maxMs`. */
export function retryDelay(retry: number, delays: readonly number[], maxMs: number): number {
  const listed = delays[retry];
  if (listed !== undefined) return Math.min(listed, maxMs);
  const last = delays.at(-1) ?? 1_000;
  const doubled = last * 2 ** Math.min(retry - delays.length + 1, 30);
  return Math.min(doubled, maxMs);
}

/**
 * What one attempt came to: `done` (acknowledged, or ended for good: stop), `again` (try again after
 * the next wait).
 */
export type AttemptResult = 'done' | 'again';

/**
 * An `onError` that warns of a failed attempt on the first retry and every tenth after it (the
 * error's code only, never its message or details), so that a long outage is logged without flooding.
 */
export function warnEveryTenthRetry(
  logger: Logger,
  message: string,
): (error: unknown, retry: number) => void {
  return (error, retry) => {
    if (retry % 10 === 0) {
      logger.warn({ code: error instanceof RenkeiError ? error.code : undefined, retry }, message);
    }
  };
}

export class DurableSends {
  private readonly running = new Set<Promise<void>>();
  private readonly sleeper = new Sleeper();
  private closing = false;

  constructor(
    private readonly options: {
      retryDelaysMs?: readonly number[] | undefined;
      maxRetryDelayMs: number;
      /** Told of an attempt that threw (the send goes on) and of a send given up by a bug. */
      onError: (error: unknown, retry: number) => void;
    },
  ) {}

  get isClosing(): boolean {
    return this.closing;
  }

  /**
   * Run `attempt` (given the retry count, from 0) until it answers `done` or the core closes; an
   * attempt that throws counts as `again`. Runs in the background; `whenIdle` waits for it.
   */
  send(attempt: (retry: number) => Promise<AttemptResult>): void {
    const work = (async () => {
      for (let retry = 0; !this.closing; retry++) {
        try {
          if ((await attempt(retry)) === 'done') return;
        } catch (error) {
          this.options.onError(error, retry);
        }
        if (this.closing) return;
        await this.sleeper.sleep(
          retryDelay(
            retry,
            this.options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
            this.options.maxRetryDelayMs,
          ),
        );
      }
    })();
    this.running.add(work);
    void work.finally(() => this.running.delete(work));
  }

  /** Resolves when every send so far has ended (acknowledged, given up, or cut short by `close`). */
  async whenIdle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** Stop: waits cut short, no new attempt; what was not acknowledged stays in the store. */
  async close(): Promise<void> {
    this.closing = true;
    this.sleeper.wakeAll();
    await this.whenIdle();
  }
}
