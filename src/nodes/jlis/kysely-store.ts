/** J-LIS's storage adapter: `JlisStore` in dialect-agnostic Kysely (SQLite today, PostgreSQL next). */
import type { Generated, Kysely } from 'kysely';
import type { ErrorCode } from '../../shared/errors.ts';
import type { BasicFourInfo, JlisStore, RelayOutcome, Sex } from './store.ts';

interface ResidentsTable {
  resident_record_code: string;
  individual_number: string;
  numbering_counter: number;
  name: string;
  name_kana: string | null;
  address: string;
  date_of_birth: string;
  sex: string;
  created_at: string;
  updated_at: string;
}

interface ResidentHistoryTable {
  id: Generated<number>;
  resident_record_code: string;
  changed_at: string;
  change: string;
  name: string;
  name_kana: string | null;
  address: string;
  date_of_birth: string;
  sex: string;
}

interface CodeAcquisitionRelaysTable {
  id: Generated<number>;
  relayed_at: string;
  institution_id: string;
  acquisition_number: string;
  outcome: string;
  error_code: string | null;
}

/** The database as `migrations.ts` leaves it. */
export interface JlisDatabase {
  residents: ResidentsTable;
  resident_history: ResidentHistoryTable;
  code_acquisition_relays: CodeAcquisitionRelaysTable;
}

export function createKyselyJlisStore(db: Kysely<JlisDatabase>): JlisStore {
  return {
    async insertResident(record, at) {
      const now = at.toISOString();
      return db.transaction().execute(async (trx) => {
        const byCode = await trx
          .selectFrom('residents')
          .select('resident_record_code')
          .where('resident_record_code', '=', record.residentRecordCode)
          .executeTakeFirst();
        if (byCode) return 'code_taken';
        const byNumber = await trx
          .selectFrom('residents')
          .select('resident_record_code')
          .where('individual_number', '=', record.individualNumber)
          .executeTakeFirst();
        if (byNumber) return 'number_taken';
        await trx
          .insertInto('residents')
          .values({
            resident_record_code: record.residentRecordCode,
            individual_number: record.individualNumber,
            numbering_counter: record.numberingCounter,
            name: record.name,
            name_kana: record.nameKana ?? null,
            address: record.address,
            date_of_birth: record.dateOfBirth,
            sex: record.sex,
            created_at: now,
            updated_at: now,
          })
          .execute();
        await trx
          .insertInto('resident_history')
          .values({
            resident_record_code: record.residentRecordCode,
            changed_at: now,
            change: 'created',
            name: record.name,
            name_kana: record.nameKana ?? null,
            address: record.address,
            date_of_birth: record.dateOfBirth,
            sex: record.sex,
          })
          .execute();
        return 'inserted';
      });
    },

    async findResidentRecordCode(individualNumber) {
      const row = await db
        .selectFrom('residents')
        .select('resident_record_code')
        .where('individual_number', '=', individualNumber)
        .executeTakeFirst();
      return row?.resident_record_code;
    },

    async findResident(residentRecordCode) {
      const row = await db
        .selectFrom('residents')
        .selectAll()
        .where('resident_record_code', '=', residentRecordCode)
        .executeTakeFirst();
      if (!row) return undefined;
      return {
        residentRecordCode: row.resident_record_code,
        individualNumber: row.individual_number,
        numberingCounter: row.numbering_counter,
        ...basicFourInfoOf(row),
      };
    },

    async listHistory(residentRecordCode) {
      const rows = await db
        .selectFrom('resident_history')
        .selectAll()
        .where('resident_record_code', '=', residentRecordCode)
        .orderBy('id')
        .execute();
      return rows.map((row) => ({
        changedAt: new Date(row.changed_at),
        change: row.change,
        ...basicFourInfoOf(row),
      }));
    },

    async countResidents() {
      const row = await db
        .selectFrom('residents')
        .select((eb) => eb.fn.countAll<number | string>().as('count'))
        .executeTakeFirstOrThrow();
      return Number(row.count);
    },

    async recordRelay(entry) {
      await db
        .insertInto('code_acquisition_relays')
        .values({
          relayed_at: entry.relayedAt.toISOString(),
          institution_id: entry.institutionId,
          acquisition_number: entry.acquisitionNumber,
          outcome: entry.outcome,
          error_code: entry.errorCode ?? null,
        })
        .execute();
    },

    async listRelays(limit) {
      const rows = await db
        .selectFrom('code_acquisition_relays')
        .selectAll()
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map((row) => ({
        relayedAt: new Date(row.relayed_at),
        institutionId: row.institution_id,
        acquisitionNumber: row.acquisition_number,
        outcome: row.outcome as RelayOutcome,
        errorCode: (row.error_code ?? undefined) as ErrorCode | undefined,
      }));
    },
  };
}

function basicFourInfoOf(row: {
  name: string;
  name_kana: string | null;
  address: string;
  date_of_birth: string;
  sex: string;
}): BasicFourInfo {
  return {
    name: row.name,
    nameKana: row.name_kana ?? undefined,
    address: row.address,
    dateOfBirth: row.date_of_birth,
    sex: row.sex as Sex,
  };
}
