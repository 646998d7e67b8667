/** J-LIS's storage adapter: `JlisStore` in dialect-agnostic Kysely (SQLite today, PostgreSQL next). */
import type { Generated, Kysely } from 'kysely';
import { createKyselyCardStore, revokeLiveCard, type CardDatabase } from './kysely-card-store.ts';
import { revokeCertificates, type JpkiTables } from './jpki/kysely-store.ts';
import type { ErrorCode } from '../../shared/errors.ts';
import {
  HISTORY_FIELDS,
  type BasicFourInfo,
  type HistoryField,
  type HistoryRow,
  type JlisStore,
  type NoticeWrite,
  type RelayOutcome,
  type ResidentStatus,
  type Sex,
} from './store.ts';

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
  status: Generated<string>;
  /** The first history entry of a resident numbered in bulk, until their first later change (0007). */
  registered_change: string | null;
  registered_on: string | null;
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
  effective_date: string | null;
  status: string | null;
  changed_fields: string | null;
}

interface ReplacedNumbersTable {
  individual_number: string;
  resident_record_code: string;
  replaced_at: string;
  reason: string;
}

interface CodeAcquisitionRelaysTable {
  id: Generated<number>;
  relayed_at: string;
  institution_id: string;
  acquisition_number: string;
  outcome: string;
  error_code: string | null;
}

interface ResidentNoticesTable {
  notice_id: string;
  resident_record_code: string;
  kind: string;
  content: string | null;
  state: string;
  holders: number | null;
  error_code: string | null;
  created_at: string;
  ended_at: string | null;
}

/** The database as `migrations.ts` leaves it. */
export interface JlisDatabase extends CardDatabase, JpkiTables {
  resident_notices: ResidentNoticesTable;
  residents: ResidentsTable;
  resident_history: ResidentHistoryTable;
  replaced_numbers: ReplacedNumbersTable;
  code_acquisition_relays: CodeAcquisitionRelaysTable;
}

export function createKyselyJlisStore(db: Kysely<JlisDatabase>): JlisStore {
  return {
    ...createKyselyCardStore(db),
    async insertResident(record, at, first) {
      const now = at.toISOString();
      return db.transaction().execute(async (trx) => {
        const byCode = await trx
          .selectFrom('residents')
          .select('resident_record_code')
          .where('resident_record_code', '=', record.residentRecordCode)
          .executeTakeFirst();
        if (byCode) return 'code_taken';
        if (await numberTaken(trx, record.individualNumber)) return 'number_taken';
        await trx
          .insertInto('residents')
          .values({
            resident_record_code: record.residentRecordCode,
            individual_number: record.individualNumber,
            numbering_counter: record.numberingCounter,
            ...basicFourRow(record),
            status: record.status,
            created_at: now,
            updated_at: now,
            registered_change: null,
            registered_on: null,
          })
          .execute();
        await trx
          .insertInto('resident_history')
          .values({
            resident_record_code: record.residentRecordCode,
            changed_at: now,
            change: first?.change ?? 'created',
            effective_date: first?.effectiveDate ?? now.slice(0, 10),
            status: record.status,
            changed_fields: HISTORY_FIELDS.join(','),
            ...basicFourRow(record),
          })
          .execute();
        return 'inserted';
      });
    },

    async appendChange(residentRecordCode, entry, current, notice, consequences) {
      return db.transaction().execute(async (trx) => {
        if (notice) await insertNotice(trx, notice);
        await keepRegistration(trx, residentRecordCode);
        await trx
          .insertInto('resident_history')
          .values({
            resident_record_code: residentRecordCode,
            changed_at: entry.changedAt.toISOString(),
            change: entry.change,
            effective_date: entry.effectiveDate,
            status: entry.status,
            changed_fields: entry.changedFields.join(','),
            ...basicFourRow(entry),
          })
          .execute();
        await trx
          .updateTable('residents')
          .set({
            ...basicFourRow(current),
            status: current.status,
            updated_at: entry.changedAt.toISOString(),
          })
          .where('resident_record_code', '=', residentRecordCode)
          .execute();
        // A Transaction<JlisDatabase> is not assignable to a Kysely of a subset of its tables (its
        // `fn` helpers are invariant), though it holds them all.
        const revoke = consequences?.revokeCertificates;
        const revokedKinds = revoke
          ? await revokeCertificates(
              trx as unknown as Kysely<JpkiTables>,
              { residentRecordCode },
              revoke.kinds,
              revoke.reason,
              entry.changedAt,
            )
          : [];
        const revokedCardId = consequences?.revokeCard
          ? await revokeLiveCard(
              trx as unknown as Kysely<CardDatabase>,
              residentRecordCode,
              consequences.revokeCard.cardEvent,
            )
          : undefined;
        return { revokedKinds, revokedCardId };
      });
    },

    async replaceNumber(residentRecordCode, individualNumber, counter, reason, at, notice) {
      const now = at.toISOString();
      return db.transaction().execute(async (trx) => {
        if (await numberTaken(trx, individualNumber)) return 'number_taken';
        if (notice) await insertNotice(trx, notice);
        await keepRegistration(trx, residentRecordCode);
        const row = await trx
          .selectFrom('residents')
          .selectAll()
          .where('resident_record_code', '=', residentRecordCode)
          .executeTakeFirstOrThrow();
        await trx
          .insertInto('replaced_numbers')
          .values({
            individual_number: row.individual_number,
            resident_record_code: residentRecordCode,
            replaced_at: now,
            reason,
          })
          .execute();
        await trx
          .updateTable('residents')
          .set({ individual_number: individualNumber, numbering_counter: counter, updated_at: now })
          .where('resident_record_code', '=', residentRecordCode)
          .execute();
        await trx
          .insertInto('resident_history')
          .values({
            resident_record_code: residentRecordCode,
            changed_at: now,
            change: 'number_change',
            effective_date: now.slice(0, 10),
            status: row.status,
            changed_fields: '',
            ...basicFourRow(basicFourInfoOf(row)),
          })
          .execute();
        return 'replaced';
      });
    },

    async listPendingNotices() {
      const rows = await db
        .selectFrom('resident_notices')
        .selectAll()
        .where('state', '=', 'pending')
        .orderBy('created_at')
        .orderBy('notice_id')
        .execute();
      return rows.map((row) => ({
        noticeId: row.notice_id,
        residentRecordCode: row.resident_record_code,
        kind: row.kind as 'number_change' | 'identity_change',
        content: row.content ?? '',
        createdAt: new Date(row.created_at),
      }));
    },

    async endNotice(noticeId, end, at) {
      await db
        .updateTable('resident_notices')
        .set({
          state: end.state,
          content: null,
          holders: end.state === 'sent' ? end.holders : null,
          error_code: end.state === 'failed' ? end.errorCode : null,
          ended_at: at.toISOString(),
        })
        .where('notice_id', '=', noticeId)
        .where('state', '=', 'pending')
        .execute();
    },

    async isReplacedNumber(individualNumber) {
      const row = await db
        .selectFrom('replaced_numbers')
        .select('individual_number')
        .where('individual_number', '=', individualNumber)
        .executeTakeFirst();
      return row !== undefined;
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
        status: row.status as ResidentStatus,
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
      const registered = await db
        .selectFrom('residents')
        .selectAll()
        .where('resident_record_code', '=', residentRecordCode)
        .where('registered_change', 'is not', null)
        .executeTakeFirst();
      // Numbered in bulk and unchanged since: the row itself is the first entry (migration 0007).
      const first: HistoryRow[] = registered
        ? [
            {
              changedAt: new Date(registered.created_at),
              change: registered.registered_change ?? 'first_registration',
              effectiveDate: registered.registered_on ?? registered.created_at.slice(0, 10),
              status: registered.status as ResidentStatus,
              changedFields: HISTORY_FIELDS,
              ...basicFourInfoOf(registered),
            },
          ]
        : [];
      return first.concat(
        rows.map((row) => ({
          changedAt: new Date(row.changed_at),
          change: row.change,
          effectiveDate: row.effective_date ?? row.changed_at.slice(0, 10),
          status: (row.status ?? 'resident') as ResidentStatus,
          changedFields: (row.changed_fields ?? HISTORY_FIELDS.join(','))
            .split(',')
            .filter((f): f is HistoryField => (HISTORY_FIELDS as readonly string[]).includes(f)),
          ...basicFourInfoOf(row),
        })),
      );
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

/**
 * A resident numbered in bulk keeps their first history entry on their `residents` row (migration
 * 0007), true only while the row is unchanged: before the first change to it, write the entry into
 * `resident_history` and clear it from the row, in the change's transaction.
 */
async function keepRegistration(trx: Kysely<JlisDatabase>, residentRecordCode: string): Promise<void> {
  await trx
    .insertInto('resident_history')
    .columns([
      'resident_record_code',
      'changed_at',
      'change',
      'effective_date',
      'status',
      'changed_fields',
      'name',
      'name_kana',
      'address',
      'date_of_birth',
      'sex',
    ])
    .expression((eb) =>
      eb
        .selectFrom('residents')
        .select((s) => [
          'resident_record_code',
          'created_at',
          'registered_change',
          'registered_on',
          'status',
          s.val(HISTORY_FIELDS.join(',')).as('changed_fields'),
          'name',
          'name_kana',
          'address',
          'date_of_birth',
          'sex',
        ])
        .where('resident_record_code', '=', residentRecordCode)
        .where('registered_change', 'is not', null),
    )
    .execute();
  await trx
    .updateTable('residents')
    .set({ registered_change: null, registered_on: null })
    .where('resident_record_code', '=', residentRecordCode)
    .where('registered_change', 'is not', null)
    .execute();
}

/** Whether a number is anyone's, now (`residents`) or before (`replaced_numbers`). */
async function numberTaken(trx: Kysely<JlisDatabase>, individualNumber: string): Promise<boolean> {
  const current = await trx
    .selectFrom('residents')
    .select('resident_record_code')
    .where('individual_number', '=', individualNumber)
    .executeTakeFirst();
  if (current) return true;
  const replaced = await trx
    .selectFrom('replaced_numbers')
    .select('individual_number')
    .where('individual_number', '=', individualNumber)
    .executeTakeFirst();
  return replaced !== undefined;
}

function basicFourRow(info: BasicFourInfo) {
  return {
    name: info.name,
    name_kana: info.nameKana ?? null,
    address: info.address,
    date_of_birth: info.dateOfBirth,
    sex: info.sex,
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

/** A notice written in its change's transaction: pending (content kept), or failed at once (none). */
async function insertNotice(trx: Kysely<JlisDatabase>, write: NoticeWrite): Promise<void> {
  const { notice } = write;
  await trx
    .insertInto('resident_notices')
    .values({
      notice_id: notice.noticeId,
      resident_record_code: notice.residentRecordCode,
      kind: notice.kind,
      content: write.state === 'pending' ? notice.content : null,
      state: write.state,
      holders: null,
      error_code: write.state === 'failed' ? write.errorCode : null,
      created_at: notice.createdAt.toISOString(),
      ended_at: write.state === 'failed' ? notice.createdAt.toISOString() : null,
    })
    .execute();
}
