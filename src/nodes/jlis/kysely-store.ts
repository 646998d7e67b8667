/** J-LIS's storage adapter: `JlisStore` in dialect-agnostic Kysely (SQLite today, PostgreSQL next). */
import { CompiledQuery, type Generated, type Kysely } from 'kysely';
import { isUniqueViolation } from '../../shared/db.ts';
import { createKyselyCardStore, revokeLiveCard, type CardDatabase } from './kysely-card-store.ts';
import { revokeCertificates, type JpkiTables } from './jpki/kysely-store.ts';
import type { ErrorCode } from '../../shared/errors.ts';
import {
  HISTORY_FIELDS,
  type BasicFourInfo,
  type HistoryField,
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

    async insertResidentsBulk(records, at, first) {
      const now = at.toISOString();
      const residents = records.map((r) => ({
        resident_record_code: r.residentRecordCode,
        individual_number: r.individualNumber,
        numbering_counter: r.numberingCounter,
        ...basicFourRow(r),
        status: r.status,
        created_at: now,
        updated_at: now,
      }));
      const history = records.map((r) => ({
        resident_record_code: r.residentRecordCode,
        changed_at: now,
        change: first.change,
        effective_date: first.effectiveDate,
        status: r.status,
        changed_fields: HISTORY_FIELDS.join(','),
        ...basicFourRow(r),
      }));
      // Optimistic: a collision is about one in ten thousand residents per million numbered, so write
      // first and let the unique constraints refuse (the transaction then leaves nothing); only then
      // look up which codes and numbers were taken, for the caller to resolve.
      // A number replaced once is never given again; no constraint spans the two tables, so look.
      const replaced = await replacedAmong(
        db,
        records.map((r) => r.individualNumber),
      );
      if (replaced.length > 0) return { codesTaken: [], numbersTaken: replaced };
      try {
        await db.transaction().execute(async (trx) => {
          await insertRows(trx, 'residents', residents);
          await insertRows(trx, 'resident_history', history);
        });
        return { codesTaken: [], numbersTaken: [] };
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
      }
      const codesTaken: string[] = [];
      const numbersTaken: string[] = [];
      for (let i = 0; i < records.length; i += BULK_ROWS) {
        const part = records.slice(i, i + BULK_ROWS);
        const numbers = part.map((r) => r.individualNumber);
        for (const row of await db
          .selectFrom('residents')
          .select('resident_record_code')
          .where(
            'resident_record_code',
            'in',
            part.map((r) => r.residentRecordCode),
          )
          .execute())
          codesTaken.push(row.resident_record_code);
        for (const row of await db
          .selectFrom('residents')
          .select('individual_number')
          .where('individual_number', 'in', numbers)
          .execute())
          numbersTaken.push(row.individual_number);
      }
      return { codesTaken, numbersTaken };
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
      return rows.map((row) => ({
        changedAt: new Date(row.changed_at),
        change: row.change,
        effectiveDate: row.effective_date ?? row.changed_at.slice(0, 10),
        status: (row.status ?? 'resident') as ResidentStatus,
        changedFields: (row.changed_fields ?? HISTORY_FIELDS.join(','))
          .split(',')
          .filter((f): f is HistoryField => (HISTORY_FIELDS as readonly string[]).includes(f)),
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

/** Rows per multi-row INSERT: under SQLite's 32,766 and PostgreSQL's 65,535 parameters at 12 columns. */
const BULK_ROWS = 1_000;

/**
 * The SQL of a multi-row INSERT of `count` rows, built by Kysely once per table, column list and
 * count, then run with each chunk's parameters: building the same statement for every thousand rows
 * of ten million cost more than running it (and the SQLite driver keeps one prepared statement per
 * SQL text).
 */
const insertSqlCache = new WeakMap<object, Map<string, string>>();

async function insertRows(
  trx: Kysely<JlisDatabase>,
  table: 'residents' | 'resident_history',
  rows: readonly Record<string, string | number | null>[],
): Promise<void> {
  const first = rows[0];
  if (first === undefined) return;
  const columns = Object.keys(first);
  let cache = insertSqlCache.get(trx.getExecutor().adapter);
  if (!cache) insertSqlCache.set(trx.getExecutor().adapter, (cache = new Map<string, string>()));
  for (let i = 0; i < rows.length; i += BULK_ROWS) {
    const part = rows.slice(i, i + BULK_ROWS);
    const key = `${table}:${columns.join(',')}:${part.length}`;
    let text = cache.get(key);
    if (text === undefined) {
      const compiled = trx
        .insertInto(table)
        .values(part as never)
        .compile();
      text = compiled.sql;
      cache.set(key, text);
    }
    const parameters: unknown[] = [];
    for (const row of part) for (const column of columns) parameters.push(row[column] ?? null);
    await trx.executeQuery(CompiledQuery.raw(text, parameters));
  }
}

/**
 * Which of `numbers` were replaced by a number change. Skipped while no number was ever replaced
 * (the usual case, and always during a nationwide numbering): one cheap query instead of one per batch.
 */
async function replacedAmong(db: Kysely<JlisDatabase>, numbers: readonly string[]): Promise<string[]> {
  const any = await db.selectFrom('replaced_numbers').select('individual_number').limit(1).executeTakeFirst();
  if (!any) return [];
  const found: string[] = [];
  for (let i = 0; i < numbers.length; i += BULK_ROWS) {
    for (const row of await db
      .selectFrom('replaced_numbers')
      .select('individual_number')
      .where('individual_number', 'in', numbers.slice(i, i + BULK_ROWS))
      .execute())
      found.push(row.individual_number);
  }
  return found;
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
