/**
 * When a party signs its tree head: after every `everyAppends` leaves, every `everyMs` (if the log grew)
 * and at close. A head protects what it covers, so sign often; but a signature per append would cost an
 * ECDSA signature and a row per provision record, for nothing a head a second later does not give.
 *
 * Store-agnostic: the node hands it its log (over the database, outside any transaction, so that a head
 * only ever covers committed leaves) and a `save` that writes the head where the node keeps them. Heads
 * are signed one at a time, each over the size the log has when it starts, never twice for one size.
 *
 * We considered signing inside the append transaction (every head then exactly current), but the
 * signature would lengthen every record's transaction, and an append would fail when signing does.
 */
import type { Clock } from '../../shared/clock.ts';
import type { MerkleLog } from './log.ts';
import { signTreeHead, type TreeHeadKey } from './tree-head.ts';
import { toHex } from './hash.ts';

/** A head as the signer saves it: what it says, the key id, and the compact JWS that counts. */
export interface HeadToSave {
  readonly treeSize: number;
  readonly rootHash: Uint8Array;
  /** `rootHash` in lower-case hex, as it is stored and shown. */
  readonly rootHex: string;
  readonly timestamp: number;
  readonly kid: string;
  readonly jws: string;
}

export interface TreeHeadSignerOptions {
  log: Pick<MerkleLog, 'size' | 'root'>;
  /** The party's P-256 private key (its identity key) and the key id its heads name. */
  key: TreeHeadKey;
  kid: string;
  clock: Clock;
  save(head: HeadToSave): Promise<void>;
  /** The size the latest saved head covers (0 when none); read once, before the first signature. */
  lastSignedSize(): Promise<number>;
  /** Sign once this many leaves were appended since the last head (default 100). */
  everyAppends?: number;
  /** And every this many milliseconds if the log grew (default 60,000); 0 for no timer. */
  everyMs?: number;
  /** A signature or a save that failed: the next one covers the same leaves, so it is only reported. */
  onError(error: unknown): void;
}

export class TreeHeadSigner {
  private readonly everyAppends: number;
  private readonly timer: NodeJS.Timeout | undefined;
  private sinceLast = 0;
  private signed: number | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** Throws a TypeError for a schedule that is not positive integers (a programming mistake). */
  constructor(private readonly options: TreeHeadSignerOptions) {
    this.everyAppends = options.everyAppends ?? 100;
    const everyMs = options.everyMs ?? 60_000;
    if (!Number.isSafeInteger(this.everyAppends) || this.everyAppends < 1)
      throw new TypeError('everyAppends is a positive integer.');
    if (!Number.isSafeInteger(everyMs) || everyMs < 0)
      throw new TypeError('everyMs is a non-negative integer.');
    if (everyMs > 0) this.timer = setInterval(() => void this.signNow(), everyMs).unref();
  }

  /** Tell the signer that `count` leaves were committed; signs when the schedule says so. */
  appended(count = 1): void {
    this.sinceLast += count;
    if (this.sinceLast < this.everyAppends) return;
    this.sinceLast = 0;
    void this.signNow();
  }

  /** Resolves when no signature is under way. */
  async idle(): Promise<void> {
    await this.queue;
  }

  /**
   * Sign a head over the log as it is now, unless a head already covers it; resolves with the head
   * saved, or undefined. Never rejects: a failure goes to `onError`.
   */
  signNow(): Promise<HeadToSave | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    return this.enqueue();
  }

  /** Stop the timer and sign what the last head does not cover yet. */
  async close(): Promise<void> {
    if (this.closed) {
      await this.queue;
      return;
    }
    if (this.timer) clearInterval(this.timer);
    const last = this.enqueue();
    this.closed = true;
    await last;
  }

  private enqueue(): Promise<HeadToSave | undefined> {
    const run = this.queue.then(() => this.sign());
    this.queue = run;
    return run;
  }

  private async sign(): Promise<HeadToSave | undefined> {
    const { log, key, kid, clock } = this.options;
    try {
      this.signed ??= await this.options.lastSignedSize();
      const treeSize = await log.size();
      if (treeSize <= this.signed) return undefined;
      const rootHash = await log.root(treeSize);
      const timestamp = clock.now().getTime();
      const jws = await signTreeHead({ treeSize, rootHash, timestamp }, key, kid);
      const head: HeadToSave = { treeSize, rootHash, rootHex: toHex(rootHash), timestamp, kid, jws };
      await this.options.save(head);
      this.signed = treeSize;
      return head;
    } catch (error) {
      this.options.onError(error);
      return undefined;
    }
  }
}
