/**
 * The corporate-number service's storage, in dialect-agnostic Kysely (SQLite or PostgreSQL). Each
 * designation or change is one transaction: the history row and the current-state row together.
 */
import { sql, type Generated, type Kysely, type Selectable } from 'kysely';
import type { CorporationEntry } from '../../domain/corporations/corporation.ts';
import type { CorporateStore, NewEntry } from './store.ts';
import type { CorporateNumber } from '../../domain/identifiers/corporate-number.ts';

interface HistoryTable {
  sequence_number: Generated<number>;
  corporate_number: string;
  process: string;
  correction: number;
  update_date: string;
  change_date: string;
  name: string;
  furigana: string | null;
  en_name: string | null;
  kind: string;
  prefecture: string;
  city: string;
  street: string;
  prefecture_code: string;
  city_code: string;
  post_code: string | null;
  close_date: string | null;
  close_cause: string | null;
  successor_corporate_number: string | null;
  assignment_date: string;
}

interface CorporationsTable {
  corporate_number: string;
  latest_sequence: number;
  search_key: string;
  kind: string;
  prefecture_code: string;
  closed: number;
}

interface NumberSeriesTable {
  name: string;
  next_base: number | string | bigint;
}

export interface CorporateDatabase {
  corporation_history: HistoryTable;
  corporations: CorporationsTable;
  number_series: NumberSeriesTable;
}

type HistoryRow = Selectable<HistoryTable>;

function toEntry(row: HistoryRow, latest: boolean): CorporationEntry {
  return {
    sequenceNumber: Number(row.sequence_number),
    corporateNumber: row.corporate_number as CorporateNumber,
    process: row.process as CorporationEntry['process'],
    correction: row.correction === 1,
    updateDate: row.update_date,
    changeDate: row.change_date,
    name: row.name,
    ...(row.furigana === null ? {} : { furigana: row.furigana }),
    ...(row.en_name === null ? {} : { enName: row.en_name }),
    kind: row.kind as CorporationEntry['kind'],
    location: {
      prefecture: row.prefecture,
      city: row.city,
      street: row.street,
      prefectureCode: row.prefecture_code,
      cityCode: row.city_code,
      ...(row.post_code === null ? {} : { postCode: row.post_code }),
    },
    ...(row.close_date === null ? {} : { closeDate: row.close_date }),
    ...(row.close_cause === null ? {} : { closeCause: row.close_cause as CorporationEntry['closeCause'] }),
    ...(row.successor_corporate_number === null
      ? {}
      : { successorCorporateNumber: row.successor_corporate_number as CorporateNumber }),
    assignmentDate: row.assignment_date,
    latest,
  };
}

function toRow(entry: NewEntry): Omit<HistoryTable, 'sequence_number'> {
  const l = entry.location;
  return {
    corporate_number: entry.corporateNumber,
    process: entry.process,
    correction: entry.correction ? 1 : 0,
    update_date: entry.updateDate,
    change_date: entry.changeDate,
    name: entry.name,
    furigana: entry.furigana ?? null,
    en_name: entry.enName ?? null,
    kind: entry.kind,
    prefecture: l.prefecture,
    city: l.city,
    street: l.street,
    prefecture_code: l.prefectureCode,
    city_code: l.cityCode,
    post_code: l.postCode ?? null,
    close_date: entry.closeDate ?? null,
    close_cause: entry.closeCause ?? null,
    successor_corporate_number: entry.successorCorporateNumber ?? null,
    assignment_date: entry.assignmentDate,
  };
}

/** `%` and `_` in what a person typed are letters to find, not wildcards. */
function likePattern(key: string): string {
  return `%${key.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function createKyselyCorporateStore(db: Kysely<CorporateDatabase>): CorporateStore {
  return {
    async append(entry, searchKey, designation) {
      return db.transaction().execute(async (trx) => {
        const current = await trx
          .selectFrom('corporations')
          .select('corporate_number')
          .where('corporate_number', '=', entry.corporateNumber)
          .executeTakeFirst();
        if (designation && current) return 'exists';
        if (!designation && !current) throw new Error('a change to a corporation not designated');
        const inserted = await trx
          .insertInto('corporation_history')
          .values(toRow(entry))
          .returning('sequence_number')
          .executeTakeFirstOrThrow();
        const sequence = Number(inserted.sequence_number);
        const state = {
          latest_sequence: sequence,
          search_key: searchKey,
          kind: entry.kind,
          prefecture_code: entry.location.prefectureCode,
          closed: entry.closeDate === undefined ? 0 : 1,
        };
        if (current) {
          await trx
            .updateTable('corporations')
            .set(state)
            .where('corporate_number', '=', entry.corporateNumber)
            .execute();
        } else {
          await trx
            .insertInto('corporations')
            .values({ corporate_number: entry.corporateNumber, ...state })
            .execute();
        }
        return { ...entry, sequenceNumber: sequence, latest: true };
      });
    },

    async latest(number) {
      const row = await db
        .selectFrom('corporations as c')
        .innerJoin('corporation_history as h', 'h.sequence_number', 'c.latest_sequence')
        .selectAll('h')
        .where('c.corporate_number', '=', number)
        .executeTakeFirst();
      return row ? toEntry(row, true) : undefined;
    },

    async history(number) {
      const rows = await db
        .selectFrom('corporation_history')
        .selectAll()
        .where('corporate_number', '=', number)
        .orderBy('sequence_number')
        .execute();
      return rows.map((row, i) => toEntry(row, i === rows.length - 1));
    },

    async search(query) {
      let q = db
        .selectFrom('corporations as c')
        .innerJoin('corporation_history as h', 'h.sequence_number', 'c.latest_sequence')
        .selectAll('h');
      if (query.key !== undefined && query.key.length > 0) {
        q = q.where(sql<boolean>`c.search_key like ${likePattern(query.key)} escape '\\'`);
      }
      if (query.kind !== undefined) q = q.where('c.kind', '=', query.kind);
      if (query.prefectureCode !== undefined) q = q.where('c.prefecture_code', '=', query.prefectureCode);
      if (!query.includeClosed) q = q.where('c.closed', '=', 0);
      if (query.after !== undefined) q = q.where('c.corporate_number', '>', query.after);
      const rows = await q.orderBy('c.corporate_number').limit(query.limit).execute();
      return rows.map((row) => toEntry(row, true));
    },

    async changes(from, to, after, limit) {
      let q = db
        .selectFrom('corporation_history as h')
        .innerJoin('corporations as c', 'c.corporate_number', 'h.corporate_number')
        .selectAll('h')
        .select('c.latest_sequence')
        .where('h.change_date', '>=', from)
        .where('h.change_date', '<=', to);
      if (after !== undefined) q = q.where('h.sequence_number', '>', after);
      const rows = await q.orderBy('h.sequence_number').limit(limit).execute();
      return rows.map(({ latest_sequence, ...row }) =>
        toEntry(row, Number(latest_sequence) === Number(row.sequence_number)),
      );
    },

    async nextBase(first) {
      // One atomic statement takes the number: two designations at once never get the same base.
      await db
        .insertInto('number_series')
        .values({ name: 'own', next_base: first })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      const row = await db
        .updateTable('number_series')
        .set((eb) => ({ next_base: eb('next_base', '+', 1) }))
        .where('name', '=', 'own')
        .returning('next_base')
        .executeTakeFirstOrThrow();
      return String(Number(row.next_base) - 1).padStart(12, '0');
    },

    async count() {
      const row = await db
        .selectFrom('corporations')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
