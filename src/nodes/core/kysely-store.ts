/**
 * `CoreStore` over Kysely. Everything here is dialect-agnostic (no SQLite- or PostgreSQL-only SQL)
 * but the statistics' week, which each dialect computes with its own date functions (`countRecords`):
 * `openSqliteCoreStore` is the embedded default; a PostgreSQL store is `new KyselyCoreStore(db)` over
 * a Kysely with the PostgreSQL dialect, after `migrateToLatest(db, CORE_MIGRATIONS)`.
 */
import { appendRecordRows } from '../../protocol/record-log-append.ts';
import {
  sql,
  type ExpressionBuilder,
  type Kysely,
  type Selectable,
  type SelectQueryBuilder,
  type Transaction,
} from 'kysely';
import {
  dialectOf,
  migrateToLatest,
  openDatabase,
  precompiled,
  type DatabaseTarget,
} from '../../shared/db.ts';
import {
  eventsWithoutRecord,
  pageByProcessingNumber,
  recordLogDb,
  KyselyRecordLog,
  tombstoneRecordEvents,
  type PendingRecordEvents,
  type RecordLogTables,
} from '../../shared/record-log-tables.ts';
import { leafHash } from '../../trust/merkle/index.ts';
import type { ReplayGuard } from '../../trust/envelope/replay-guard.ts';
import { createKyselyConsoleStore, type ConsoleDatabase } from '../../shared/web/console/kysely-store.ts';
import type { ConsoleStore } from '../../shared/web/console/store.ts';
import { CORE_MIGRATIONS } from './migrations.ts';
import type {
  DeliveryState,
  Institution,
  SuspensionEvent,
  InquiryState,
  BucketCount,
  InstitutionCount,
  OfficeHours,
  OversightPersonView,
  OversightUse,
  InstitutionTreeHead,
  HeadFinding,
  ProvisionRecord,
  ProvisionRecordFilter,
  ReasonCount,
  RecordOutcome,
  StatisticsCount,
  StatisticsGrouping,
  TimeBucket,
} from './model.ts';
import type { InstitutionKind } from '../../protocol/identifiers.ts';
import {
  answeredEvent,
  deliveryEvent,
  disclosedEvent,
  eventRow,
  openedEvent,
  type CoreRecordEvent,
} from './record-events.ts';
import type {
  BatchOutcome,
  CoreStore,
  KeptAnswer,
  ProviderNotice,
  StoredInquiryBatch,
  QueueDepths,
  StoredLegalVersion,
  StoredPortalNotice,
  StoredResidentNotice,
  UnfinishedInquiry,
} from './store.ts';

export interface CoreDatabase extends RecordLogTables {
  institutions: {
    id: string;
    name: string;
    name_en: string;
    kind: string;
    network_url: string;
    key_version: number;
    rekeyed_version: number;
    suspended: number;
    created_at: string;
    updated_at: string;
  };
  institution_suspensions: {
    institution_id: string;
    seq: number;
    changed_at: string;
    action: string;
    reason: string;
    changed_by: string;
  };
  linking_codes: { resident_key: string; linking_code: string; created_at: string };
  provision_records: {
    processing_number: string;
    requester_id: string;
    provider_id: string;
    clause_no: string;
    procedure_id: string;
    item_nos: string;
    person_key: string | null;
    requested_at: string;
    answered_at: string | null;
    outcome: string;
    reason: string | null;
    non_disclosure: number;
    legal_table_digest: string;
  };
  provision_record_items: { processing_number: string; item_no: number };
  inquiries: {
    processing_number: string;
    delivery: string;
    delivery_attempts: number;
    delivered_at: string | null;
    /** The core process carrying it, when several run (migration 0005); NULL for a core alone. */
    owner: string | null;
    /** The batch it came in (migration 0007); NULL for an inquiry of its own. */
    batch_id?: string | null;
  };
  inquiry_batches: {
    batch_id: string;
    requester_id: string;
    provider_id: string;
    accepted: string;
    state: string;
    answer: string | null;
    expires_at: string | null;
    delivery_attempts: number;
    owner: string | null;
    created_at: string;
  };
  core_workers: { id: string; lease_until: string };
  seen_messages: { id: string; expires_at: string };
  kept_answers: { processing_number: string; sealed_items: string; expires_at: string };
  provider_notices: { processing_number: string; provider_id: string; reason: string; failed_at: string };
  inquiry_requests: { requester_id: string; request_id: string; processing_number: string };
  code_holders: { resident_key: string; institution_id: string; first_issued_at: string };
  resident_notices: {
    notice_id: string;
    institution_id: string;
    resident_key: string;
    kind: string;
    sealed: string | null;
    state: string;
    attempts: number;
    reason: string | null;
    received_at: string;
    ended_at: string | null;
  };
  legal_table_versions: {
    digest: string;
    effective_from: string;
    loaded_at: string;
    loaded_by: string;
    clauses: string;
    procedures: string;
    items: string;
  };
  institution_head_absences: {
    institution_id: string;
    earlier_size: number;
    earlier_timestamp: number;
    first_seen_at: string;
    last_seen_at: string;
    times: number;
  };
  institution_tree_heads: {
    institution_id: string;
    tree_size: number;
    root_hash: string;
    timestamp: number;
    kid: string;
    jws: string;
    seen_at: string;
    finding: string | null;
  };
  oversight_uses: {
    use_id: string;
    at: string;
    account_id: string | null;
    action: string;
    outcome: string;
    institution_id: string | null;
    reason: string | null;
    records: number | null;
    view_of: string | null;
  };
  oversight_person_views: {
    use_id: string;
    account_id: string;
    person_key: string;
    institution_id: string;
    reason: string;
    expires_at: string;
  };
  portal_notices: {
    notice_id: string;
    sender_id: string;
    portal_id: string;
    resident_key: string;
    sealed: string | null;
    state: string;
    attempts: number;
    reason: string | null;
    received_at: string;
    ended_at: string | null;
  };
}

type InstitutionRow = Selectable<CoreDatabase['institutions']>;
type RecordRow = Selectable<CoreDatabase['provision_records']>;
type InquiryRow = Selectable<CoreDatabase['inquiries']>;

/** Open (creating if needed) the core's SQLite database and bring it to the latest schema. */
export async function openSqliteCoreStore(file: string): Promise<KyselyCoreStore> {
  return openCoreStore({ dialect: 'sqlite', file });
}

/** Open the core's database (a SQLite file or a PostgreSQL schema) and bring it to the latest migration. */
/**
 * One of several core processes over one database: its id (stable across its restarts, e.g.
 * `host#2`) owns the inquiries it accepts or answers, and the clock its lease is read against.
 */
export interface CoreWorker {
  id: string;
  now: () => Date;
}

export async function openCoreStore(target: DatabaseTarget, worker?: CoreWorker): Promise<KyselyCoreStore> {
  const db = await openDatabase<CoreDatabase>(target);
  try {
    await migrateToLatest(db as unknown as Kysely<unknown>, CORE_MIGRATIONS);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return new KyselyCoreStore(db, worker);
}

const encoder = new TextEncoder();

/** Thrown inside `recordInquiry`'s transaction to roll it back when the idempotency key is taken. */
const DUPLICATE_REQUEST = new Error('duplicate request');
/**
 * The exchange path's statements, compiled once (`precompiled`): each runs several times per
 * exchange. The rest of the store builds its queries with Kysely as usual.
 */
const insertRecord = precompiled<CoreDatabase, RecordRow, never>((db, p) =>
  db.insertInto('provision_records').values({
    processing_number: p('processing_number'),
    requester_id: p('requester_id'),
    provider_id: p('provider_id'),
    clause_no: p('clause_no'),
    procedure_id: p('procedure_id'),
    item_nos: p('item_nos'),
    person_key: p('person_key'),
    requested_at: p('requested_at'),
    answered_at: p('answered_at'),
    outcome: p('outcome'),
    reason: p('reason'),
    non_disclosure: p('non_disclosure'),
    legal_table_digest: p('legal_table_digest'),
  }),
);
const insertRecordItem = precompiled<CoreDatabase, Selectable<CoreDatabase['provision_record_items']>, never>(
  (db, p) =>
    db
      .insertInto('provision_record_items')
      .values({ processing_number: p('processing_number'), item_no: p('item_no') }),
);
const insertInquiry = precompiled<CoreDatabase, InquiryRow, never>((db, p) =>
  db.insertInto('inquiries').values({
    processing_number: p('processing_number'),
    delivery: p('delivery'),
    delivery_attempts: p('delivery_attempts'),
    delivered_at: p('delivered_at'),
    owner: p('owner'),
  }),
);
const settleRecord = precompiled<
  CoreDatabase,
  { processingNumber: string; outcome: string; reason: string | null; answeredAt: string },
  { provider_id: string }
>((db, p) =>
  db
    .updateTable('provision_records')
    .set({ outcome: p('outcome'), reason: p('reason'), answered_at: p('answeredAt') })
    .where('processing_number', '=', p('processingNumber'))
    .where('outcome', '=', 'pending')
    .returning('provider_id'),
);
const settleDelivery = precompiled<
  CoreDatabase,
  { processingNumber: string; delivery: string; attempts: number; deliveredAt: string | null },
  never
>((db, p) =>
  db
    .updateTable('inquiries')
    .set({
      delivery: p('delivery'),
      delivery_attempts: p('attempts'),
      delivered_at: p('deliveredAt'),
    })
    .where('processing_number', '=', p('processingNumber'))
    .where('delivery', '=', 'pending'),
);
const deleteKeptAnswer = precompiled<CoreDatabase, { processingNumber: string }, never>((db, p) =>
  db.deleteFrom('kept_answers').where('processing_number', '=', p('processingNumber')),
);

/** In a work of group commit: its events join the group's one append, made just before the commit. */
/**
 * The rows no live core process carries (several core processes only): never claimed, or claimed by
 * a process whose lease ended before `now`. Both claims (inquiries, batches) use this one test.
 */
function carriedByNoLiveWorker(
  eb: ExpressionBuilder<CoreDatabase, 'inquiries' | 'inquiry_batches'>,
  now: string,
) {
  return eb.or([
    eb('owner', 'is', null),
    eb('owner', 'not in', eb.selectFrom('core_workers').select('id').where('lease_until', '>', now)),
  ]);
}

/**
 * A query of provision records narrowed to one page, newest first: `limit` records requested before
 * the cursor `before` (by request time, then processing number), or from the newest when it is absent.
 * The oversight's record search and a person's records page alike.
 */
function newestFirstBefore<O>(
  query: SelectQueryBuilder<CoreDatabase, 'provision_records', O>,
  before: { requestedAt: string; processingNumber: string } | undefined,
  limit: number,
): SelectQueryBuilder<CoreDatabase, 'provision_records', O> {
  const narrowed =
    before === undefined
      ? query
      : query.where((eb) =>
          eb.or([
            eb('requested_at', '<', before.requestedAt),
            eb.and([
              eb('requested_at', '=', before.requestedAt),
              eb('processing_number', '<', before.processingNumber),
            ]),
          ]),
        );
  return narrowed.orderBy('requested_at', 'desc').orderBy('processing_number', 'desc').limit(limit);
}

function queueEvents(group: PendingRecordEvents, events: readonly CoreRecordEvent[]): void {
  for (const event of events) group.rows.push(eventRow(event, 0));
}

/** Kept answers expired per transaction (bounded, so that the `in` lists stay small in every dialect). */
const EXPIRY_BATCH = 500;

export class KyselyCoreStore extends KyselyRecordLog<CoreDatabase> implements CoreStore {
  constructor(
    db: Kysely<CoreDatabase>,
    /** Set when the core runs as several processes; a core alone owns nothing (owner NULL). */
    private readonly worker?: CoreWorker,
  ) {
    super(db, appendRecordRows);
  }

  /**
   * Appends record events and their Merkle leaves in the caller's transaction: the log over a store
   * bound to it, so a rolled-back record leaves no leaf, and a leaf never exists without its event.
   * For the record changes outside group commit (expiry, purge); those inside queue their events
   * (`queueEvents`) for one append per group.
   */
  private async appendEvents(trx: Transaction<CoreDatabase>, events: readonly CoreRecordEvent[]) {
    await this.appendRows(
      trx,
      events.map((event) => eventRow(event, 0)),
    );
  }

  async upsertInstitution(institution: Institution): Promise<{ institution: Institution; created: boolean }> {
    return this.db.transaction().execute(async (trx) => {
      const existing = await trx
        .selectFrom('institutions')
        .selectAll()
        .where('id', '=', institution.id)
        .executeTakeFirst();
      if (existing) {
        await trx
          .updateTable('institutions')
          .set({
            name: institution.name,
            name_en: institution.nameEn,
            kind: institution.kind,
            network_url: institution.networkUrl,
            updated_at: institution.updatedAt,
          })
          .where('id', '=', institution.id)
          .execute();
        return {
          institution: {
            ...institution,
            keyVersion: existing.key_version,
            rekeyedVersion: existing.rekeyed_version,
            suspended: existing.suspended === 1,
            createdAt: existing.created_at,
          },
          created: false,
        };
      }
      await trx
        .insertInto('institutions')
        .values({
          id: institution.id,
          name: institution.name,
          name_en: institution.nameEn,
          kind: institution.kind,
          network_url: institution.networkUrl,
          key_version: institution.keyVersion,
          rekeyed_version: institution.rekeyedVersion,
          suspended: institution.suspended ? 1 : 0,
          created_at: institution.createdAt,
          updated_at: institution.updatedAt,
        })
        .execute();
      return { institution, created: true };
    });
  }

  async findInstitution(id: string): Promise<Institution | undefined> {
    const row = await this.db.selectFrom('institutions').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toInstitution(row);
  }

  async listInstitutions(): Promise<Institution[]> {
    const rows = await this.db.selectFrom('institutions').selectAll().orderBy('id').execute();
    return rows.map(toInstitution);
  }

  async setInstitutionKeyVersion(id: string, from: number, to: number, updatedAt: string): Promise<boolean> {
    const result = await this.db
      .updateTable('institutions')
      .set({ key_version: to, updated_at: updatedAt })
      .where('id', '=', id)
      .where('key_version', '=', from)
      .where('rekeyed_version', '=', from)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  async setInstitutionRekeyed(id: string, version: number, updatedAt: string): Promise<boolean> {
    const result = await this.db
      .updateTable('institutions')
      .set({ rekeyed_version: version, updated_at: updatedAt })
      .where('id', '=', id)
      .where('key_version', '=', version)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  async setInstitutionSuspended(event: SuspensionEvent): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const suspended = event.action === 'suspended' ? 1 : 0;
      const result = await trx
        .updateTable('institutions')
        .set({ suspended, updated_at: event.at })
        .where('id', '=', event.institutionId)
        .where('suspended', '<>', suspended)
        .executeTakeFirst();
      if (result.numUpdatedRows !== 1n) return false;
      // The update above holds the institution's row until commit: no two changes take one number.
      const last = await trx
        .selectFrom('institution_suspensions')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .where('institution_id', '=', event.institutionId)
        .executeTakeFirst();
      await trx
        .insertInto('institution_suspensions')
        .values({
          institution_id: event.institutionId,
          seq: Number(last?.seq ?? 0) + 1,
          changed_at: event.at,
          action: event.action,
          reason: event.reason,
          changed_by: event.by,
        })
        .execute();
      return true;
    });
  }

  async listSuspensionEvents(institutionId: string): Promise<SuspensionEvent[]> {
    const rows = await this.db
      .selectFrom('institution_suspensions')
      .selectAll()
      .where('institution_id', '=', institutionId)
      .orderBy('seq')
      .execute();
    return rows.map((row) => ({
      institutionId: row.institution_id,
      action: row.action as SuspensionEvent['action'],
      reason: row.reason,
      by: row.changed_by,
      at: row.changed_at,
    }));
  }

  async findLinkingCode(residentKey: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('linking_codes')
      .select('linking_code')
      .where('resident_key', '=', residentKey)
      .executeTakeFirst();
    return row?.linking_code;
  }

  async insertLinkingCodeIfAbsent(
    residentKey: string,
    linkingCode: string,
    createdAt: string,
  ): Promise<void> {
    await this.db
      .insertInto('linking_codes')
      .values({ resident_key: residentKey, linking_code: linkingCode, created_at: createdAt })
      .onConflict((oc) => oc.column('resident_key').doNothing())
      .execute();
  }

  async findResidentKeyByLinkingCode(linkingCode: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('linking_codes')
      .select('resident_key')
      .where('linking_code', '=', linkingCode)
      .executeTakeFirst();
    return row?.resident_key;
  }

  async recordPortalNotice(
    notice: StoredPortalNotice,
  ): Promise<{ stored: boolean; notice: StoredPortalNotice }> {
    const inserted = await this.db
      .insertInto('portal_notices')
      .values({
        notice_id: notice.noticeId,
        sender_id: notice.senderId,
        portal_id: notice.portalId,
        resident_key: notice.residentKey,
        sealed: notice.sealed,
        state: notice.state,
        attempts: notice.attempts,
        reason: notice.reason,
        received_at: notice.receivedAt,
        ended_at: notice.endedAt,
      })
      .onConflict((oc) => oc.column('notice_id').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0) return { stored: true, notice };
    const row = await this.db
      .selectFrom('portal_notices')
      .selectAll()
      .where('notice_id', '=', notice.noticeId)
      .executeTakeFirstOrThrow();
    return { stored: false, notice: portalNoticeOf(row) };
  }

  async findPortalNotice(noticeId: string): Promise<StoredPortalNotice | undefined> {
    const row = await this.db
      .selectFrom('portal_notices')
      .selectAll()
      .where('notice_id', '=', noticeId)
      .executeTakeFirst();
    return row && portalNoticeOf(row);
  }

  async listPendingPortalNotices(): Promise<StoredPortalNotice[]> {
    const rows = await this.db
      .selectFrom('portal_notices')
      .selectAll()
      .where('state', '=', 'pending')
      .orderBy('received_at')
      .orderBy('notice_id')
      .execute();
    return rows.map(portalNoticeOf);
  }

  async releaseHeldPortalNotices(residentKey: string, portalId: string): Promise<StoredPortalNotice[]> {
    const rows = await this.db
      .updateTable('portal_notices')
      .set({ state: 'pending' })
      .where('resident_key', '=', residentKey)
      .where('portal_id', '=', portalId)
      .where('state', '=', 'held')
      .returningAll()
      .execute();
    return rows.map(portalNoticeOf).sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
  }

  async endPortalNotice(
    noticeId: string,
    state: 'delivered' | 'failed',
    attempts: number,
    reason: string | null,
    at: string,
  ): Promise<void> {
    await this.db
      .updateTable('portal_notices')
      .set({ state, attempts, reason, ended_at: at, sealed: null })
      .where('notice_id', '=', noticeId)
      .where('state', '=', 'pending')
      .execute();
  }

  async recordCodeHolder(residentKey: string, institutionId: string, issuedAt: string): Promise<void> {
    await this.db
      .insertInto('code_holders')
      .values({ resident_key: residentKey, institution_id: institutionId, first_issued_at: issuedAt })
      .onConflict((oc) => oc.columns(['resident_key', 'institution_id']).doNothing())
      .execute();
  }

  async listCodeHolders(residentKey: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('code_holders')
      .select('institution_id')
      .where('resident_key', '=', residentKey)
      .orderBy('institution_id')
      .execute();
    return rows.map((row) => row.institution_id);
  }

  async recordResidentNotices(notices: readonly StoredResidentNotice[]): Promise<boolean> {
    const first = notices[0];
    if (first === undefined) return true;
    return this.db.transaction().execute(async (trx) => {
      const stored = await trx
        .selectFrom('resident_notices')
        .select('notice_id')
        .where('notice_id', '=', first.noticeId)
        .executeTakeFirst();
      if (stored) return false;
      await trx
        .insertInto('resident_notices')
        .values(
          notices.map((n) => ({
            notice_id: n.noticeId,
            institution_id: n.institutionId,
            resident_key: n.residentKey,
            kind: n.kind,
            sealed: n.sealed,
            state: n.state,
            attempts: n.attempts,
            reason: n.reason,
            received_at: n.receivedAt,
            ended_at: n.endedAt,
          })),
        )
        .execute();
      return true;
    });
  }

  async listResidentNoticeHolders(noticeId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('resident_notices')
      .select('institution_id')
      .where('notice_id', '=', noticeId)
      .orderBy('institution_id')
      .execute();
    return rows.map((row) => row.institution_id);
  }

  async listPendingResidentNotices(): Promise<StoredResidentNotice[]> {
    const rows = await this.db
      .selectFrom('resident_notices')
      .selectAll()
      .where('state', '=', 'pending')
      .orderBy('received_at')
      .orderBy('notice_id')
      .execute();
    return rows.map(residentNoticeOf);
  }

  async findResidentNotice(
    noticeId: string,
    institutionId: string,
  ): Promise<StoredResidentNotice | undefined> {
    const row = await this.db
      .selectFrom('resident_notices')
      .selectAll()
      .where('notice_id', '=', noticeId)
      .where('institution_id', '=', institutionId)
      .executeTakeFirst();
    return row && residentNoticeOf(row);
  }

  async endResidentNotice(
    noticeId: string,
    institutionId: string,
    state: 'delivered' | 'failed',
    attempts: number,
    reason: string | null,
    at: string,
  ): Promise<void> {
    await this.db
      .updateTable('resident_notices')
      .set({ state, attempts, reason, ended_at: at, sealed: null })
      .where('notice_id', '=', noticeId)
      .where('institution_id', '=', institutionId)
      .where('state', '=', 'pending')
      .execute();
  }

  async recordInquiry(
    record: ProvisionRecord,
    state: InquiryState,
    requestId?: string,
  ): Promise<'recorded' | 'duplicate'> {
    try {
      await this.writes.transaction(async (trx, group) => {
        await insertRecord(trx, toRecordRow(record));
        if (requestId !== undefined) {
          // ON CONFLICT DO NOTHING in both dialects: on PostgreSQL a racing insert of the same key waits
          // for the other transaction and then inserts nothing, rather than failing the transaction.
          const inserted = await trx
            .insertInto('inquiry_requests')
            .values({
              requester_id: record.requesterId,
              request_id: requestId,
              processing_number: record.processingNumber,
            })
            .onConflict((oc) => oc.columns(['requester_id', 'request_id']).doNothing())
            .executeTakeFirst();
          // Undoes this work's writes alone (its savepoint), the record included.
          if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) throw DUPLICATE_REQUEST;
        }
        for (const itemNo of new Set(record.itemNos)) {
          await insertRecordItem(trx, { processing_number: record.processingNumber, item_no: itemNo });
        }
        await insertInquiry(trx, {
          processing_number: state.processingNumber,
          delivery: state.delivery,
          delivery_attempts: state.deliveryAttempts,
          delivered_at: state.deliveredAt,
          owner: this.worker?.id ?? null,
          batch_id: null,
        });
        queueEvents(group, [openedEvent(record)]);
      });
    } catch (error) {
      if (error === DUPLICATE_REQUEST) return 'duplicate';
      throw error;
    }
    this.appended(1);
    return 'recorded';
  }

  async findInquiryByRequest(requesterId: string, requestId: string): Promise<UnfinishedInquiry | undefined> {
    const row = await this.db
      .selectFrom('inquiry_requests as q')
      .innerJoin('provision_records as r', 'r.processing_number', 'q.processing_number')
      .innerJoin('inquiries as i', 'i.processing_number', 'r.processing_number')
      .selectAll('r')
      .select(['i.delivery', 'i.delivery_attempts', 'i.delivered_at'])
      .where('q.requester_id', '=', requesterId)
      .where('q.request_id', '=', requestId)
      .executeTakeFirst();
    return row && { record: toRecord(row), state: toState(row) };
  }

  async recordOutcome(
    processingNumber: string,
    outcome: Exclude<RecordOutcome, 'pending' | 'refused'>,
    reason: string | null,
    answeredAt: string,
    keep?: { sealedItems: string; expiresAt: string },
    notifyProvider?: boolean,
  ): Promise<boolean> {
    const updated = await this.writes.transaction(async (trx, group) => {
      const result = (await settleRecord(trx, { processingNumber, outcome, reason, answeredAt })).rows[0];
      if (result === undefined) return false;
      if (this.worker) {
        // The answer may reach another process than the one that forwarded the inquiry: the delivery
        // is now this one's to finish, or to leave for a survivor to resume should this one die.
        await trx
          .updateTable('inquiries')
          .set({ owner: this.worker.id })
          .where('processing_number', '=', processingNumber)
          .execute();
      }
      if (notifyProvider && outcome === 'failed') {
        await trx
          .insertInto('provider_notices')
          .values({
            processing_number: processingNumber,
            provider_id: result.provider_id,
            reason: reason ?? 'provider_unavailable',
            failed_at: answeredAt,
          })
          .execute();
      }
      if (keep) {
        await trx
          .insertInto('kept_answers')
          .values({
            processing_number: processingNumber,
            sealed_items: keep.sealedItems,
            expires_at: keep.expiresAt,
          })
          .execute();
      }
      queueEvents(group, [answeredEvent(processingNumber, outcome, reason, answeredAt)]);
      return true;
    });
    if (updated) this.appended(1);
    return updated;
  }

  async recordDelivery(
    processingNumber: string,
    delivery: 'delivered' | 'failed',
    attempts: number,
    at: string,
  ): Promise<void> {
    const updated = await this.writes.transaction(async (trx, group) => {
      const result = await settleDelivery(trx, {
        processingNumber,
        delivery,
        attempts,
        deliveredAt: delivery === 'delivered' ? at : null,
      });
      await deleteKeptAnswer(trx, { processingNumber });
      if (result.numAffectedRows !== 1n) return false;
      queueEvents(group, [deliveryEvent(processingNumber, delivery, attempts, at)]);
      return true;
    });
    if (updated) this.appended(1);
  }

  async listProviderNotices(): Promise<ProviderNotice[]> {
    const rows = await this.db
      .selectFrom('provider_notices')
      .selectAll()
      .orderBy('failed_at')
      .orderBy('processing_number')
      .execute();
    return rows.map((row) => ({
      processingNumber: row.processing_number,
      providerId: row.provider_id,
      reason: row.reason,
      failedAt: row.failed_at,
    }));
  }

  async endProviderNotice(processingNumber: string): Promise<void> {
    await this.db.deleteFrom('provider_notices').where('processing_number', '=', processingNumber).execute();
  }

  async findKeptAnswer(processingNumber: string): Promise<KeptAnswer | undefined> {
    const row = await this.db
      .selectFrom('kept_answers')
      .selectAll()
      .where('processing_number', '=', processingNumber)
      .executeTakeFirst();
    return (
      row && {
        processingNumber: row.processing_number,
        sealedItems: row.sealed_items,
        expiresAt: row.expires_at,
      }
    );
  }

  async expireKeptAnswers(now: string): Promise<string[]> {
    const { expired, events } = await this.db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('kept_answers as k')
        .innerJoin('inquiries as i', 'i.processing_number', 'k.processing_number')
        .select(['k.processing_number', 'i.delivery', 'i.delivery_attempts'])
        .where('k.expires_at', '<=', now)
        .orderBy('k.processing_number')
        .limit(EXPIRY_BATCH)
        .execute();
      if (rows.length === 0) return { expired: [], events: 0 };
      const numbers = rows.map((row) => row.processing_number);
      await trx.deleteFrom('kept_answers').where('processing_number', 'in', numbers).execute();
      const pending = rows.filter((row) => row.delivery === 'pending');
      if (pending.length > 0) {
        await trx
          .updateTable('inquiries')
          .set({ delivery: 'failed', delivered_at: null })
          .where(
            'processing_number',
            'in',
            pending.map((row) => row.processing_number),
          )
          .where('delivery', '=', 'pending')
          .execute();
        await this.appendEvents(
          trx,
          pending.map((row) =>
            // The requester never acknowledged it: the code a fetch now answers, and its resume records.
            deliveryEvent(
              row.processing_number,
              'failed',
              Number(row.delivery_attempts),
              now,
              'ERR_ANSWER_GONE',
            ),
          ),
        );
      }
      return { expired: numbers, events: pending.length };
    });
    if (events > 0) this.appended(events);
    return expired;
  }

  async findInquiry(processingNumber: string): Promise<UnfinishedInquiry | undefined> {
    const row = await this.db
      .selectFrom('provision_records as r')
      .innerJoin('inquiries as i', 'i.processing_number', 'r.processing_number')
      .selectAll('r')
      .select(['i.delivery', 'i.delivery_attempts', 'i.delivered_at'])
      .where('r.processing_number', '=', processingNumber)
      .executeTakeFirst();
    return row && { record: toRecord(row), state: toState(row) };
  }

  async listUndelivered(): Promise<UnfinishedInquiry[]> {
    let query = this.db
      .selectFrom('inquiries as i')
      .innerJoin('provision_records as r', 'r.processing_number', 'i.processing_number')
      .selectAll('r')
      .select(['i.delivery', 'i.delivery_attempts', 'i.delivered_at'])
      .where('i.delivery', '=', 'pending')
      // A batch's members are resumed with their batch (listUnfinishedBatches).
      .where('i.batch_id', 'is', null);
    if (this.worker) {
      // Claim what no live process carries, atomically (of two processes claiming at once, each row
      // goes to one), and resume only what this call claimed.
      const { id } = this.worker;
      const now = this.worker.now().toISOString();
      const claimed = await this.db
        .updateTable('inquiries')
        .set({ owner: id })
        .where('delivery', '=', 'pending')
        .where('batch_id', 'is', null)
        .where((eb) => carriedByNoLiveWorker(eb, now))
        .returning('processing_number')
        .execute();
      if (claimed.length === 0) return [];
      query = query.where(
        'i.processing_number',
        'in',
        claimed.map((row) => row.processing_number),
      );
    }
    const rows = await query.orderBy('r.processing_number').execute();
    return rows.map((row) => ({ record: toRecord(row), state: toState(row) }));
  }

  /** Renew this process's lease (several core processes only) until `until`. */
  async renewLease(until: Date): Promise<void> {
    if (!this.worker) throw new TypeError('renewLease: this store is not one of several core processes');
    await this.db
      .insertInto('core_workers')
      .values({ id: this.worker.id, lease_until: until.toISOString() })
      .onConflict((oc) => oc.column('id').doUpdateSet({ lease_until: until.toISOString() }))
      .execute();
  }

  /**
   * Drop this process's lease: at `close`, once its work is drained, so that what it still carries
   * is another process's to resume at once; and at its start, to forget the lease a previous run
   * under the same id left, so that this process resumes that run's inquiries at once.
   */
  async dropLease(): Promise<void> {
    if (this.worker) await this.db.deleteFrom('core_workers').where('id', '=', this.worker.id).execute();
  }

  /**
   * A `ReplayGuard` in this database, shared by every core process over it: a message id is
   * remembered (a row) until its message would be refused as stale anyway; expired rows are
   * swept at most once a minute.
   */
  replayGuard(now: () => Date): ReplayGuard {
    let nextSweep = 0;
    return {
      checkAndRemember: async (id, expiresAt) => {
        const at = now().getTime();
        if (at >= nextSweep) {
          nextSweep = at + 60_000;
          await this.db
            .deleteFrom('seen_messages')
            .where('expires_at', '<=', new Date(at).toISOString())
            .execute();
        }
        const inserted = await this.db
          .insertInto('seen_messages')
          .values({ id, expires_at: expiresAt.toISOString() })
          .onConflict((oc) => oc.column('id').doNothing())
          .executeTakeFirst();
        return Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1;
      },
    };
  }

  async listProvisionRecords(filter: ProvisionRecordFilter): Promise<ProvisionRecord[]> {
    let query = this.db.selectFrom('provision_records').selectAll();
    if (filter.from !== undefined) query = query.where('requested_at', '>=', filter.from);
    if (filter.to !== undefined) query = query.where('requested_at', '<', filter.to);
    if (filter.requesterId !== undefined) query = query.where('requester_id', '=', filter.requesterId);
    if (filter.providerId !== undefined) query = query.where('provider_id', '=', filter.providerId);
    if (filter.institutionId !== undefined) {
      const id = filter.institutionId;
      query = query.where((eb) => eb.or([eb('requester_id', '=', id), eb('provider_id', '=', id)]));
    }
    if (filter.clauseNo !== undefined) query = query.where('clause_no', '=', filter.clauseNo);
    if (filter.procedureId !== undefined) query = query.where('procedure_id', '=', filter.procedureId);
    if (filter.outcome !== undefined) query = query.where('outcome', '=', filter.outcome);
    const rows = await newestFirstBefore(query, filter.before, filter.limit).execute();
    return rows.map(toRecord);
  }

  async listPersonRecords(
    personKey: string,
    before: { requestedAt: string; processingNumber: string } | undefined,
    limit: number,
    options: { withNonDisclosure?: boolean } = {},
  ): Promise<ProvisionRecord[]> {
    let query = this.db.selectFrom('provision_records').selectAll().where('person_key', '=', personKey);
    if (options.withNonDisclosure !== true) query = query.where('non_disclosure', '=', 0);
    const rows = await newestFirstBefore(query, before, limit).execute();
    return rows.map(toRecord);
  }

  async liftNonDisclosure(
    processingNumber: string,
    requesterId: string,
    at: string,
  ): Promise<'lifted' | 'not_set' | 'unknown'> {
    const result = await this.writes.transaction(async (trx, group) => {
      const row = await trx
        .selectFrom('provision_records')
        .select('non_disclosure')
        .where('processing_number', '=', processingNumber)
        .where('requester_id', '=', requesterId)
        .executeTakeFirst();
      if (row === undefined) return 'unknown' as const;
      // Compare-and-set: of two lifts racing, one writes the event, the other finds it lifted.
      const updated = await trx
        .updateTable('provision_records')
        .set({ non_disclosure: 0 })
        .where('processing_number', '=', processingNumber)
        .where('non_disclosure', '=', 1)
        .executeTakeFirst();
      if (updated.numUpdatedRows !== 1n) return 'not_set' as const;
      queueEvents(group, [disclosedEvent(processingNumber, requesterId, at)]);
      return 'lifted' as const;
    });
    if (result === 'lifted') this.appended(1);
    return result;
  }

  async purgeRecordsBefore(cutoff: string): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      // Each event of a purged record keeps its leaf hash, computed from its own bytes (so an edit
      // made before the purge is still caught), and nothing else; merkle_nodes is never touched.
      const events = await trx
        .selectFrom('record_events')
        .select(['idx', 'body'])
        .where('body', 'is not', null)
        .where('processing_number', 'in', (eb) =>
          eb.selectFrom('provision_records').select('processing_number').where('requested_at', '<', cutoff),
        )
        .execute();
      await tombstoneRecordEvents(
        recordLogDb(trx),
        events.map((e) => ({ idx: Number(e.idx), leafHash: leafHash(encoder.encode(e.body ?? '')) })),
      );
      // Items and inquiry state go with their record (ON DELETE CASCADE).
      const result = await trx
        .deleteFrom('provision_records')
        .where('requested_at', '<', cutoff)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    });
  }

  async countRecords(
    range: { from?: string; to?: string },
    by?: StatisticsGrouping,
  ): Promise<StatisticsCount[]> {
    // Raw SQL: the week's bucket is dialect arithmetic (below), and a join that only some groupings
    // need reads plainer here than as Kysely's conditionally typed builders.
    const key = by === undefined ? sql<string>`''` : this.groupingKey(by);
    const join =
      by === 'item'
        ? sql`join provision_record_items i on i.processing_number = r.processing_number`
        : by === 'requester-kind'
          ? sql`left join institutions k on k.id = r.requester_id`
          : by === 'provider-kind'
            ? sql`left join institutions k on k.id = r.provider_id`
            : sql``;
    const conditions = [
      ...(range.from === undefined ? [] : [sql`r.requested_at >= ${range.from}`]),
      ...(range.to === undefined ? [] : [sql`r.requested_at < ${range.to}`]),
    ];
    const where = conditions.length === 0 ? sql`` : sql`where ${sql.join(conditions, sql` and `)}`;
    const { rows } = await sql<{
      key: string | number | null;
      outcome: string;
      count: number | string | bigint;
    }>`
      select ${key} as key, r.outcome as outcome, count(*) as count
      from provision_records r ${join} ${where}
      group by ${by === undefined ? sql`` : sql`${key}, `}r.outcome`.execute(this.db);
    return rows.map((row) => ({
      key: String(row.key ?? ''),
      outcome: row.outcome as RecordOutcome,
      count: Number(row.count),
    }));
  }

  async countRecordsByInstitution(range: { from?: string; to?: string }): Promise<InstitutionCount[]> {
    const counts = await Promise.all(
      (['requester', 'provider'] as const).map(async (side) => {
        const column = side === 'requester' ? 'requester_id' : 'provider_id';
        let query = this.db
          .selectFrom('provision_records')
          .select((eb) => [
            eb.ref(column).as('institution_id'),
            'clause_no',
            'outcome',
            'non_disclosure',
            eb.fn.countAll().as('count'),
          ])
          .groupBy([column, 'clause_no', 'outcome', 'non_disclosure']);
        if (range.from !== undefined) query = query.where('requested_at', '>=', range.from);
        if (range.to !== undefined) query = query.where('requested_at', '<', range.to);
        const rows = await query.execute();
        return rows.map((row): InstitutionCount => ({
          institutionId: row.institution_id,
          side,
          clauseNo: row.clause_no,
          outcome: row.outcome as RecordOutcome,
          nonDisclosure: Number(row.non_disclosure) === 1,
          count: Number(row.count),
        }));
      }),
    );
    return counts.flat();
  }

  async countRecordsByReason(range: { from?: string; to?: string }): Promise<ReasonCount[]> {
    let query = this.db
      .selectFrom('provision_records')
      .select((eb) => ['requester_id', 'provider_id', 'outcome', 'reason', eb.fn.countAll().as('count')])
      .where('outcome', 'in', ['refused', 'failed'])
      .groupBy(['requester_id', 'provider_id', 'outcome', 'reason']);
    if (range.from !== undefined) query = query.where('requested_at', '>=', range.from);
    if (range.to !== undefined) query = query.where('requested_at', '<', range.to);
    const rows = await query.execute();
    return rows.map((row) => ({
      requesterId: row.requester_id,
      providerId: row.provider_id,
      outcome: row.outcome as 'refused' | 'failed',
      reason: row.reason ?? '',
      count: Number(row.count),
    }));
  }

  async countRequestsByBucket(
    range: { from: string; to: string },
    bucket: TimeBucket,
    outcome?: RecordOutcome,
  ): Promise<BucketCount[]> {
    const key = this.jst(bucket);
    const { rows } = await sql<{ requester_id: string; bucket: string; count: number | string | bigint }>`
      select r.requester_id as requester_id, ${key} as bucket, count(*) as count
      from provision_records r
      where ${outcome === undefined ? sql`` : sql`r.outcome = ${outcome} and `}r.requested_at >= ${range.from}
        and r.requested_at < ${range.to}
      group by r.requester_id, ${key}`.execute(this.db);
    return rows.map((row) => ({
      requesterId: row.requester_id,
      bucket: String(row.bucket),
      count: Number(row.count),
    }));
  }

  async countOutsideHours(range: { from: string; to: string }, hours: OfficeHours): Promise<BucketCount[]> {
    const day = this.jst('day');
    const hour = this.jst('hour-of-day');
    const outside = [
      sql`${hour} < ${hours.startHour}`,
      sql`${hour} >= ${hours.endHour}`,
      ...(hours.weekends ? [sql`${this.jst('weekday')} in (0, 6)`] : []),
      ...(hours.holidays.length > 0 ? [sql`${day} in (${sql.join([...hours.holidays])})`] : []),
    ];
    const { rows } = await sql<{ requester_id: string; bucket: string; count: number | string | bigint }>`
      select r.requester_id as requester_id, ${day} as bucket, count(*) as count
      from provision_records r
      where r.requested_at >= ${range.from} and r.requested_at < ${range.to}
        and (${sql.join(outside, sql` or `)})
      group by r.requester_id, ${day}`.execute(this.db);
    return rows.map((row) => ({
      requesterId: row.requester_id,
      bucket: String(row.bucket),
      count: Number(row.count),
    }));
  }

  /**
   * A record's request time in JST as SQL: its day (`YYYY-MM-DD`), its hour (`YYYY-MM-DDTHH`), its
   * hour of the day (0–23) or its weekday (0 Sunday … 6 Saturday). `requested_at` is a UTC instant as
   * text; Japan has no daylight saving time, so SQLite's `+9 hours` is exact.
   */
  private jst(part: TimeBucket | 'hour-of-day' | 'weekday') {
    const postgres = dialectOf(this.db as unknown as Kysely<unknown>) === 'postgres';
    const at = sql`((r.requested_at::timestamptz) at time zone 'Asia/Tokyo')`;
    switch (part) {
      case 'day':
        return postgres
          ? sql<string>`to_char(${at}, 'YYYY-MM-DD')`
          : sql<string>`date(r.requested_at, '+9 hours')`;
      case 'hour':
        return postgres
          ? sql<string>`to_char(${at}, 'YYYY-MM-DD"T"HH24')`
          : sql<string>`strftime('%Y-%m-%dT%H', r.requested_at, '+9 hours')`;
      case 'hour-of-day':
        return postgres
          ? sql<number>`cast(extract(hour from ${at}) as integer)`
          : sql<number>`cast(strftime('%H', r.requested_at, '+9 hours') as integer)`;
      case 'weekday':
        return postgres
          ? sql<number>`cast(extract(dow from ${at}) as integer)`
          : sql<number>`cast(strftime('%w', r.requested_at, '+9 hours') as integer)`;
    }
  }

  async recordOversightUse(use: OversightUse): Promise<void> {
    await this.db
      .insertInto('oversight_uses')
      .values({
        use_id: use.useId,
        at: use.at,
        account_id: use.accountId,
        action: use.action,
        outcome: use.outcome,
        institution_id: use.institutionId,
        reason: use.reason,
        records: use.records,
        view_of: use.viewOf,
      })
      .execute();
  }

  async listOversightUses(limit: number): Promise<OversightUse[]> {
    const rows = await this.db
      .selectFrom('oversight_uses')
      .selectAll()
      .orderBy('at', 'desc')
      .orderBy('use_id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      useId: r.use_id,
      at: r.at,
      accountId: r.account_id,
      action: r.action,
      outcome: r.outcome,
      institutionId: r.institution_id,
      reason: r.reason,
      records: r.records === null ? null : Number(r.records),
      viewOf: r.view_of,
    }));
  }

  async keepOversightPersonView(view: OversightPersonView, now: string): Promise<void> {
    // Two statements, no transaction: the rows deleted are expired whether or not the insert succeeds.
    await this.db.deleteFrom('oversight_person_views').where('expires_at', '<=', now).execute();
    await this.db
      .insertInto('oversight_person_views')
      .values({
        use_id: view.useId,
        account_id: view.accountId,
        person_key: view.personKey,
        institution_id: view.institutionId,
        reason: view.reason,
        expires_at: view.expiresAt,
      })
      .execute();
  }

  async findOversightPersonView(
    useId: string,
    accountId: string,
    now: string,
  ): Promise<OversightPersonView | undefined> {
    const row = await this.db
      .selectFrom('oversight_person_views')
      .selectAll()
      .where('use_id', '=', useId)
      .where('account_id', '=', accountId)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return (
      row && {
        useId: row.use_id,
        accountId: row.account_id,
        personKey: row.person_key,
        institutionId: row.institution_id,
        reason: row.reason,
        expiresAt: row.expires_at,
      }
    );
  }

  async keepInstitutionTreeHead(head: InstitutionTreeHead): Promise<void> {
    await this.db
      .insertInto('institution_tree_heads')
      .values({
        institution_id: head.institutionId,
        tree_size: head.treeSize,
        root_hash: head.rootHash,
        timestamp: head.timestamp,
        kid: head.kid,
        jws: head.jws,
        seen_at: head.seenAt,
        finding: head.finding,
      })
      .onConflict((oc) => oc.columns(['institution_id', 'tree_size', 'timestamp', 'root_hash']).doNothing())
      .execute();
  }

  async findLatestInstitutionTreeHead(institutionId: string): Promise<InstitutionTreeHead | undefined> {
    const row = await this.db
      .selectFrom('institution_tree_heads')
      .selectAll()
      .where('institution_id', '=', institutionId)
      .where('finding', 'is', null)
      .orderBy('tree_size', 'desc')
      .orderBy('timestamp', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && institutionTreeHeadOf(row);
  }

  async listInstitutionTreeHeads(institutionId: string): Promise<InstitutionTreeHead[]> {
    const rows = await this.db
      .selectFrom('institution_tree_heads')
      .selectAll()
      .where('institution_id', '=', institutionId)
      .orderBy('tree_size')
      .orderBy('timestamp')
      .execute();
    return rows.map(institutionTreeHeadOf);
  }

  async thinInstitutionTreeHeads(institutionId: string, seenAt: string): Promise<void> {
    const dayStart = `${seenAt.slice(0, 10)}T00:00:00.000Z`;
    await this.db
      .deleteFrom('institution_tree_heads')
      .where('institution_id', '=', institutionId)
      .where('finding', 'is', null)
      .where('seen_at', '<', seenAt)
      .where('seen_at', '>', (eb) =>
        eb
          .selectFrom('institution_tree_heads as first')
          .select((f) => f.fn.min('first.seen_at').as('seen_at'))
          .where('first.institution_id', '=', institutionId)
          .where('first.finding', 'is', null)
          .where('first.seen_at', '>=', dayStart),
      )
      .execute();
  }

  async keepInstitutionHeadAbsence(absence: {
    institutionId: string;
    earlierSize: number;
    earlierTimestamp: number;
    seenAt: string;
  }): Promise<void> {
    await this.db
      .insertInto('institution_head_absences')
      .values({
        institution_id: absence.institutionId,
        earlier_size: absence.earlierSize,
        earlier_timestamp: absence.earlierTimestamp,
        first_seen_at: absence.seenAt,
        last_seen_at: absence.seenAt,
        times: 1,
      })
      .onConflict((oc) =>
        oc.columns(['institution_id', 'earlier_size', 'earlier_timestamp']).doUpdateSet((eb) => ({
          last_seen_at: eb.ref('excluded.last_seen_at'),
          times: eb('institution_head_absences.times', '+', 1),
        })),
      )
      .execute();
  }

  async listInstitutionTreeHeadFindings(limit: number): Promise<HeadFinding[]> {
    const absences = await this.db
      .selectFrom('institution_head_absences')
      .selectAll()
      .orderBy('last_seen_at', 'desc')
      .limit(limit)
      .execute();
    const heads = await this.headsWithFindings(limit);
    const missing: HeadFinding[] = absences.map((row) => ({
      institutionId: row.institution_id,
      treeSize: null,
      seenAt: row.first_seen_at,
      lastSeenAt: row.last_seen_at,
      times: Number(row.times),
      finding: 'head-missing',
      earlierSize: Number(row.earlier_size),
    }));
    const newest = (f: HeadFinding) => f.lastSeenAt ?? f.seenAt;
    return [...heads, ...missing].sort((a, b) => newest(b).localeCompare(newest(a))).slice(0, limit);
  }

  private async headsWithFindings(limit: number): Promise<HeadFinding[]> {
    const rows = await this.db
      .selectFrom('institution_tree_heads as h')
      .selectAll('h')
      .select((eb) =>
        eb
          .selectFrom('institution_tree_heads as k')
          .select((k) => k.fn.max('k.tree_size').as('m'))
          .whereRef('k.institution_id', '=', 'h.institution_id')
          .where('k.finding', 'is', null)
          .whereRef('k.seen_at', '<=', 'h.seen_at')
          .as('earlier_size'),
      )
      .where('h.finding', 'is not', null)
      .orderBy('h.seen_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((row) => ({
      institutionId: row.institution_id,
      treeSize: Number(row.tree_size),
      seenAt: row.seen_at,
      finding: row.finding ?? '',
      earlierSize: row.earlier_size === null ? null : Number(row.earlier_size),
    }));
  }

  /** The consoles' accounts and sessions, in the core's own database (migration 0015). */
  consoleStore(): ConsoleStore {
    return createKyselyConsoleStore(this.db as unknown as Kysely<ConsoleDatabase>);
  }

  /**
   * The grouping's key as SQL. A week is its Monday in JST: `requested_at` is a UTC instant as text,
   * shifted by nine hours (Japan has no daylight saving time) and taken back to Monday. SQLite's
   * `weekday 1` moves forward to the next Monday (or stays on one), hence `-6 days` first; PostgreSQL's
   * `date_trunc('week')` is ISO, Monday already.
   */
  private groupingKey(by: StatisticsGrouping) {
    switch (by) {
      case 'week':
        return dialectOf(this.db as unknown as Kysely<unknown>) === 'postgres'
          ? sql<string>`to_char(date_trunc('week', (r.requested_at::timestamptz) at time zone 'Asia/Tokyo'), 'YYYY-MM-DD')`
          : sql<string>`date(r.requested_at, '+9 hours', '-6 days', 'weekday 1')`;
      case 'procedure':
        return sql<string>`r.procedure_id`;
      case 'clause':
        return sql<string>`r.clause_no`;
      case 'item':
        return sql<string>`i.item_no`;
      case 'requester-kind':
      case 'provider-kind':
        return sql<string>`coalesce(k.kind, 'unknown')`;
    }
  }

  async findRecord(
    processingNumber: string,
  ): Promise<{ record: ProvisionRecord; state: InquiryState | undefined } | undefined> {
    const [found] = await this.recordsWithState(processingNumber, undefined, 1);
    return found;
  }

  listRecordsByProcessingNumber(
    after: string | undefined,
    limit: number,
  ): Promise<{ record: ProvisionRecord; state: InquiryState | undefined }[]> {
    return this.recordsWithState(undefined, after, limit);
  }

  private async recordsWithState(
    only: string | undefined,
    after: string | undefined,
    limit: number,
  ): Promise<{ record: ProvisionRecord; state: InquiryState | undefined }[]> {
    const query = this.db
      .selectFrom('provision_records as r')
      .leftJoin('inquiries as i', 'i.processing_number', 'r.processing_number')
      .selectAll('r')
      .select(['i.delivery', 'i.delivery_attempts', 'i.delivered_at'])
      .select('i.processing_number as state_pn');
    const rows = await pageByProcessingNumber(query, { after, limit, only }, 'r.processing_number').execute();
    return rows.map((row) => ({
      record: toRecord(row),
      state:
        row.state_pn === null || row.delivery === null
          ? undefined
          : toState({
              ...row,
              delivery: row.delivery,
              delivery_attempts: row.delivery_attempts ?? 0,
              delivered_at: row.delivered_at,
            }),
    }));
  }

  listEventsWithoutRecord(after: string | undefined, limit: number): Promise<string[]> {
    return eventsWithoutRecord(this.db, 'core', after, limit);
  }

  /** Closes the database; one of several core processes drops its lease first (see `dropLease`). */
  // ── Batches of inquiries ──────────────────────────────────────────────────────────────────

  async findInquiryBatch(batchId: string): Promise<StoredInquiryBatch | undefined> {
    const row = await this.db
      .selectFrom('inquiry_batches')
      .selectAll()
      .where('batch_id', '=', batchId)
      .executeTakeFirst();
    return row && toBatch(row);
  }

  async recordInquiryBatch(
    batch: Omit<StoredInquiryBatch, 'answer' | 'expiresAt' | 'deliveryAttempts'>,
    records: readonly ProvisionRecord[],
    requestIds?: readonly string[],
  ): Promise<'recorded' | 'exists' | 'request-known'> {
    const result = await this.writes.transaction(async (trx, group) => {
      const existing = await trx
        .selectFrom('inquiry_batches')
        .select('batch_id')
        .where('batch_id', '=', batch.batchId)
        .executeTakeFirst();
      if (existing) return 'exists' as const;
      for (const chunk of chunks(requestIds ?? [], BATCH_ROWS)) {
        const known = await trx
          .selectFrom('inquiry_requests')
          .select('request_id')
          .where('requester_id', '=', batch.requesterId)
          .where('request_id', 'in', chunk)
          .executeTakeFirst();
        if (known) return 'request-known' as const;
      }
      await trx
        .insertInto('inquiry_batches')
        .values({
          batch_id: batch.batchId,
          requester_id: batch.requesterId,
          provider_id: batch.providerId,
          accepted: batch.accepted,
          state: batch.state,
          answer: null,
          expires_at: null,
          delivery_attempts: 0,
          owner: this.worker?.id ?? null,
          created_at: batch.createdAt,
        })
        .execute();
      const owner = this.worker?.id ?? null;
      for (const chunk of chunks(records, BATCH_ROWS)) {
        await trx.insertInto('provision_records').values(chunk.map(toRecordRow)).execute();
        await trx
          .insertInto('inquiries')
          .values(
            chunk.map((record) => ({
              processing_number: record.processingNumber,
              delivery: record.outcome === 'refused' ? 'none' : 'pending',
              delivery_attempts: 0,
              delivered_at: null,
              owner,
              batch_id: batch.batchId,
            })),
          )
          .execute();
      }
      const items = records.flatMap((record) =>
        [...new Set(record.itemNos)].map((itemNo) => ({
          processing_number: record.processingNumber,
          item_no: itemNo,
        })),
      );
      for (const chunk of chunks(items, BATCH_ROWS * 3)) {
        await trx.insertInto('provision_record_items').values(chunk).execute();
      }
      if (requestIds !== undefined) {
        const keys = records.flatMap((record, i) => {
          const requestId = requestIds[i];
          return requestId === undefined
            ? []
            : [
                {
                  requester_id: record.requesterId,
                  request_id: requestId,
                  processing_number: record.processingNumber,
                },
              ];
        });
        for (const chunk of chunks(keys, BATCH_ROWS)) {
          await trx
            .insertInto('inquiry_requests')
            .values(chunk)
            .onConflict((oc) => oc.columns(['requester_id', 'request_id']).doNothing())
            .execute();
        }
      }
      queueEvents(group, records.map(openedEvent));
      return 'recorded' as const;
    });
    if (result === 'recorded') this.appended(records.length);
    return result;
  }

  async recordBatchOutcomes(
    batchId: string,
    outcomes: readonly BatchOutcome[],
    answeredAt: string,
    answer: { json: string; expiresAt: string },
    notifyProvider: boolean,
  ): Promise<string[]> {
    const answered = await this.writes.transaction(async (trx, group) => {
      // One UPDATE per distinct (outcome, reason): a batch has two or three, whatever its size.
      const groups = new Map<string, BatchOutcome[]>();
      for (const o of outcomes) {
        const key = `${o.outcome}\u0000${o.reason ?? ''}`;
        const group = groups.get(key);
        if (group) group.push(o);
        else groups.set(key, [o]);
      }
      const done: BatchOutcome[] = [];
      for (const group of groups.values()) {
        const { outcome, reason } = group[0]!;
        for (const chunk of chunks(group, BATCH_IN)) {
          const updated = await trx
            .updateTable('provision_records')
            .set({ outcome, reason, answered_at: answeredAt })
            .where(
              'processing_number',
              'in',
              chunk.map((o) => o.processingNumber),
            )
            .where('outcome', '=', 'pending')
            .returning(['processing_number', 'provider_id'])
            .execute();
          const now = new Set(updated.map((r) => r.processing_number));
          done.push(...chunk.filter((o) => now.has(o.processingNumber)));
          if (notifyProvider && outcome === 'failed' && updated.length > 0) {
            await trx
              .insertInto('provider_notices')
              .values(
                updated.map((r) => ({
                  processing_number: r.processing_number,
                  provider_id: r.provider_id,
                  reason: reason ?? 'provider_unavailable',
                  failed_at: answeredAt,
                })),
              )
              .execute();
          }
        }
      }
      // Only a batch still waiting for its provider: one a resume settled meanwhile keeps its answer.
      await trx
        .updateTable('inquiry_batches')
        .set({
          state: 'answered',
          answer: answer.json,
          expires_at: answer.expiresAt,
          ...(this.worker ? { owner: this.worker.id } : {}),
        })
        .where('batch_id', '=', batchId)
        .where('state', '=', 'forwarded')
        .execute();
      if (done.length > 0) {
        queueEvents(
          group,
          done.map((o) => answeredEvent(o.processingNumber, o.outcome, o.reason, answeredAt)),
        );
      }
      return done.map((o) => o.processingNumber);
    });
    if (answered.length > 0) this.appended(answered.length);
    return answered;
  }

  async recordBatchDelivery(
    batchId: string,
    delivery: 'delivered' | 'failed',
    attempts: number,
    at: string,
  ): Promise<void> {
    const ended = await this.writes.transaction(async (trx, group) => {
      const updated = await trx
        .updateTable('inquiries')
        .set({
          delivery,
          delivery_attempts: attempts,
          delivered_at: delivery === 'delivered' ? at : null,
        })
        .where('batch_id', '=', batchId)
        .where('delivery', '=', 'pending')
        .returning('processing_number')
        .execute();
      await trx
        .updateTable('inquiry_batches')
        .set({ state: delivery, answer: null, delivery_attempts: attempts })
        .where('batch_id', '=', batchId)
        .execute();
      if (updated.length > 0) {
        queueEvents(
          group,
          updated.map((r) => deliveryEvent(r.processing_number, delivery, attempts, at)),
        );
      }
      return updated.length;
    });
    if (ended > 0) this.appended(ended);
  }

  async listUnfinishedBatches(): Promise<StoredInquiryBatch[]> {
    let query = this.db
      .selectFrom('inquiry_batches')
      .selectAll()
      .where('state', 'in', ['forwarded', 'answered']);
    if (this.worker) {
      const { id } = this.worker;
      const now = this.worker.now().toISOString();
      const claimed = await this.db
        .updateTable('inquiry_batches')
        .set({ owner: id })
        .where('state', 'in', ['forwarded', 'answered'])
        .where((eb) => carriedByNoLiveWorker(eb, now))
        .returning('batch_id')
        .execute();
      if (claimed.length === 0) return [];
      query = query.where(
        'batch_id',
        'in',
        claimed.map((row) => row.batch_id),
      );
    }
    const rows = await query.orderBy('created_at').execute();
    return rows.map(toBatch);
  }

  async listPendingBatchMembers(batchId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('inquiries as i')
      .innerJoin('provision_records as r', 'r.processing_number', 'i.processing_number')
      .select('r.processing_number')
      .where('i.batch_id', '=', batchId)
      .where('r.outcome', '=', 'pending')
      .orderBy('r.processing_number')
      .execute();
    return rows.map((r) => r.processing_number);
  }

  async insertLegalVersion(version: StoredLegalVersion): Promise<boolean> {
    const result = await this.db
      .insertInto('legal_table_versions')
      .values({
        digest: version.digest,
        effective_from: version.effectiveFrom,
        loaded_at: version.loadedAt,
        loaded_by: version.loadedBy,
        clauses: version.files.clauses,
        procedures: version.files.procedures,
        items: version.files.items,
      })
      .onConflict((oc) => oc.columns(['effective_from', 'digest']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async listLegalVersions(): Promise<StoredLegalVersion[]> {
    const rows = await this.db
      .selectFrom('legal_table_versions')
      .selectAll()
      .orderBy('effective_from')
      .orderBy('loaded_at')
      .execute();
    return rows.map((row) => ({
      digest: row.digest,
      effectiveFrom: row.effective_from,
      loadedAt: row.loaded_at,
      loadedBy: row.loaded_by,
      files: { clauses: row.clauses, procedures: row.procedures, items: row.items },
    }));
  }

  async countQueues(): Promise<QueueDepths> {
    const count = async (
      table:
        | 'provision_records'
        | 'inquiries'
        | 'kept_answers'
        | 'provider_notices'
        | 'resident_notices'
        | 'portal_notices',
      where?: [column: string, value: string],
    ): Promise<number> => {
      let query = this.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n'));
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- one column name per table, written below
      if (where) query = query.where(where[0] as any, '=', where[1]);
      const row = await query.executeTakeFirst();
      return Number(row?.n ?? 0);
    };
    const [awaitingProvider, undelivered, keptAnswers, providerNotices, residentNotices, portalNotices] =
      await Promise.all([
        count('provision_records', ['outcome', 'pending']),
        count('inquiries', ['delivery', 'pending']),
        count('kept_answers'),
        count('provider_notices'),
        count('resident_notices', ['state', 'pending']),
        count('portal_notices', ['state', 'pending']),
      ]);
    return { awaitingProvider, undelivered, keptAnswers, providerNotices, residentNotices, portalNotices };
  }

  async listAnswerTimes(since: string, limit: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('provision_records')
      .select(['requested_at', 'answered_at'])
      .where('requested_at', '>=', since)
      .where('answered_at', 'is not', null)
      .where('outcome', 'in', ['provided', 'not_held', 'failed'])
      .orderBy('requested_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => Date.parse(r.answered_at ?? r.requested_at) - Date.parse(r.requested_at));
  }

  async close(): Promise<void> {
    await this.drainWrites();
    await this.dropLease().catch(() => undefined);
    await this.db.destroy();
  }
}

function toInstitution(row: InstitutionRow): Institution {
  return {
    id: row.id,
    name: row.name,
    nameEn: row.name_en,
    kind: row.kind as InstitutionKind,
    networkUrl: row.network_url,
    keyVersion: Number(row.key_version),
    rekeyedVersion: Number(row.rekeyed_version),
    suspended: Number(row.suspended) === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * Rows per multi-row INSERT of a batch: 13 values a record row, 6 an `inquiries` row: about 2,600
 * bound values at most, under every dialect's limit (SQLite's default is 32,766; older builds 999 is
 * not ours: better-sqlite3 ships a newer SQLite).
 */
const BATCH_ROWS = 200;
/** Values in one `in (…)` list. */
const BATCH_IN = 1_000;

function chunks<T>(rows: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

function toBatch(row: Selectable<CoreDatabase['inquiry_batches']>): StoredInquiryBatch {
  return {
    batchId: row.batch_id,
    requesterId: row.requester_id,
    providerId: row.provider_id,
    accepted: row.accepted,
    state: row.state as StoredInquiryBatch['state'],
    answer: row.answer,
    expiresAt: row.expires_at,
    deliveryAttempts: Number(row.delivery_attempts),
    createdAt: row.created_at,
  };
}

function toRecordRow(record: ProvisionRecord): RecordRow {
  return {
    processing_number: record.processingNumber,
    requester_id: record.requesterId,
    provider_id: record.providerId,
    clause_no: record.clauseNo,
    procedure_id: record.procedureId,
    item_nos: JSON.stringify(record.itemNos),
    person_key: record.personKey,
    requested_at: record.requestedAt,
    answered_at: record.answeredAt,
    outcome: record.outcome,
    reason: record.reason,
    non_disclosure: record.nonDisclosure ? 1 : 0,
    legal_table_digest: record.legalTableDigest,
  };
}

function toRecord(row: RecordRow): ProvisionRecord {
  return {
    processingNumber: row.processing_number,
    requesterId: row.requester_id,
    providerId: row.provider_id,
    clauseNo: row.clause_no,
    procedureId: row.procedure_id,
    itemNos: JSON.parse(row.item_nos) as number[],
    personKey: row.person_key,
    requestedAt: row.requested_at,
    answeredAt: row.answered_at,
    outcome: row.outcome as RecordOutcome,
    reason: row.reason,
    nonDisclosure: Number(row.non_disclosure) === 1,
    legalTableDigest: row.legal_table_digest,
  };
}

function toState(
  row: Pick<InquiryRow, 'delivery' | 'delivery_attempts' | 'delivered_at'> & RecordRow,
): InquiryState {
  return {
    processingNumber: row.processing_number,
    delivery: row.delivery as DeliveryState,
    deliveryAttempts: Number(row.delivery_attempts),
    deliveredAt: row.delivered_at,
  };
}

function residentNoticeOf(row: Selectable<CoreDatabase['resident_notices']>): StoredResidentNotice {
  return {
    noticeId: row.notice_id,
    institutionId: row.institution_id,
    residentKey: row.resident_key,
    kind: row.kind as StoredResidentNotice['kind'],
    sealed: row.sealed,
    state: row.state as StoredResidentNotice['state'],
    attempts: row.attempts,
    reason: row.reason,
    receivedAt: row.received_at,
    endedAt: row.ended_at,
  };
}

function portalNoticeOf(row: Selectable<CoreDatabase['portal_notices']>): StoredPortalNotice {
  return {
    noticeId: row.notice_id,
    senderId: row.sender_id,
    portalId: row.portal_id,
    residentKey: row.resident_key,
    sealed: row.sealed,
    state: row.state as StoredPortalNotice['state'],
    attempts: Number(row.attempts),
    reason: row.reason,
    receivedAt: row.received_at,
    endedAt: row.ended_at,
  };
}

function institutionTreeHeadOf(row: CoreDatabase['institution_tree_heads']): InstitutionTreeHead {
  return {
    institutionId: row.institution_id,
    treeSize: Number(row.tree_size),
    rootHash: row.root_hash,
    timestamp: Number(row.timestamp),
    kid: row.kid,
    jws: row.jws,
    seenAt: row.seen_at,
    finding: row.finding,
  };
}
