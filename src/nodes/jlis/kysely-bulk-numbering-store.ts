/**
 * Bulk numbering's storage adapter (`BulkNumberingStore`): the hot loop of a nationwide numbering,
 * kept apart from `kysely-store.ts` as the intermediate server's bulk inquiries are. Kysely carries
 * the reads, the index and the PostgreSQL rows (one `unnest` INSERT per batch, column arrays); on
 * SQLite the rows are written through a better-sqlite3 connection of the run's own, synchronously, one
 * prepared single-row INSERT per resident inside the batch's transaction (Kysely's driver answers each
 * statement with a promise, too dear ten million times).
 *
 * We tried the writes in a worker thread of their own (so that reading the file, deriving and writing
 * would overlap on the two cores) and removed it: handing each batch over (a structured clone of its
 * columns) cost more CPU than the overlap gave back, measured at one and ten million (README).
 */
import SQLite from 'better-sqlite3';
import { CompiledQuery, sql, type Kysely } from 'kysely';
import { dialectOf, withoutStatementBound } from '../../shared/db.ts';
import type { JlisDatabase } from './kysely-store.ts';
import { NUMBER_INDEX, ensureNumberIndex } from './migrations.ts';
import { createBulkWriter } from './numbering-writer.ts';
import type { BulkNumberingStore, BulkRows } from './store.ts';

const COLUMNS = [
  'resident_record_code',
  'individual_number',
  'numbering_counter',
  'name',
  'name_kana',
  'address',
  'date_of_birth',
  'sex',
  'status',
  'created_at',
  'updated_at',
  'registered_change',
  'registered_on',
] as const;

/** PostgreSQL's type of each column, for `unnest`. */
const PG_TYPES = [
  'varchar',
  'varchar',
  'integer',
  'text',
  'text',
  'text',
  'varchar',
  'varchar',
  'varchar',
  'varchar',
  'varchar',
  'varchar',
  'varchar',
];

/** Rows read per query while loading the codes and numbers already given. */
const PAGE = 50_000;
/**
 * SQLite's page cache for the run (KiB): the primary key's index takes random resident record codes
 * when the file is not in code order; 256 MiB holds it for ten million residents.
 */
const SQLITE_CACHE_KIB = 262_144;
/**
 * SQLite's journal while loading: a rollback journal, where WAL writes every page twice (log, then
 * checkpoint); rows appended to new pages are not journaled; truncated at each commit rather than
 * deleted (an unlink per batch). Atomic all the same: a batch whole or absent, a killed run's batch
 * rolled back by the next open. `finish` (or the next open, `openSqlite`) puts WAL back.
 */
const SQLITE_JOURNAL = 'truncate';
/** SQLite's sorter threads for the index of numbers built at the end of a run. */
export const SORT_THREADS = 2;

/**
 * `sqliteFile`: the database's file when `db` is SQLite's, for the run's own writing connection.
 * Required there.
 */
export function createKyselyBulkNumberingStore(
  registry: Kysely<JlisDatabase>,
  sqliteFile?: string,
): BulkNumberingStore {
  // Ten million rows and the index over them take minutes, not the exchange path's milliseconds.
  const db = withoutStatementBound(registry);
  const postgres = dialectOf(db as unknown as Kysely<unknown>) === 'postgres';
  if (!postgres && sqliteFile === undefined) {
    throw new TypeError('bulk numbering on SQLite writes through its own connection: name the file');
  }
  const sqliteTarget = sqliteFile ?? '';
  const pgSql = `insert into residents (${COLUMNS.join(',')}) select * from unnest(${PG_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(',')})`;
  /** SQLite's statement for one run: one row, its constants written in, the rest bound. */
  let sqlite: { insert: (rows: BulkRows) => void; key: string } | undefined;
  let writer: SQLite.Database | undefined;

  /** SQLite's settings for a run, on the Kysely connection; `finish` puts them back. */
  const prepareSqlite = async () => {
    // The cache serves the index built at the end (the writing connection has its own).
    await sql.raw(`pragma cache_size = -${SQLITE_CACHE_KIB}`).execute(db);
    // Needs the only connection (the node is stopped): another one open would leave WAL, slower
    // but as safe.
    await sql
      .raw(`pragma journal_mode = ${SQLITE_JOURNAL}`)
      .execute(db)
      .catch(() => undefined);
    // The index over every resident is sorted in `finish`: in temporary files, not in memory
    // (`openSqlite` keeps temporary data in memory for the exchange path's small savepoints).
    await sql`pragma temp_store = file`.execute(db);
    // And with a helper thread: the other core is idle by then (1.5 million numbers, twice each, on
    // the shared machine: 3.56 and 1.68 s wall against 4.01 and 2.66 without, the same CPU).
    await sql`pragma threads = ${sql.raw(String(SORT_THREADS))}`.execute(db);
  };

  const store: BulkNumberingStore = {
    async load(onCode, onNumber) {
      // Keyset pages in primary-key order: the same on both dialects, no cursor, bounded memory.
      let after = '';
      for (;;) {
        const rows = await db
          .selectFrom('residents')
          .select(['resident_record_code', 'individual_number'])
          .where('resident_record_code', '>', after)
          .orderBy('resident_record_code')
          .limit(PAGE)
          .execute();
        for (const row of rows) {
          onCode(row.resident_record_code);
          onNumber(row.individual_number);
        }
        const last = rows.at(-1);
        if (last === undefined || rows.length < PAGE) break;
        after = last.resident_record_code;
      }
      for (const row of await db.selectFrom('replaced_numbers').select('individual_number').execute()) {
        onNumber(row.individual_number);
      }
    },

    async start() {
      if (!postgres) await prepareSqlite();
      await db.schema.dropIndex(NUMBER_INDEX).ifExists().execute();
    },

    async insertBatch(rows, at, first) {
      const now = at.toISOString();
      if (postgres) {
        const n = rows.residentRecordCodes.length;
        const constant = (value: string) => new Array<string>(n).fill(value);
        await db.executeQuery(
          CompiledQuery.raw(pgSql, [
            rows.residentRecordCodes,
            rows.individualNumbers,
            rows.numberingCounters,
            rows.names,
            rows.nameKanas,
            rows.addresses,
            rows.datesOfBirth,
            rows.sexes,
            constant('resident'),
            constant(now),
            constant(now),
            constant(first.change),
            constant(first.effectiveDate),
          ]),
        );
        return;
      }
      // Opened with the first batch (after `start`'s change of journal), closed by `finish`.
      writer ??= openWriter(sqliteTarget);
      const key = `${now}\n${first.change}\n${first.effectiveDate}`;
      if (sqlite?.key !== key) {
        const statement = writer.prepare(insertSql(at, first));
        const insert = writer.transaction((batch: BulkRows) => {
          const codes = batch.residentRecordCodes;
          for (let i = 0; i < codes.length; i++) {
            statement.run(
              codes[i],
              batch.individualNumbers[i],
              batch.numberingCounters[i],
              batch.names[i],
              batch.nameKanas[i],
              batch.addresses[i],
              batch.datesOfBirth[i],
              batch.sexes[i],
            );
          }
        });
        sqlite = { insert, key };
      }
      sqlite.insert(rows);
      return Promise.resolve();
    },

    async finish() {
      writer?.close();
      writer = undefined;
      sqlite = undefined;
      await ensureNumberIndex(db as unknown as Kysely<unknown>);
      if (!postgres) {
        // Back to WAL needs the only connection: another process's open, the next open does it.
        await sql`pragma journal_mode = wal`.execute(db).catch((error: unknown) => {
          if ((error as { code?: unknown } | null)?.code !== 'SQLITE_BUSY') throw error;
        });
        await sql`pragma temp_store = memory`.execute(db);
        await sql`pragma threads = 0`.execute(db);
      }
    },
  };
  if (!postgres) {
    store.pipeline = async (at, first) => {
      await prepareSqlite();
      return createBulkWriter({
        file: sqliteTarget,
        pragmas: WRITER_PRAGMAS,
        insert: insertSql(at, first),
        before: `drop index if exists ${NUMBER_INDEX}`,
      });
    };
  }
  return store;
}

/**
 * SQLite's INSERT of one resident numbered in bulk: eight values bound; what every row of a run
 * shares (status, times, the first entry) written into the statement as literals (binding 8 values a
 * row instead of 13 saved a third of SQLite's time).
 */
function insertSql(at: Date, first: { change: string; effectiveDate: string }): string {
  const now = at.toISOString();
  const constants = ['resident', now, now, first.change, first.effectiveDate].map(literal).join(',');
  return `insert into residents (${COLUMNS.join(',')}) values (?,?,?,?,?,?,?,?,${constants})`;
}

/** The settings of a run's own writing connection, as `start` left the database. */
const WRITER_PRAGMAS = [
  'busy_timeout = 5000',
  'synchronous = NORMAL',
  `journal_mode = ${SQLITE_JOURNAL}`,
  `cache_size = -${SQLITE_CACHE_KIB}`,
];

/** The run's own connection for the rows, set as `start` left the database. */
function openWriter(file: string): SQLite.Database {
  const writer = new SQLite(file);
  try {
    for (const pragma of WRITER_PRAGMAS) {
      try {
        writer.pragma(pragma);
      } catch (error) {
        // Leaving WAL needs the only connection: with another process's open, WAL stays.
        if (!pragma.startsWith('journal_mode') || (error as { code?: unknown }).code !== 'SQLITE_BUSY')
          throw error;
      }
    }
  } catch (error) {
    writer.close();
    throw error;
  }
  return writer;
}

/** A SQL string literal. The values are ours (an ISO time, a change name, a checked date), quoted all the same. */
function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
