/**
 * The Myna Portal's records as a requester (わたしの情報): one row per inquiry it made for a resident,
 * as any requester of the network keeps them (README "Provision records"), refusals and failures
 * included. Privacy in the types: the person by the portal's own id only (never a code, an Individual
 * Number or a name), and no field for the items answered: those stay in the portal's memory for the
 * resident's page (service/my-information.ts) and are never written down.
 */
import type { Kysely } from 'kysely';
import type { PortalDatabase } from './kysely-store.ts';
import { answerEvent, inquiryEvent } from './record-events.ts';
import type { KyselyPortalRecordLog } from './record-log-store.ts';

export type RequesterOutcome = 'pending' | 'provided' | 'not_held' | 'refused' | 'failed';

export interface PortalRequesterRecord {
  processingNumber: string;
  personId: string;
  providerId: string;
  clauseNo: string;
  procedureId: string;
  itemNos: number[];
  requestedAt: Date;
  outcome: RequesterOutcome;
  /** For `refused` and `failed`: the legal table's rule or an error code. */
  reason: string | undefined;
  answeredAt: Date | undefined;
  recordedAt: Date;
}

export interface MyInformationStore {
  /** Open a record (pending, or refused / failed at once). A second one under its number is ignored. */
  recordInquiry(row: PortalRequesterRecord): Promise<void>;
  findInquiry(processingNumber: string): Promise<PortalRequesterRecord | undefined>;
  /**
   * The answer of a pending inquiry, once: `ignored` when the record is settled already (a second
   * answer changes nothing) or unknown.
   */
  recordAnswer(answer: {
    processingNumber: string;
    outcome: Exclude<RequesterOutcome, 'pending'>;
    reason: string | undefined;
    answeredAt: Date;
  }): Promise<'recorded' | 'ignored'>;
  /** The person's records, newest first (for the tests and an operator). */
  listInquiries(personId: string, limit: number): Promise<PortalRequesterRecord[]>;
}

export interface RequesterRecordsTable {
  processing_number: string;
  person_id: string;
  provider_id: string;
  clause_no: string;
  procedure_id: string;
  item_nos: string;
  requested_at: string;
  outcome: string;
  reason: string | null;
  answered_at: string | null;
  recorded_at: string;
}

/** The table of migration `0004-requester-records` (migrations.ts). */
export interface MyInformationDatabase {
  requester_records: RequesterRecordsTable;
}

export function toRequesterRecord(row: RequesterRecordsTable): PortalRequesterRecord {
  return {
    processingNumber: row.processing_number,
    personId: row.person_id,
    providerId: row.provider_id,
    clauseNo: row.clause_no,
    procedureId: row.procedure_id,
    itemNos: JSON.parse(row.item_nos) as number[],
    requestedAt: new Date(row.requested_at),
    outcome: row.outcome as RequesterOutcome,
    reason: row.reason ?? undefined,
    answeredAt: row.answered_at === null ? undefined : new Date(row.answered_at),
    recordedAt: new Date(row.recorded_at),
  };
}

/**
 * The Kysely adapter (SQLite or PostgreSQL), over the portal's own database; each change to a record
 * is an event of the portal's record log, in the same transaction (record-events.ts).
 */
export function createKyselyMyInformationStore(
  portalDb: Kysely<PortalDatabase>,
  log: KyselyPortalRecordLog,
): MyInformationStore {
  const db = portalDb as unknown as Kysely<MyInformationDatabase>;
  return {
    async recordInquiry(row) {
      // The event first: a TypeError for an outcome an inquiry cannot open with, before any write.
      const event = inquiryEvent(row);
      await log.write(async (trx, append) => {
        const inserted = await trx
          .insertInto('requester_records')
          .values({
            processing_number: row.processingNumber,
            person_id: row.personId,
            provider_id: row.providerId,
            clause_no: row.clauseNo,
            procedure_id: row.procedureId,
            item_nos: JSON.stringify(row.itemNos),
            requested_at: row.requestedAt.toISOString(),
            outcome: row.outcome,
            reason: row.reason ?? null,
            answered_at: row.answeredAt?.toISOString() ?? null,
            recorded_at: row.recordedAt.toISOString(),
          })
          .onConflict((oc) => oc.column('processing_number').doNothing())
          .executeTakeFirst();
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0) await append([event]);
      });
    },
    async findInquiry(processingNumber) {
      const row = await db
        .selectFrom('requester_records')
        .selectAll()
        .where('processing_number', '=', processingNumber)
        .executeTakeFirst();
      return row && toRequesterRecord(row);
    },
    async recordAnswer(answer) {
      return log.write(async (trx, append) => {
        const result = await trx
          .updateTable('requester_records')
          .set({
            outcome: answer.outcome,
            reason: answer.reason ?? null,
            answered_at: answer.answeredAt.toISOString(),
          })
          .where('processing_number', '=', answer.processingNumber)
          .where('outcome', '=', 'pending')
          .executeTakeFirst();
        if (result.numUpdatedRows === 0n) return 'ignored';
        await append([answerEvent(answer, answer.answeredAt)]);
        return 'recorded';
      });
    },
    async listInquiries(personId, limit) {
      const rows = await db
        .selectFrom('requester_records')
        .selectAll()
        .where('person_id', '=', personId)
        .orderBy('requested_at', 'desc')
        .orderBy('processing_number', 'desc')
        .limit(limit)
        .execute();
      return rows.map(toRequesterRecord);
    },
  };
}
