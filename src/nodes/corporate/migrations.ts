import type { Kysely, Migration } from 'kysely';
import { columnTypes, migrateToLatest } from '../../shared/db.ts';
import type { CorporateDatabase } from './kysely-store.ts';

/**
 * The corporate-number service's database, in order; dialect-agnostic Kysely schema building, so the
 * same list runs on SQLite and PostgreSQL. Never edit a migration once shipped: add one.
 *
 * - `corporation_history`: append-only, one row per designation or change, holding the information
 *   as it stood after it (the NTA's difference files are these rows in `sequence_number` order).
 * - `corporations`: one row per Corporate Number, the current state: which history row is the
 *   latest, and what a search needs (the search key of name, フリガナ and English name; kind;
 *   prefecture; closed or not), so a search reads one table.
 * - `number_series`: the next base of the service's own series, for bodies with no registry number.
 */
export const CORPORATE_MIGRATIONS: Record<string, Migration> = {
  '0001-corporations': {
    async up(db: Kysely<unknown>) {
      const { serial, serialAutoIncrement } = columnTypes(db);
      await db.schema
        .createTable('corporation_history')
        .addColumn('sequence_number', serial, (c) =>
          serialAutoIncrement ? c.primaryKey().autoIncrement() : c.primaryKey(),
        )
        .addColumn('corporate_number', 'varchar(13)', (c) => c.notNull())
        .addColumn('process', 'varchar(2)', (c) => c.notNull())
        .addColumn('correction', 'integer', (c) => c.notNull())
        .addColumn('update_date', 'varchar(10)', (c) => c.notNull())
        .addColumn('change_date', 'varchar(10)', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('furigana', 'text')
        .addColumn('en_name', 'text')
        .addColumn('kind', 'varchar(3)', (c) => c.notNull())
        .addColumn('prefecture', 'text', (c) => c.notNull())
        .addColumn('city', 'text', (c) => c.notNull())
        .addColumn('street', 'text', (c) => c.notNull())
        .addColumn('prefecture_code', 'varchar(2)', (c) => c.notNull())
        .addColumn('city_code', 'varchar(3)', (c) => c.notNull())
        .addColumn('post_code', 'varchar(7)')
        .addColumn('close_date', 'varchar(10)')
        .addColumn('close_cause', 'varchar(2)')
        .addColumn('successor_corporate_number', 'varchar(13)')
        .addColumn('assignment_date', 'varchar(10)', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('corporation_history_by_number')
        .on('corporation_history')
        .columns(['corporate_number', 'sequence_number'])
        .execute();
      await db.schema
        .createIndex('corporation_history_by_change_date')
        .on('corporation_history')
        .columns(['change_date', 'sequence_number'])
        .execute();
      await db.schema
        .createTable('corporations')
        .addColumn('corporate_number', 'varchar(13)', (c) => c.primaryKey())
        .addColumn('latest_sequence', 'integer', (c) => c.notNull())
        .addColumn('search_key', 'text', (c) => c.notNull())
        .addColumn('kind', 'varchar(3)', (c) => c.notNull())
        .addColumn('prefecture_code', 'varchar(2)', (c) => c.notNull())
        .addColumn('closed', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('number_series')
        .addColumn('name', 'varchar(32)', (c) => c.primaryKey())
        .addColumn('next_base', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
};

export function migrateCorporateDatabase(db: Kysely<CorporateDatabase>): Promise<void> {
  return migrateToLatest(db as unknown as Kysely<unknown>, CORPORATE_MIGRATIONS);
}
