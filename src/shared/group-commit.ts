/**
 * Group commit: write transactions of one database issued close together (in the same turn of the
 * event loop, or while the previous group is committing) run one after the other inside ONE
 * database transaction, and are committed together. Each caller's promise settles only after that
 * commit, so nothing is acknowledged before it is as durable as a transaction of its own would have
 * made it; a commit that fails fails every caller of the group.
 *
 * Why: on the exchange path each party's writes were one transaction each (six commits per exchange
 * across the three parties), and a commit is the expensive part of a small transaction: on SQLite
 * every page the transaction touched is written to the WAL again (the tail pages of the record log's
 * tables are the same for every exchange), and a checkpoint follows every thousand pages; on
 * PostgreSQL every commit waits for its WAL flush. Under load, a group of n writes costs about one
 * commit instead of n. At low load a group is one transaction, as before (the extra wait is a
 * `setImmediate`, not a timer).
 *
 * Each caller's work runs within a savepoint of the group's transaction, so one that throws (a
 * unique violation, a check that fails) undoes only its own writes and rejects only its own promise;
 * its neighbours still commit. A group of one runs without a savepoint.
 *
 * A group has a state of its own (`GroupHooks`), made when it begins and written just before it
 * commits: the record log uses it to append the events of all the group's works to its Merkle log in
 * one append (one read of the tree's edge, one insert of its new nodes) instead of one per work.
 * A work that fails is rewound out of that state as out of the database.
 *
 * We considered a timed window (wait 1–2 ms for company, as some databases do) and rejected it: the
 * group that forms while the previous one commits is already as large as the load makes it, and a
 * timer would add its delay to every write at low load.
 *
 * Rules for callers: the work must use only the transaction it is given (a query on the database
 * itself waits for the group to end — which waits for the work: a deadlock, as with any transaction),
 * and must not call `transaction()` of the same group commit from inside its work.
 */
import type { Kysely, Transaction } from 'kysely';

/** What a group does besides its works: see the module comment. */
export interface GroupHooks<DB, G> {
  /** At the start of each group's transaction, before any work: the group's state. */
  begin: (trx: Transaction<DB>) => Promise<G>;
  /** Where the state stands before a work, and how to take that work's part out of it when it fails. */
  mark: (group: G) => number;
  rewind: (group: G, mark: number) => void;
  /** After the last work, before the commit; throwing fails the whole group. */
  beforeCommit: (trx: Transaction<DB>, group: G) => Promise<void>;
}

export interface GroupCommitOptions {
  /** Most works in one group (default 256): bounds how long a group holds the database. */
  maxGroup?: number;
}

interface Pending<DB, G> {
  work: (trx: Transaction<DB>, group: G) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

const SAVEPOINT = 'group_commit_work';

export class GroupCommit<DB, G> {
  private queue: Pending<DB, G>[] = [];
  /** The group being written, if any; the next one starts when it has committed. */
  private running: Promise<void> | undefined;
  private scheduled = false;
  private readonly maxGroup: number;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly hooks: GroupHooks<DB, G>,
    options: GroupCommitOptions = {},
  ) {
    this.maxGroup = options.maxGroup ?? 256;
  }

  /**
   * Run `work` in a transaction committed together with those of other callers; resolves with its
   * result once committed. Rejects with the work's own error (its writes undone, the group's others
   * committed), or with the transaction's error (nothing of the group written).
   */
  transaction<T>(work: (trx: Transaction<DB>, group: G) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Wait until every work queued so far is committed (or has failed): before closing the database. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.running !== undefined || this.scheduled) {
      await (this.running ?? new Promise((resolve) => setImmediate(resolve)));
    }
  }

  private schedule(): void {
    if (this.scheduled || this.running !== undefined) return;
    this.scheduled = true;
    // Let the rest of this turn's callers join the group.
    setImmediate(() => {
      this.scheduled = false;
      this.startGroup();
    });
  }

  private startGroup(): void {
    if (this.queue.length === 0) return;
    const group = this.queue.splice(0, this.maxGroup);
    this.running = this.runGroup(group).finally(() => {
      this.running = undefined;
      if (this.queue.length > 0) this.schedule();
    });
  }

  private async runGroup(works: Pending<DB, G>[]): Promise<void> {
    let outcomes: Outcome[];
    try {
      outcomes = await this.write(works);
    } catch (error) {
      for (const pending of works) pending.reject(error);
      return;
    }
    outcomes.forEach((outcome, i) => {
      const pending = works[i]!;
      if (outcome.ok) pending.resolve(outcome.value);
      else pending.reject(outcome.error);
    });
  }

  /**
   * The group's transaction. Throws (so that every caller is rejected) when the transaction itself
   * fails: its start, a hook, a savepoint statement, or the commit. A group of one needs no savepoint:
   * its work failing fails the transaction, which has nothing else in it.
   */
  private async write(works: Pending<DB, G>[]): Promise<Outcome[]> {
    const trx = await this.db.startTransaction().execute();
    try {
      const group = await this.hooks.begin(trx);
      const outcomes: Outcome[] = [];
      if (works.length === 1) {
        outcomes.push({ ok: true, value: await works[0]!.work(trx, group) });
      } else {
        for (const pending of works) {
          const mark = this.hooks.mark(group);
          const inner = await trx.savepoint(SAVEPOINT).execute();
          try {
            const value = await pending.work(inner, group);
            await inner.releaseSavepoint(SAVEPOINT).execute();
            outcomes.push({ ok: true, value });
          } catch (error) {
            this.hooks.rewind(group, mark);
            try {
              await inner.rollbackToSavepoint(SAVEPOINT).execute();
              await inner.releaseSavepoint(SAVEPOINT).execute();
            } catch {
              // The error took the whole transaction with it (SQLite rolls it back itself on a full
              // disk, SQLITE_FULL): the group fails, with the work's error rather than "no such
              // savepoint", which would hide what to put right.
              throw error;
            }
            outcomes.push({ ok: false, error });
          }
        }
      }
      await this.hooks.beforeCommit(trx, group);
      await trx.commit().execute();
      return outcomes;
    } catch (error) {
      await trx
        .rollback()
        .execute()
        .catch(() => undefined);
      throw error;
    }
  }
}
