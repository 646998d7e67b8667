import type { Kysely, Migration } from 'kysely';

/**
 * The addressee system's database (`addressee.sqlite`): the only table in an institution that holds
 * the Individual Number.
 *
 * `addressees`
 * - `addressee_number`  the institution's own person number (primary key)
 * - `individual_number` the Individual Number, 12 digits, unique: one addressee number per person
 * - `registered_at`     ISO 8601, when the business side first registered the person
 *
 * `replaced_individual_numbers` (migration 0002): numbers replaced by a number change (番号の変更)
 * that J-LIS told this institution of: kept as history, never resolved again.
 * - `individual_number` the replaced number (primary key); `addressee_number` whose it was;
 *   `replaced_at` ISO 8601; `notice_id` the notice that replaced it.
 *
 * Dialect-agnostic on purpose (text columns, no SQLite-only features) so the same migrations run on
 * PostgreSQL.
 */
export const addresseeMigrations: Record<string, Migration> = {
  '0001_addressees': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('addressees')
        .addColumn('addressee_number', 'text', (c) => c.primaryKey())
        .addColumn('individual_number', 'text', (c) => c.notNull().unique())
        .addColumn('registered_at', 'text', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('addressees').execute();
    },
  },
  '0002_replaced_numbers': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('replaced_individual_numbers')
        .addColumn('individual_number', 'text', (c) => c.primaryKey())
        .addColumn('addressee_number', 'text', (c) => c.notNull().references('addressees.addressee_number'))
        .addColumn('replaced_at', 'text', (c) => c.notNull())
        .addColumn('notice_id', 'text', (c) => c.notNull())
        .execute();
    },
  },
};
