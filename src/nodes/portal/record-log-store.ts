/**
 * The Myna Portal's tamper-evident record log, storage side: the shared record-log tables
 * (src/shared/record-log-tables.ts) in the portal's database (migration 0007-record-log), the one
 * transaction in which a record row and its event are written (`write`), and the reads its
 * verification needs (service/record-log.ts): the projection rows page by page, and the events no row
 * accounts for.
 *
 * One transaction per record change, not the intermediate server's group commit: the portal writes a
 * handful of records per resident visit, not an exchange path's thousands a second, and a notice must
 * know its log index before its transaction ends (`notices.log_index`, the entry page A shows).
 */
import type { Kysely, Transaction } from 'kysely';
import { appendRecordRows } from '../../protocol/record-log-append.ts';
import type { StoredRecordEvent } from '../../shared/record-log.ts';
import {
  findRecordEventsAt,
  recordLogDb,
  pageByProcessingNumber,
  KyselyPartyRecordLog,
  type RecordLogTables,
} from '../../shared/record-log-tables.ts';
import { eventRow, type PortalRecordEvent } from './record-events.ts';
import {
  toRequesterRecord,
  type PortalRequesterRecord,
  type RequesterRecordsTable,
} from './my-information-store.ts';
import { toNotice, type NoticesTable } from './kysely-store.ts';
import type { NoticeRow } from './store.ts';

/** A notice row with its log entry (null: received before the log existed). */
export interface LoggedNotice extends Omit<NoticeRow, 'readAt' | 'logIndex'> {
  logIndex: number | null;
}

/** The tables the log and its verification read (the rest of the portal's database is not seen here). */
export interface PortalRecordLogDatabase extends RecordLogTables {
  requester_records: RequesterRecordsTable;
  provider_records: { processing_number: string };
  notices: NoticesTable;
}

export class KyselyPortalRecordLog extends KyselyPartyRecordLog<PortalRecordLogDatabase> {
  constructor(db: Kysely<unknown>) {
    super(db, appendRecordRows);
  }

  /**
   * Run `work` in one transaction with `log`, which appends events to the log in it and gives the
   * index of the first; the head signer hears of them once the transaction commits. A work that
   * throws leaves neither its rows nor its events.
   */
  async write<T>(
    work: (
      trx: Transaction<PortalRecordLogDatabase>,
      log: (events: readonly PortalRecordEvent[]) => Promise<number>,
    ) => Promise<T>,
  ): Promise<T> {
    let count = 0;
    const result = await this.db.transaction().execute((trx) =>
      work(trx, async (events) => {
        const first = await appendRecordRows(trx, events.map(eventRow));
        count += events.length;
        return first;
      }),
    );
    this.appended(count);
    return result;
  }

  /** Requester records in processing-number order after `after`. */
  async listRequesterRecords(after: string | undefined, limit: number): Promise<PortalRequesterRecord[]> {
    const query = this.db.selectFrom('requester_records').selectAll();
    const rows = await pageByProcessingNumber(query, { after, limit }).execute();
    return rows.map(toRequesterRecord);
  }

  /** Notices in id order after `after`, with their log entry. */
  async listLoggedNotices(after: string | undefined, limit: number): Promise<LoggedNotice[]> {
    let query = this.db.selectFrom('notices').selectAll();
    if (after !== undefined) query = query.where('notice_id', '>', after);
    const rows = await query.orderBy('notice_id').limit(limit).execute();
    return rows.map((row) => {
      const { readAt: _readAt, logIndex: _logIndex, ...notice } = toNotice(row);
      return { ...notice, logIndex: row.log_index === null ? null : Number(row.log_index) };
    });
  }

  /** Log indices of notice events no notice row names (its row deleted, or its entry changed). */
  async listNoticeEventsWithoutRow(after: number, limit: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('record_events as e')
      .select('e.idx')
      .where('e.role', '=', 'recipient')
      .where('e.idx', '>', after)
      .where((eb) =>
        eb.not(
          eb.exists(eb.selectFrom('notices').select('notice_id').whereRef('notices.log_index', '=', 'e.idx')),
        ),
      )
      .orderBy('e.idx')
      .limit(limit)
      .execute();
    return rows.map((row) => Number(row.idx));
  }

  /** The event rows at these log indices (absent: no such row). */
  findRecordEventsAt(indices: readonly number[]): Promise<Map<number, StoredRecordEvent>> {
    return findRecordEventsAt(recordLogDb(this.db), indices);
  }
}
