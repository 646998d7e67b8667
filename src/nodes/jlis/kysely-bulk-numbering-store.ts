/**
 * Bulk numbering's storage adapter (`BulkNumberingStore`): the hot loop of a nationwide numbering,
 * kept apart from `kysely-store.ts` as the intermediate server's bulk inquiries are. Kysely still
 * carries every statement (one connection, both dialects), but the rows go as precompiled multi-row
 * INSERTs on SQLite and as one `unnest` INSERT per batch on PostgreSQL, with flat parameter arrays:
 * building a Kysely query and an object per row cost more than SQLite's own work.
 */
import { CompiledQuery, sql, type Kysely } from 'kysely';
import { dialectOf } from '../../shared/db.ts';
import type { JlisDatabase } from './kysely-store.ts';
import { NUMBER_INDEX, ensureNumberIndex } from './migrations.ts';
import type { BulkNumberingStore } from './store.ts';

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

/** Rows per SQLite INSERT: 13 × 500 parameters, well under its 32,766. More gained nothing measured. */
const SQLITE_ROWS = 500;
/** Rows read per query while loading the codes and numbers already given. */
const PAGE = 50_000;
/**
 * SQLite's page cache for the run (KiB): the primary key's index takes random resident record codes
 * when the file is not in code order; 256 MiB holds it for ten million residents.
 */
const SQLITE_CACHE_KIB = 262_144;

export function createKyselyBulkNumberingStore(db: Kysely<JlisDatabase>): BulkNumberingStore {
  const postgres = dialectOf(db as unknown as Kysely<unknown>) === 'postgres';
  const pgSql = `insert into residents (${COLUMNS.join(',')}) select * from unnest(${PG_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(',')})`;
  /** SQLite's statements for one run: its constants written in, the rest bound (see `insertBatch`). */
  let sqlite: { full: string; of: (rows: number) => string; key: string } | undefined;

  return {
    async start(onCode, onNumber) {
      if (!postgres) {
        await sql.raw(`pragma cache_size = -${SQLITE_CACHE_KIB}`).execute(db);
        // A rollback journal while loading: rows appended to new pages are not journaled, where WAL
        // writes every page twice (log, then checkpoint); truncated at each commit rather than
        // deleted (an unlink per batch). Atomic all the same; `finish` (or the next
        // open, `openSqlite`) puts WAL back. Needs the only connection: another one open (there should
        // be none) leaves WAL, slower but as safe.
        await sql`pragma journal_mode = truncate`.execute(db).catch(() => undefined);
      }
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
      await db.schema.dropIndex(NUMBER_INDEX).ifExists().execute();
    },

    async insertBatch(records, at, first) {
      const now = at.toISOString();
      if (postgres) {
        const columns: unknown[][] = COLUMNS.map(() => new Array<unknown>(records.length));
        records.forEach((r, i) => {
          const values = [
            r.residentRecordCode,
            r.individualNumber,
            r.numberingCounter,
            r.name,
            r.nameKana ?? null,
            r.address,
            r.dateOfBirth,
            r.sex,
            r.status,
            now,
            now,
            first.change,
            first.effectiveDate,
          ];
          for (let c = 0; c < values.length; c++) columns[c]![i] = values[c];
        });
        await db.executeQuery(CompiledQuery.raw(pgSql, columns));
        return;
      }
      // What is the same for every row of a batch (status, times, the first entry) is written into
      // the statement as literals: binding 8 values a row instead of 13 saved a third of SQLite's time.
      const key = `${now}\n${first.change}\n${first.effectiveDate}`;
      if (sqlite?.key !== key) {
        const constants = ['resident', now, now, first.change, first.effectiveDate].map(literal).join(',');
        const row = `(?,?,?,?,?,?,?,?,${constants})`;
        const of = (rows: number) =>
          `insert into residents (${COLUMNS.join(',')}) values ${Array.from({ length: rows }, () => row).join(',')}`;
        sqlite = { full: of(SQLITE_ROWS), of, key };
      }
      const statements = sqlite;
      await db.transaction().execute(async (trx) => {
        for (let i = 0; i < records.length; i += SQLITE_ROWS) {
          const end = Math.min(i + SQLITE_ROWS, records.length);
          const parameters: unknown[] = [];
          for (let j = i; j < end; j++) {
            const r = records[j]!;
            if (r.status !== 'resident') throw new TypeError('bulk numbering registers residents');
            parameters.push(
              r.residentRecordCode,
              r.individualNumber,
              r.numberingCounter,
              r.name,
              r.nameKana ?? null,
              r.address,
              r.dateOfBirth,
              r.sex,
            );
          }
          const text = end - i === SQLITE_ROWS ? statements.full : statements.of(end - i);
          await trx.executeQuery(CompiledQuery.raw(text, parameters));
        }
      });
    },

    async finish() {
      await ensureNumberIndex(db as unknown as Kysely<unknown>);
      if (!postgres) await sql`pragma journal_mode = wal`.execute(db);
    },
  };
}

/** A SQL string literal. The values are ours (an ISO time, a change name, a checked date), quoted all the same. */
function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
