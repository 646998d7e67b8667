/**
 * The tables of a party's tamper-evident record log, the same in the core's database, in each
 * intermediate server's and in the Myna Portal's: `record_events` (every change to a provision record, as a new row), the
 * Merkle log over them (`merkle_nodes`, src/trust/merkle/README.md) and its signed tree heads
 * (`tree_heads`). Here are their schema and their Kysely access; what an event says, and the Merkle
 * log itself, belong to the nodes and to `src/trust/merkle/`. The queries the parties' audits share
 * are here too (`eventsWithoutRecord`, `pageByProcessingNumber`, `findRecordEventsAt`), so that the
 * nodes' stores do not each write them out again.
 *
 * Why here, in `shared/`: the core and the intermediate server hold the same three tables, and a
 * node may not import another node; the trust layer may not import Kysely. So this file holds the
 * storage half and imports nothing of the trust layer: `KyselyMerkleStore` implements the Merkle
 * library's `MerkleStore` port structurally (same three methods, same contract, checked by the
 * library's `merkleStoreContract` suite in the test beside this file). We considered one copy per
 * node, but two copies of a store that must never drift apart is the wrong kind of independence.
 *
 * Dialect-agnostic (SQLite by default, PostgreSQL later): plain inserts and selects, row values for
 * `(level, idx) IN (...)` (SQLite ≥ 3.15, PostgreSQL), unique violations recognised by either
 * dialect's code. No update and no delete on `merkle_nodes`, ever. The one change ever made to an
 * event row is the retention purge turning it into a tombstone (`tombstoneEvents`).
 */
import { sql, type Kysely, type SelectQueryBuilder, type Transaction } from 'kysely';
import { columnTypes, isUniqueViolation, lockForAppend, precompiled } from './db.ts';
import { GroupCommit } from './group-commit.ts';
import { RenkeiError } from './errors.ts';
import type { RecordEventRow, StoredRecordEvent, StoredTreeHead } from './record-log.ts';
import { pingDatabase } from './readiness.ts';

export type { RecordEventRow, StoredRecordEvent, StoredTreeHead } from './record-log.ts';

export interface RecordLogTables {
  /**
   * One row per event of a provision record, in log order. `body` is the canonical JSON of the event,
   * exactly the Merkle leaf's bytes; `processing_number`, `role`, `event` and `at` repeat what it says,
   * for indexes only (a verifier checks they agree). Once purged, only `idx` and `leaf_hash` remain.
   */
  record_events: {
    idx: number;
    processing_number: string | null;
    role: string | null;
    event: string | null;
    at: string | null;
    body: string | null;
    leaf_hash: Uint8Array | null;
  };
  /** Perfect-subtree hashes of the Merkle log, keyed by (level, idx). Insert-only. */
  merkle_nodes: { level: number; idx: number; hash: Uint8Array };
  /** Signed tree heads (compact JWS), with what they say for queries; the JWS is what counts. */
  tree_heads: {
    tree_size: number;
    root_hash: string;
    timestamp: number;
    kid: string;
    jws: string;
  };
}

/**
 * Create the three tables. Called from one migration of each node; like any migration, never change
 * what it creates: add a new migration instead.
 */
export async function createRecordLogTables(db: Kysely<unknown>): Promise<void> {
  const { bytes, bigint } = columnTypes(db);
  await db.schema
    .createTable('record_events')
    .addColumn('idx', bigint, (c) => c.primaryKey())
    .addColumn('processing_number', 'text')
    .addColumn('role', 'text')
    .addColumn('event', 'text')
    .addColumn('at', 'text')
    .addColumn('body', 'text')
    .addColumn('leaf_hash', bytes)
    .execute();
  await db.schema
    .createIndex('record_events_processing_number')
    .on('record_events')
    .columns(['processing_number', 'idx'])
    .execute();
  await db.schema
    .createTable('merkle_nodes')
    .addColumn('level', 'integer', (c) => c.notNull())
    .addColumn('idx', bigint, (c) => c.notNull())
    .addColumn('hash', bytes, (c) => c.notNull().check(sql`length(hash) = 32`))
    .addPrimaryKeyConstraint('merkle_nodes_pk', ['level', 'idx'])
    .execute();
  await db.schema
    .createTable('tree_heads')
    .addColumn('tree_size', bigint, (c) => c.notNull())
    .addColumn('root_hash', 'text', (c) => c.notNull())
    .addColumn('timestamp', bigint, (c) => c.notNull())
    .addColumn('kid', 'text', (c) => c.notNull())
    .addColumn('jws', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('tree_heads_pk', ['tree_size', 'timestamp'])
    .execute();
}

/** Bound parameters per statement: well under SQLite's limit (32,766), fine for PostgreSQL. */
const MAX_PARAMS = 3_000;

type Db = Kysely<RecordLogTables>;

/** A Kysely over a node's database that also has these tables, seen as just these tables. */
export function recordLogDb<DB extends RecordLogTables>(db: Kysely<DB> | Transaction<DB>): Db {
  return db as unknown as Db;
}

const copy = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes);

/** Read before every append: compiled once (db.ts `precompiled`). */
const selectLogSize = precompiled<
  RecordLogTables,
  Record<string, never>,
  { max: string | number | bigint | null }
>((db) =>
  db
    .selectFrom('merkle_nodes')
    .select((eb) => eb.fn.max('idx').as('max'))
    .where('level', '=', 0),
);

/**
 * The Merkle library's `MerkleStore` port over `merkle_nodes` (see the module comment for why the
 * type is structural). Bind it to a transaction to append in the record's transaction.
 *
 * Errors: `putNodes` throws ERR_MERKLE_APPEND_CONFLICT when a key exists (nothing of the batch is
 * written: its own transaction, or the caller's, which the error rolls back).
 */
export class KyselyMerkleStore {
  private readonly db: Db;

  constructor(db: Kysely<RecordLogTables> | Transaction<RecordLogTables>) {
    this.db = db;
  }

  async size(): Promise<number> {
    const row = (await selectLogSize(this.db, {})).rows[0];
    return row?.max === null || row?.max === undefined ? 0 : Number(row.max) + 1;
  }

  async getNodes(keys: readonly { level: number; index: number }[]): Promise<(Uint8Array | undefined)[]> {
    const found = new Map<string, Uint8Array>();
    const unique = [...new Map(keys.map((k) => [`${k.level}:${k.index}`, k])).values()];
    for (let i = 0; i < unique.length; i += MAX_PARAMS / 2) {
      const chunk = unique.slice(i, i + MAX_PARAMS / 2);
      const rows = await this.db
        .selectFrom('merkle_nodes')
        .select(['level', 'idx', 'hash'])
        .where((eb) =>
          eb(
            eb.refTuple('level', 'idx'),
            'in',
            chunk.map((k) => eb.tuple(k.level, k.index)),
          ),
        )
        .execute();
      for (const row of rows) found.set(`${Number(row.level)}:${Number(row.idx)}`, copy(row.hash));
    }
    return keys.map((k) => {
      const hash = found.get(`${k.level}:${k.index}`);
      return hash === undefined ? undefined : copy(hash);
    });
  }

  async putNodes(nodes: readonly { level: number; index: number; hash: Uint8Array }[]): Promise<void> {
    if (nodes.length === 0) return;
    const insert = async (trx: Db) => {
      for (let i = 0; i < nodes.length; i += MAX_PARAMS / 3) {
        await trx
          .insertInto('merkle_nodes')
          .values(
            nodes.slice(i, i + MAX_PARAMS / 3).map((n) => ({
              level: n.level,
              idx: n.index,
              hash: Buffer.from(n.hash),
            })),
          )
          .execute();
      }
    };
    try {
      if (this.db.isTransaction) await insert(this.db);
      else await this.db.transaction().execute(insert);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      throw new RenkeiError(
        'ERR_MERKLE_APPEND_CONFLICT',
        'A node of the Merkle log already exists: another appender took these indices.',
      );
    }
  }
}

/** Write event rows (in the caller's transaction, after the Merkle append gave their indices). */
export async function insertRecordEvents(db: Db, rows: readonly RecordEventRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += MAX_PARAMS / 7) {
    await db
      .insertInto('record_events')
      .values(
        rows.slice(i, i + MAX_PARAMS / 7).map((r) => ({
          idx: r.idx,
          processing_number: r.processingNumber,
          role: r.role,
          event: r.event,
          at: r.at,
          body: r.body,
          leaf_hash: null,
        })),
      )
      .execute();
  }
}

function toStoredEvent(row: RecordLogTables['record_events']): StoredRecordEvent {
  if (row.body === null)
    return { idx: Number(row.idx), leafHash: row.leaf_hash && copy(row.leaf_hash), body: null };
  return {
    idx: Number(row.idx),
    processingNumber: row.processing_number,
    role: row.role,
    event: row.event,
    at: row.at,
    body: row.body,
  };
}

/** Event rows in log order, `limit` at a time after index `after` (-1 for the first page). */
export async function listRecordEvents(db: Db, after: number, limit: number): Promise<StoredRecordEvent[]> {
  const rows = await db
    .selectFrom('record_events')
    .selectAll()
    .where('idx', '>', after)
    .orderBy('idx')
    .limit(limit)
    .execute();
  return rows.map(toStoredEvent);
}

/** The events of some records (not purged ones), by processing number then log index. */
export async function listRecordEventsOf(
  db: Db,
  processingNumbers: readonly string[],
): Promise<StoredRecordEvent[]> {
  const out: StoredRecordEvent[] = [];
  const unique = [...new Set(processingNumbers)];
  for (let i = 0; i < unique.length; i += MAX_PARAMS) {
    const rows = await db
      .selectFrom('record_events')
      .selectAll()
      .where('processing_number', 'in', unique.slice(i, i + MAX_PARAMS))
      .orderBy('processing_number')
      .orderBy('idx')
      .execute();
    out.push(...rows.map(toStoredEvent));
  }
  return out;
}

/** The event rows at these log indices (absent: no such row), by index. */
export async function findRecordEventsAt(
  db: Db,
  indices: readonly number[],
): Promise<Map<number, StoredRecordEvent>> {
  const out = new Map<number, StoredRecordEvent>();
  const unique = [...new Set(indices)];
  for (let i = 0; i < unique.length; i += MAX_PARAMS) {
    const rows = await db
      .selectFrom('record_events')
      .selectAll()
      .where('idx', 'in', unique.slice(i, i + MAX_PARAMS))
      .execute();
    for (const row of rows) out.set(Number(row.idx), toStoredEvent(row));
  }
  return out;
}

/**
 * Turn events into tombstones: the body and every column that repeats it set to NULL, the leaf hash
 * (computed by the caller from the body, never copied from `merkle_nodes`) kept, so that the log,
 * its old heads and old proofs stay valid. In the caller's transaction, with the records' deletion.
 */
export async function tombstoneRecordEvents(
  db: Db,
  events: readonly { idx: number; leafHash: Uint8Array }[],
): Promise<void> {
  for (const event of events) {
    await db
      .updateTable('record_events')
      .set({
        processing_number: null,
        role: null,
        event: null,
        at: null,
        body: null,
        leaf_hash: Buffer.from(event.leafHash),
      })
      .where('idx', '=', event.idx)
      .execute();
  }
}

export async function insertTreeHead(db: Db, head: StoredTreeHead): Promise<void> {
  await db
    .insertInto('tree_heads')
    .values({
      tree_size: head.treeSize,
      root_hash: head.rootHash,
      timestamp: head.timestamp,
      kid: head.kid,
      jws: head.jws,
    })
    .execute();
}

/** Every stored head, by size then time. */
export async function listTreeHeads(db: Db): Promise<StoredTreeHead[]> {
  const rows = await db
    .selectFrom('tree_heads')
    .selectAll()
    .orderBy('tree_size')
    .orderBy('timestamp')
    .execute();
  return rows.map((r) => ({
    treeSize: Number(r.tree_size),
    rootHash: r.root_hash,
    timestamp: Number(r.timestamp),
    kid: r.kid,
    jws: r.jws,
  }));
}

/** The `limit` heads of the largest trees, largest first, and how many are stored. */
export async function newestTreeHeads(
  db: Db,
  limit: number,
): Promise<{ count: number; heads: StoredTreeHead[] }> {
  const [rows, total] = await Promise.all([
    db
      .selectFrom('tree_heads')
      .selectAll()
      .orderBy('tree_size', 'desc')
      .orderBy('timestamp', 'desc')
      .limit(limit)
      .execute(),
    db
      .selectFrom('tree_heads')
      .select((eb) => eb.fn.countAll().as('count'))
      .executeTakeFirst(),
  ]);
  return {
    count: Number(total?.count ?? 0),
    heads: rows.map((r) => ({
      treeSize: Number(r.tree_size),
      rootHash: r.root_hash,
      timestamp: Number(r.timestamp),
      kid: r.kid,
      jws: r.jws,
    })),
  };
}

/** The head of the largest tree (the latest signed, of several of one size); undefined when none. */
export async function latestTreeHead(db: Db): Promise<StoredTreeHead | undefined> {
  const row = await db
    .selectFrom('tree_heads')
    .selectAll()
    .orderBy('tree_size', 'desc')
    .orderBy('timestamp', 'desc')
    .limit(1)
    .executeTakeFirst();
  return (
    row && {
      treeSize: Number(row.tree_size),
      rootHash: row.root_hash,
      timestamp: Number(row.timestamp),
      kid: row.kid,
      jws: row.jws,
    }
  );
}

/** The largest tree size a stored head covers; 0 when none. */
export async function latestTreeHeadSize(db: Db): Promise<number> {
  const row = await db
    .selectFrom('tree_heads')
    .select((eb) => eb.fn.max('tree_size').as('max'))
    .executeTakeFirst();
  return row?.max === null || row?.max === undefined ? 0 : Number(row.max);
}

/** The events a group's works have recorded so far, appended to the log together before it commits. */
export interface PendingRecordEvents {
  rows: Omit<RecordEventRow, 'idx'>[];
}

/** The record rows a party keeps beside its log: a party's per role, the core's provision records. */
interface RecordTables extends RecordLogTables {
  requester_records: { processing_number: string };
  provider_records: { processing_number: string };
  provision_records: { processing_number: string };
}

/**
 * Each kind of record row, the table it is in and the role its events carry. The core's events are
 * all its own, so for its provision records any event of the processing number counts.
 */
const RECORD_KINDS = {
  requester: { table: 'requester_records', role: 'requester' },
  provider: { table: 'provider_records', role: 'provider' },
  core: { table: 'provision_records', role: undefined },
} as const;

/** A kind of record row (`RECORD_KINDS`). */
export type RecordKindName = keyof typeof RECORD_KINDS;

/**
 * Processing numbers with events of this kind in the log but no record row (deleted), in order after
 * `after`: what a party's audit reports as a record deleted behind the log's back.
 */
export async function eventsWithoutRecord<DB extends RecordLogTables>(
  db: Kysely<DB>,
  kind: RecordKindName,
  after: string | undefined,
  limit: number,
): Promise<string[]> {
  const { table, role } = RECORD_KINDS[kind];
  let query = (db as unknown as Kysely<RecordTables>)
    .selectFrom('record_events as e')
    .select('e.processing_number')
    .distinct()
    .where('e.processing_number', 'is not', null)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom(table)
            .select('processing_number')
            .whereRef(`${table}.processing_number`, '=', 'e.processing_number'),
        ),
      ),
    );
  if (role !== undefined) query = query.where('e.role', '=', role);
  if (after !== undefined) query = query.where('e.processing_number', '>', after);
  const rows = await query.orderBy('e.processing_number').limit(limit).execute();
  return rows.flatMap((row) => (row.processing_number === null ? [] : [row.processing_number]));
}

/**
 * A query of record rows narrowed to one page by processing number (`column`, by default
 * `processing_number`): `limit` after `after`, in order; with `only`, that one record.
 */
export function pageByProcessingNumber<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  page: { after: string | undefined; limit: number; only?: string | undefined },
  column = 'processing_number',
): SelectQueryBuilder<DB, TB, O> {
  let narrowed = query;
  if (page.only !== undefined) narrowed = narrowed.where(sql.ref(column), '=', page.only);
  if (page.after !== undefined) narrowed = narrowed.where(sql.ref(column), '>', page.after);
  return narrowed.orderBy(sql.ref(column)).limit(page.limit);
}

/**
 * What every party's store offers about its record log, over the tables above: the Merkle store, the
 * signed heads, the events, and a listener for events just committed (the head signer's schedule). A
 * node's Kysely store extends it and calls `appended` after each transaction that wrote events.
 */
export abstract class KyselyRecordLog<DB extends RecordLogTables> {
  private readonly listeners: ((count: number) => void)[] = [];
  /**
   * The record changes of the exchange path go through here: one transaction per group of them
   * (group-commit.ts), whose works queue their events (`PendingRecordEvents`) and whose events are
   * appended to the log in one Merkle append just before the commit (`appendRows`). A group takes the
   * record log's lock first (PostgreSQL), as each of its works would have anyway: groups of two
   * processes then cannot deadlock over rows each holds while waiting for the lock.
   */
  protected readonly writes: GroupCommit<DB, PendingRecordEvents>;

  /**
   * `append`: appends event rows (in log order) to the Merkle log and to `record_events`, in the
   * transaction given: protocol/record-log-append.ts `appendRecordRows` for every node, handed in by
   * each since the Merkle log is the trust layer's and this file may not import it.
   */
  /** A `select 1` on the store's database, for the node's `GET /readyz` (src/shared/readiness.ts). */
  ping(): Promise<void> {
    return pingDatabase(this.db);
  }

  protected constructor(
    protected readonly db: Kysely<DB>,
    private readonly append: (
      trx: Transaction<DB>,
      rows: readonly Omit<RecordEventRow, 'idx'>[],
    ) => Promise<unknown>,
  ) {
    this.writes = new GroupCommit<DB, PendingRecordEvents>(db, {
      begin: async (trx) => {
        await lockForAppend(trx as unknown as Kysely<unknown>, 'record_log');
        return { rows: [] };
      },
      mark: (group) => group.rows.length,
      rewind: (group, mark) => {
        group.rows.length = mark;
      },
      beforeCommit: async (trx, group) => {
        if (group.rows.length > 0) await this.appendRows(trx, group.rows);
      },
    });
  }

  /** Append event rows (in log order) to the Merkle log and to `record_events`, in `trx`. */
  protected async appendRows(
    trx: Transaction<DB>,
    rows: readonly Omit<RecordEventRow, 'idx'>[],
  ): Promise<void> {
    await this.append(trx, rows);
  }

  /** Wait until every record change issued so far is committed or has failed: before closing the database. */
  drainWrites(): Promise<void> {
    return this.writes.drain();
  }

  /** Tell the listeners (the tree head signer) about events now committed. */
  protected appended(count: number): void {
    if (count === 0) return;
    for (const listener of this.listeners) listener(count);
  }

  onRecordEvents(listener: (count: number) => void): void {
    this.listeners.push(listener);
  }

  merkleStore(): KyselyMerkleStore {
    return new KyselyMerkleStore(recordLogDb(this.db));
  }

  saveTreeHead(head: StoredTreeHead): Promise<void> {
    return insertTreeHead(recordLogDb(this.db), head);
  }

  listTreeHeads(): Promise<StoredTreeHead[]> {
    return listTreeHeads(recordLogDb(this.db));
  }

  latestTreeHeadSize(): Promise<number> {
    return latestTreeHeadSize(recordLogDb(this.db));
  }

  newestTreeHeads(limit: number): Promise<{ count: number; heads: StoredTreeHead[] }> {
    return newestTreeHeads(recordLogDb(this.db), limit);
  }

  latestTreeHead(): Promise<StoredTreeHead | undefined> {
    return latestTreeHead(recordLogDb(this.db));
  }

  listRecordEvents(after: number, limit: number): Promise<StoredRecordEvent[]> {
    return listRecordEvents(recordLogDb(this.db), after, limit);
  }

  listRecordEventsOf(processingNumbers: readonly string[]): Promise<StoredRecordEvent[]> {
    return listRecordEventsOf(recordLogDb(this.db), processingNumbers);
  }
}

/**
 * The record log of a party that keeps records as requester and as provider (an institution's
 * intermediate server, the Myna Portal): the log, and its rows' orphans per role.
 */
export abstract class KyselyPartyRecordLog<DB extends RecordLogTables> extends KyselyRecordLog<DB> {
  /** Processing numbers with events of `role` in the log but no row (deleted), in order after `after`. */
  listEventsWithoutRecord(
    role: 'requester' | 'provider',
    after: string | undefined,
    limit: number,
  ): Promise<string[]> {
    return eventsWithoutRecord(this.db, role, after, limit);
  }
}
