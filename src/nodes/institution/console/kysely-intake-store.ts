/**
 * The intake sheets' store over Kysely (SQLite and PostgreSQL alike), in the intermediate server's
 * database, and the migration that makes its table (`0012_console_intakes` in
 * ../intermediate/migrations.ts).
 *
 * `console_intakes`: one row per intake a clerk made at the console: its id (a UUID), the console
 * account that made it, the procedure, the applicant's addressee number (the institution's own number,
 * never the Individual Number), when (`made_at`, ISO 8601 UTC, which the purge goes by) and the
 * inquiries sent for it as JSON (provider, items, processing number or the refusal's code). The
 * answers are not copied here: the sheet reads them by processing number from the requester records.
 */
import type { Kysely, Migration } from 'kysely';
import type { Intake, IntakeInquiry, IntakeStore } from './intake-store.ts';

export interface IntakeDatabase {
  console_intakes: {
    intake_id: string;
    account_id: string;
    procedure_id: string;
    addressee_number: string;
    made_at: string;
    inquiries: string;
  };
}

export const INTAKE_MIGRATION: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('console_intakes')
      .addColumn('intake_id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('account_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('procedure_id', 'text', (c) => c.notNull())
      .addColumn('addressee_number', 'text', (c) => c.notNull())
      .addColumn('made_at', 'varchar(24)', (c) => c.notNull())
      .addColumn('inquiries', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('console_intakes_by_time').on('console_intakes').column('made_at').execute();
  },
};

/** The JSON column back to inquiries: `undefined` fields were written as absent. */
function inquiriesOf(text: string): IntakeInquiry[] {
  const parsed = JSON.parse(text) as Partial<IntakeInquiry>[];
  return parsed.map((inquiry) => ({
    providerId: inquiry.providerId ?? '',
    itemNos: inquiry.itemNos ?? [],
    processingNumber: inquiry.processingNumber,
    error: inquiry.error,
  }));
}

export function createKyselyIntakeStore(db: Kysely<IntakeDatabase>): IntakeStore {
  return {
    async insertIntake(intake: Intake) {
      await db
        .insertInto('console_intakes')
        .values({
          intake_id: intake.intakeId,
          account_id: intake.accountId,
          procedure_id: intake.procedureId,
          addressee_number: intake.addresseeNumber,
          made_at: intake.at.toISOString(),
          inquiries: JSON.stringify(intake.inquiries),
        })
        .execute();
    },
    async findIntake(intakeId, accountId, notBefore) {
      const row = await db
        .selectFrom('console_intakes')
        .selectAll()
        .where('intake_id', '=', intakeId)
        .where('account_id', '=', accountId)
        .where('made_at', '>=', notBefore.toISOString())
        .executeTakeFirst();
      return (
        row && {
          intakeId: row.intake_id,
          accountId: row.account_id,
          procedureId: row.procedure_id,
          addresseeNumber: row.addressee_number,
          at: new Date(row.made_at),
          inquiries: inquiriesOf(row.inquiries),
        }
      );
    },
    async purgeIntakes(before) {
      const result = await db
        .deleteFrom('console_intakes')
        .where('made_at', '<', before.toISOString())
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
