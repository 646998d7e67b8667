import { sql, type Kysely } from 'kysely';
import type { AddresseeNumber, ItemNo } from '../../../protocol/identifiers.ts';
import type { AnsweredItem } from '../../../protocol/messages.ts';
import type { IntermediateDatabase } from './kysely-store.ts';
import type {
  BulkInquiryRecord,
  BulkInquiryStore,
  BulkMemberResult,
  BulkProgress,
  InquiryOutcome,
} from './store.ts';

/** The bulk inquiry tables (migration 0005), as Kysely sees them. */
export interface BulkTables {
  bulk_inquiries: {
    bulk_number: string;
    provider_id: string;
    clause_no: string;
    procedure_id: string;
    item_nos: string;
    non_disclosure: number;
    requested_by: string | null;
    total: number;
    created_at: string;
    finished_at: string | null;
  };
  bulk_members: {
    bulk_number: string;
    position: number;
    addressee_number: string;
    processing_number: string | null;
    error_code: string | null;
    /** The batch the person was sent in (migration 0006). */
    batch_id?: string | null;
  };
}

type Db = Kysely<IntermediateDatabase & BulkTables>;

/** Rows per INSERT: 3 values each, well under SQLite's bound-parameter limit. */
const INSERT_ROWS = 5_000;

export class KyselyBulkInquiryStore implements BulkInquiryStore {
  private readonly db: Db;

  constructor(db: Kysely<IntermediateDatabase>) {
    this.db = db;
  }

  async createBulk(bulk: BulkInquiryRecord, addresseeNumbers: readonly AddresseeNumber[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('bulk_inquiries')
        .values({
          bulk_number: bulk.bulkNumber,
          provider_id: bulk.providerId,
          clause_no: bulk.clauseNo,
          procedure_id: bulk.procedureId,
          item_nos: JSON.stringify(bulk.itemNos),
          non_disclosure: bulk.nonDisclosure ? 1 : 0,
          requested_by: bulk.requestedBy ?? null,
          total: bulk.total,
          created_at: bulk.createdAt,
          finished_at: null,
        })
        .execute();
      for (let i = 0; i < addresseeNumbers.length; i += INSERT_ROWS) {
        await trx
          .insertInto('bulk_members')
          .values(
            addresseeNumbers.slice(i, i + INSERT_ROWS).map((addresseeNumber, j) => ({
              bulk_number: bulk.bulkNumber,
              position: i + j,
              addressee_number: addresseeNumber,
              processing_number: null,
              error_code: null,
            })),
          )
          .execute();
      }
    });
  }

  async findBulk(bulkNumber: string): Promise<BulkInquiryRecord | undefined> {
    const row = await this.db
      .selectFrom('bulk_inquiries')
      .selectAll()
      .where('bulk_number', '=', bulkNumber)
      .executeTakeFirst();
    if (!row) return undefined;
    const bulk: BulkInquiryRecord = {
      bulkNumber: row.bulk_number,
      providerId: row.provider_id,
      clauseNo: row.clause_no,
      procedureId: row.procedure_id,
      itemNos: JSON.parse(row.item_nos) as ItemNo[],
      nonDisclosure: row.non_disclosure !== 0,
      total: Number(row.total),
      createdAt: row.created_at,
    };
    if (row.requested_by !== null) bulk.requestedBy = row.requested_by;
    if (row.finished_at !== null) bulk.finishedAt = row.finished_at;
    return bulk;
  }

  async listUnfinishedBulks(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('bulk_inquiries')
      .select('bulk_number')
      .where('finished_at', 'is', null)
      .orderBy('created_at')
      .execute();
    return rows.map((r) => r.bulk_number);
  }

  nextUnsent(
    bulkNumber: string,
    limit: number,
  ): Promise<{ position: number; addresseeNumber: AddresseeNumber }[]> {
    return this.unsent(bulkNumber, undefined, limit);
  }

  async markSent(
    bulkNumber: string,
    members: readonly { position: number; processingNumber?: string; errorCode?: string }[],
  ): Promise<void> {
    if (members.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (const member of members) {
        await trx
          .updateTable('bulk_members')
          .set({
            processing_number: member.processingNumber ?? null,
            error_code: member.errorCode ?? null,
          })
          .where('bulk_number', '=', bulkNumber)
          .where('position', '=', member.position)
          .execute();
      }
    });
  }

  nextUnsentAfter(
    bulkNumber: string,
    after: number,
    limit: number,
  ): Promise<{ position: number; addresseeNumber: AddresseeNumber }[]> {
    return this.unsent(bulkNumber, after, limit);
  }

  /** The first `limit` persons of a bulk neither sent nor refused, in order; after `after` if given. */
  private async unsent(
    bulkNumber: string,
    after: number | undefined,
    limit: number,
  ): Promise<{ position: number; addresseeNumber: AddresseeNumber }[]> {
    let query = this.db
      .selectFrom('bulk_members')
      .select(['position', 'addressee_number'])
      .where('bulk_number', '=', bulkNumber);
    if (after !== undefined) query = query.where('position', '>', after);
    const rows = await query
      .where('processing_number', 'is', null)
      .where('error_code', 'is', null)
      .orderBy('position')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ position: Number(r.position), addresseeNumber: r.addressee_number }));
  }

  /**
   * One batch's persons, rewritten with what became of them in two statements (a delete of their
   * positions and a multi-row insert), not one UPDATE each: a batch is a thousand persons.
   */
  async markBatchSent(
    bulkNumber: string,
    batchId: string,
    members: readonly {
      position: number;
      addresseeNumber: AddresseeNumber;
      processingNumber?: string;
      errorCode?: string;
    }[],
  ): Promise<void> {
    if (members.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < members.length; i += 500) {
        const chunk = members.slice(i, i + 500);
        await trx
          .deleteFrom('bulk_members')
          .where('bulk_number', '=', bulkNumber)
          .where(
            'position',
            'in',
            chunk.map((m) => m.position),
          )
          .execute();
        await trx
          .insertInto('bulk_members')
          .values(
            chunk.map((m) => ({
              bulk_number: bulkNumber,
              position: m.position,
              addressee_number: m.addresseeNumber,
              processing_number: m.processingNumber ?? null,
              error_code: m.errorCode ?? null,
              batch_id: m.processingNumber === undefined ? null : batchId,
            })),
          )
          .execute();
      }
    });
  }

  async listPendingBatches(
    bulkNumber: string,
    limit: number,
  ): Promise<{ batchId: string; processingNumbers: string[] }[]> {
    const rows = await this.db
      .selectFrom('bulk_members as m')
      .innerJoin('requester_records as r', 'r.processing_number', 'm.processing_number')
      .select(['m.batch_id', 'm.processing_number'])
      .where('m.bulk_number', '=', bulkNumber)
      .where('m.batch_id', 'is not', null)
      .where('r.outcome', '=', 'pending')
      .orderBy('m.position')
      .limit(limit)
      .execute();
    const batches = new Map<string, string[]>();
    for (const row of rows) {
      if (row.batch_id === null || row.batch_id === undefined || row.processing_number === null) continue;
      const list = batches.get(row.batch_id);
      if (list) list.push(row.processing_number);
      else batches.set(row.batch_id, [row.processing_number]);
    }
    return [...batches].map(([batchId, processingNumbers]) => ({ batchId, processingNumbers }));
  }

  async progress(bulkNumber: string): Promise<BulkProgress> {
    const rows = await this.db
      .selectFrom('bulk_members as m')
      .leftJoin('requester_records as r', 'r.processing_number', 'm.processing_number')
      .select([
        sql<string>`case when m.error_code is not null then 'failed' when m.processing_number is null then 'unsent' else coalesce(r.outcome, 'pending') end`.as(
          'state',
        ),
        (eb) => eb.fn.countAll<number | string | bigint>().as('n'),
      ])
      .where('m.bulk_number', '=', bulkNumber)
      .groupBy('state')
      .execute();
    const count = (state: string) => Number(rows.find((r) => r.state === state)?.n ?? 0);
    const outcomes = {
      provided: count('provided'),
      not_held: count('not_held'),
      refused: count('refused'),
      failed: count('failed'),
    };
    const finished = outcomes.provided + outcomes.not_held + outcomes.refused + outcomes.failed;
    const total = rows.reduce((n, r) => n + Number(r.n), 0);
    return { total, sent: total - count('unsent'), finished, outcomes };
  }

  async finishBulk(bulkNumber: string, at: string): Promise<void> {
    await this.db
      .updateTable('bulk_inquiries')
      .set({ finished_at: at })
      .where('bulk_number', '=', bulkNumber)
      .where('finished_at', 'is', null)
      .execute();
  }

  async listPending(bulkNumber: string, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('bulk_members as m')
      .innerJoin('requester_records as r', 'r.processing_number', 'm.processing_number')
      .select('m.processing_number')
      .where('m.bulk_number', '=', bulkNumber)
      .where('r.outcome', '=', 'pending')
      .limit(limit)
      .execute();
    return rows.flatMap((r) => (r.processing_number === null ? [] : [r.processing_number]));
  }

  async results(bulkNumber: string, after: number, limit: number): Promise<BulkMemberResult[]> {
    const rows = await this.db
      .selectFrom('bulk_members as m')
      .leftJoin('requester_records as r', 'r.processing_number', 'm.processing_number')
      .leftJoin('answers as a', 'a.processing_number', 'm.processing_number')
      .select([
        'm.position',
        'm.addressee_number',
        'm.processing_number',
        'm.error_code',
        'r.outcome',
        'r.reason',
        'a.items',
      ])
      .where('m.bulk_number', '=', bulkNumber)
      .where('m.position', '>', after)
      .orderBy('m.position')
      .limit(limit)
      .execute();
    return rows.map((row) => {
      const result: BulkMemberResult = {
        position: Number(row.position),
        addresseeNumber: row.addressee_number,
        outcome: 'pending',
      };
      if (row.processing_number !== null) result.processingNumber = row.processing_number;
      if (row.error_code !== null) {
        result.outcome = 'failed';
        result.reason = row.error_code;
      } else if (row.outcome !== null) {
        result.outcome = row.outcome as InquiryOutcome;
        if (row.reason !== null) result.reason = row.reason;
      }
      if (result.outcome === 'provided' && row.items !== null) {
        result.items = JSON.parse(row.items) as AnsweredItem[];
      }
      return result;
    });
  }
}
