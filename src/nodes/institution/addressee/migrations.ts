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
};
