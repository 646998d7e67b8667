import { appendRecordRows } from '../../../protocol/record-log-append.ts';
import type { Generated, Kysely, Selectable } from 'kysely';
import { precompiled } from '../../../shared/db.ts';
import type {
  AcquisitionNumber,
  ItemNo,
  PersonCode,
  ProcessingNumber,
} from '../../../protocol/identifiers.ts';
import type { AnsweredItem } from '../../../protocol/messages.ts';
import type { AddresseeNumber } from '../../../protocol/identifiers.ts';
import {
  pageByProcessingNumber,
  recordLogDb,
  KyselyPartyRecordLog,
  tombstoneRecordEvents,
  type PendingRecordEvents,
  type RecordLogTables,
} from '../../../shared/record-log-tables.ts';
import { leafHash } from '../../../trust/merkle/index.ts';
import {
  answerEvent,
  eventRow,
  inquiryEvent,
  nonDisclosureLiftedEvent,
  provisionEvent,
  type IntermediateRecordEvent,
} from './record-events.ts';
import type {
  AnswerToStore,
  CopyToStore,
  InquiryIntent,
  HeldCopy,
  InquiryOutcome,
  IntermediatePerson,
  PersonCodeChange,
  IntermediateStore,
  ProviderRecord,
  ProviderRecordView,
  RequesterRecord,
  RequesterRecordInput,
  RequesterRecordView,
  ProvisionRecordFilter,
  SentPortalNotice,
  StoredPaymentRequest,
  StoredResidentNotice,
} from './store.ts';

export interface IntermediateDatabase extends RecordLogTables {
  payment_requests: {
    notice_id: string;
    addressee_number: string;
    amount: number;
    due_date: string;
    payee: string;
    reference: string;
    requested_at: string;
    paid_at: string | null;
    receipt: string | null;
  };
  sent_portal_notices: {
    notice_id: string;
    addressee_number: string;
    title: string;
    outcome: string;
    reason: string | null;
    sent_by: string | null;
    sent_at: string;
  };
  resident_notices: {
    sequence: Generated<number>;
    notice_id: string;
    kind: string;
    outcome: string;
    reason: string | null;
    addressee_number: string | null;
    change: string | null;
    effective_date: string | null;
    fields: string | null;
    received_at: string;
  };
  persons: {
    addressee_number: string;
    person_code: string | null;
    code_acquired_at: string | null;
    registered_at: string;
  };
  acquisitions: {
    acquisition_number: string;
    addressee_number: string;
    created_at: string;
  };
  copies: {
    addressee_number: string;
    item_no: number;
    data: string;
    layout_version: string;
    updated_at: string;
  };
  requester_records: {
    processing_number: string;
    addressee_number: string | null;
    person_code: string | null;
    provider_id: string | null;
    clause_no: string | null;
    procedure_id: string | null;
    item_nos: string | null;
    requested_at: string | null;
    answered_at: string | null;
    outcome: string;
    reason: string | null;
    non_disclosure: number;
    recorded_at: string;
    requested_by: string | null;
  };
  inquiry_intents: {
    request_id: string;
    addressee_number: string;
    person_code: string;
    provider_id: string;
    clause_no: string;
    procedure_id: string;
    item_nos: string;
    non_disclosure: number;
    requested_by: string | null;
    created_at: string;
  };
  answers: {
    processing_number: string;
    items: string;
    received_at: string;
  };
  provider_records: {
    processing_number: string;
    requester_id: string;
    person_code: string;
    clause_no: string;
    procedure_id: string;
    item_nos: string;
    provided_item_nos: string;
    requested_at: string;
    answered_at: string;
    outcome: string;
    reason: string | null;
    non_disclosure: number;
    recorded_at: string;
  };
}

/** Rows per INSERT statement: keeps well under SQLite's bound-parameter limit, fine for PostgreSQL. */
const CHUNK = 500;
/** Rows per multi-row INSERT of a batch (14 values a requester record: 2,800 bound values). */
const BATCH_ROWS = 200;
/** Values in one `in (…)` list of a batch. */
const BATCH_IN = 1_000;

const encoder = new TextEncoder();

/**
 * The exchange path's reads, compiled once (`precompiled`): the clerk's status and the answer's
 * checks read an inquiry several times per exchange. The rest of the store builds its queries with
 * Kysely as usual.
 */
const selectInquiry = precompiled<
  IntermediateDatabase,
  { processingNumber: string },
  IntermediateDatabase['requester_records'] & { items: string | null }
>((db, p) =>
  db
    .selectFrom('requester_records')
    .leftJoin('answers', 'answers.processing_number', 'requester_records.processing_number')
    .selectAll('requester_records')
    .select('answers.items')
    .where('requester_records.processing_number', '=', p('processingNumber')),
);
const selectPerson = precompiled<
  IntermediateDatabase,
  { addresseeNumber: string },
  { addressee_number: string; person_code: string | null }
>((db, p) =>
  db
    .selectFrom('persons')
    .select(['addressee_number', 'person_code'])
    .where('addressee_number', '=', p('addresseeNumber')),
);

/** In a work of group commit: its events join the group's one append, made just before the commit. */
function queueEvents(group: PendingRecordEvents, events: readonly IntermediateRecordEvent[]): void {
  for (const event of events) group.rows.push(eventRow(event, 0));
}

/** `IntermediateStore` on Kysely: the same code for SQLite and PostgreSQL. */
export class KyselyIntermediateStore
  extends KyselyPartyRecordLog<IntermediateDatabase>
  implements IntermediateStore
{
  constructor(db: Kysely<IntermediateDatabase>) {
    super(db, appendRecordRows);
  }

  async findPerson(addresseeNumber: AddresseeNumber): Promise<IntermediatePerson | undefined> {
    const row = (await selectPerson(this.db, { addresseeNumber })).rows[0];
    return row && toPerson(row);
  }

  async findAddresseeNumberByCode(personCodes: readonly PersonCode[]): Promise<AddresseeNumber | undefined> {
    for (const code of personCodes) {
      const row = await this.db
        .selectFrom('persons')
        .select('addressee_number')
        .where('person_code', '=', code)
        .executeTakeFirst();
      if (row) return row.addressee_number;
    }
    return undefined;
  }

  async recordSentPortalNotice(notice: SentPortalNotice): Promise<void> {
    await this.db
      .insertInto('sent_portal_notices')
      .values({
        notice_id: notice.noticeId,
        addressee_number: notice.addresseeNumber,
        title: notice.title,
        outcome: notice.outcome,
        reason: notice.reason,
        sent_by: notice.sentBy,
        sent_at: notice.sentAt,
      })
      .execute();
  }

  async recordPaymentRequest(request: StoredPaymentRequest): Promise<void> {
    await this.db
      .insertInto('payment_requests')
      .values({
        notice_id: request.noticeId,
        addressee_number: request.addresseeNumber,
        amount: request.amount,
        due_date: request.dueDate,
        payee: request.payee,
        reference: request.reference,
        requested_at: request.requestedAt,
        paid_at: null,
        receipt: null,
      })
      .execute();
  }

  async findPaymentRequest(noticeId: string): Promise<StoredPaymentRequest | undefined> {
    const row = await this.db
      .selectFrom('payment_requests')
      .selectAll()
      .where('notice_id', '=', noticeId)
      .executeTakeFirst();
    return (
      row && {
        noticeId: row.notice_id,
        addresseeNumber: row.addressee_number,
        amount: Number(row.amount),
        dueDate: row.due_date,
        payee: row.payee,
        reference: row.reference,
        requestedAt: row.requested_at,
        ...(row.paid_at === null ? {} : { paidAt: row.paid_at }),
        ...(row.receipt === null ? {} : { receipt: row.receipt }),
      }
    );
  }

  async markPaymentRequestPaid(noticeId: string, paidAt: string, receipt: string): Promise<boolean> {
    const result = await this.db
      .updateTable('payment_requests')
      .set({ paid_at: paidAt, receipt })
      .where('notice_id', '=', noticeId)
      .where('paid_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async listSentPortalNotices(addresseeNumber: string): Promise<SentPortalNotice[]> {
    const rows = await this.db
      .selectFrom('sent_portal_notices')
      .selectAll()
      .where('addressee_number', '=', addresseeNumber)
      .orderBy('sent_at', 'desc')
      .execute();
    return rows.map((r) => ({
      noticeId: r.notice_id,
      addresseeNumber: r.addressee_number,
      title: r.title,
      outcome: r.outcome as SentPortalNotice['outcome'],
      reason: r.reason,
      sentBy: r.sent_by,
      sentAt: r.sent_at,
    }));
  }

  async findResidentNotice(noticeId: string): Promise<StoredResidentNotice | undefined> {
    const row = await this.db
      .selectFrom('resident_notices')
      .selectAll()
      .where('notice_id', '=', noticeId)
      .executeTakeFirst();
    return row && residentNoticeOf(row);
  }

  async recordResidentNotice(notice: Omit<StoredResidentNotice, 'sequence'>): Promise<boolean> {
    const result = await this.db
      .insertInto('resident_notices')
      .values({
        notice_id: notice.noticeId,
        kind: notice.kind,
        outcome: notice.outcome,
        reason: notice.reason ?? null,
        addressee_number: notice.addresseeNumber ?? null,
        change: notice.change ?? null,
        effective_date: notice.effectiveDate ?? null,
        fields: notice.fields === undefined ? null : JSON.stringify(notice.fields),
        received_at: notice.receivedAt,
      })
      .onConflict((oc) => oc.column('notice_id').doNothing())
      .executeTakeFirst();
    return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
  }

  async listResidentNotices(since: number, limit: number): Promise<StoredResidentNotice[]> {
    const rows = await this.db
      .selectFrom('resident_notices')
      .selectAll()
      .where('sequence', '>', since)
      .orderBy('sequence')
      .limit(limit)
      .execute();
    return rows.map(residentNoticeOf);
  }

  async findPersons(
    addresseeNumbers: readonly AddresseeNumber[],
  ): Promise<Map<AddresseeNumber, IntermediatePerson>> {
    const found = new Map<AddresseeNumber, IntermediatePerson>();
    const unique = [...new Set(addresseeNumbers)];
    for (let i = 0; i < unique.length; i += CHUNK) {
      const rows = await this.db
        .selectFrom('persons')
        .select(['addressee_number', 'person_code'])
        .where('addressee_number', 'in', unique.slice(i, i + CHUNK))
        .execute();
      for (const row of rows) found.set(row.addressee_number, toPerson(row));
    }
    return found;
  }

  beginAcquisition(input: {
    acquisitionNumber: AcquisitionNumber;
    addresseeNumber: AddresseeNumber;
    at: Date;
  }): Promise<void> {
    const at = input.at.toISOString();
    return this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('persons')
        .values({
          addressee_number: input.addresseeNumber,
          person_code: null,
          code_acquired_at: null,
          registered_at: at,
        })
        .onConflict((oc) => oc.column('addressee_number').doNothing())
        .execute();
      await trx
        .insertInto('acquisitions')
        .values({
          acquisition_number: input.acquisitionNumber,
          addressee_number: input.addresseeNumber,
          created_at: at,
        })
        .execute();
    });
  }

  completeAcquisition(input: {
    acquisitionNumber: AcquisitionNumber;
    personCode: PersonCode;
    at: Date;
    notBefore: Date;
  }): Promise<'completed' | 'unknown' | 'code_taken'> {
    return this.db.transaction().execute(async (trx) => {
      const pending = await trx
        .selectFrom('acquisitions')
        .select('addressee_number')
        .where('acquisition_number', '=', input.acquisitionNumber)
        .where('created_at', '>=', input.notBefore.toISOString())
        .executeTakeFirst();
      if (!pending) return 'unknown';
      const holder = await trx
        .selectFrom('persons')
        .select('addressee_number')
        .where('person_code', '=', input.personCode)
        .executeTakeFirst();
      if (holder && holder.addressee_number !== pending.addressee_number) return 'code_taken';
      await trx
        .updateTable('persons')
        .set({ person_code: input.personCode, code_acquired_at: input.at.toISOString() })
        .where('addressee_number', '=', pending.addressee_number)
        .execute();
      await trx
        .deleteFrom('acquisitions')
        .where('acquisition_number', '=', input.acquisitionNumber)
        .execute();
      return 'completed';
    });
  }

  endAcquisition(acquisitionNumber: AcquisitionNumber, addresseeNumber: AddresseeNumber): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('acquisitions').where('acquisition_number', '=', acquisitionNumber).execute();
      const person = await trx
        .selectFrom('persons')
        .select('person_code')
        .where('addressee_number', '=', addresseeNumber)
        .executeTakeFirst();
      return person?.person_code != null;
    });
  }

  async clearAcquisitions(): Promise<number> {
    const result = await this.db.deleteFrom('acquisitions').executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async countCodedPersons(): Promise<number> {
    const row = await this.db
      .selectFrom('persons')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('person_code', 'is not', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async listCodedPersons(
    after: AddresseeNumber | undefined,
    limit: number,
  ): Promise<{ addresseeNumber: AddresseeNumber; personCode: PersonCode }[]> {
    let query = this.db
      .selectFrom('persons')
      .select(['addressee_number', 'person_code'])
      .where('person_code', 'is not', null);
    if (after !== undefined) query = query.where('addressee_number', '>', after);
    const rows = await query.orderBy('addressee_number').limit(limit).execute();
    return rows.flatMap((row) =>
      row.person_code === null
        ? []
        : [{ addresseeNumber: row.addressee_number, personCode: row.person_code }],
    );
  }

  replacePersonCodes(changes: readonly PersonCodeChange[]): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      let replaced = 0;
      for (const change of changes) {
        const result = await trx
          .updateTable('persons')
          .set({ person_code: change.to })
          .where('addressee_number', '=', change.addresseeNumber)
          .where('person_code', '=', change.from)
          .executeTakeFirst();
        replaced += Number(result.numUpdatedRows);
      }
      return replaced;
    });
  }

  putCopies(copies: readonly CopyToStore[]): Promise<void> {
    return this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < copies.length; i += CHUNK) {
        await trx
          .insertInto('copies')
          .values(
            copies.slice(i, i + CHUNK).map((copy) => ({
              addressee_number: copy.addresseeNumber,
              item_no: copy.itemNo,
              data: JSON.stringify(copy.data),
              layout_version: copy.layoutVersion,
              updated_at: copy.updatedAt.toISOString(),
            })),
          )
          .onConflict((oc) =>
            oc.columns(['addressee_number', 'item_no']).doUpdateSet((eb) => ({
              data: eb.ref('excluded.data'),
              layout_version: eb.ref('excluded.layout_version'),
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .execute();
      }
    });
  }

  async deleteCopy(addresseeNumber: AddresseeNumber, itemNo: ItemNo): Promise<boolean> {
    const result = await this.db
      .deleteFrom('copies')
      .where('addressee_number', '=', addresseeNumber)
      .where('item_no', '=', itemNo)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async findCopiesByCode(
    personCode: PersonCode,
    itemNos: readonly ItemNo[],
  ): Promise<HeldCopy[] | undefined> {
    // One indexed query: the code's unique index finds the person, the copies' primary key the items.
    const rows = await this.db
      .selectFrom('persons')
      .leftJoin('copies', (join) =>
        join
          .onRef('copies.addressee_number', '=', 'persons.addressee_number')
          .on('copies.item_no', 'in', [...itemNos]),
      )
      .select(['copies.item_no', 'copies.data'])
      .where('persons.person_code', '=', personCode)
      .execute();
    if (rows.length === 0) return undefined;
    const held: HeldCopy[] = [];
    for (const row of rows) {
      if (row.item_no === null || row.data === null) continue;
      held.push({ itemNo: row.item_no, data: JSON.parse(row.data) as Record<string, unknown> });
    }
    return held.sort((a, b) => a.itemNo - b.itemNo);
  }

  async saveIntent(intent: InquiryIntent): Promise<boolean> {
    // In the group commit, as the record writes are: under load one commit for many clerks' intents
    // (on its own it was a commit of its own per inquiry, the last one on the requester's path).
    const result = await this.writes.transaction((trx) =>
      trx
        .insertInto('inquiry_intents')
        .values(intentRow(intent))
        .onConflict((oc) => oc.column('request_id').doNothing())
        .executeTakeFirst(),
    );
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async saveIntents(intents: readonly InquiryIntent[]): Promise<Set<string>> {
    if (intents.length === 0) return new Set();
    // The rows inserted are those `returning` names: a key kept already inserts nothing (SQLite ≥ 3.35
    // and PostgreSQL both return only the rows written under ON CONFLICT DO NOTHING).
    return this.writes.transaction(async (trx) => {
      const written = new Set<string>();
      for (let i = 0; i < intents.length; i += BATCH_ROWS) {
        const rows = await trx
          .insertInto('inquiry_intents')
          .values(intents.slice(i, i + BATCH_ROWS).map(intentRow))
          .onConflict((oc) => oc.column('request_id').doNothing())
          .returning('request_id')
          .execute();
        for (const row of rows) written.add(row.request_id);
      }
      return written;
    });
  }

  async countIntents(): Promise<number> {
    const row = await this.db
      .selectFrom('inquiry_intents')
      .select((eb) => eb.fn.countAll().as('count'))
      .executeTakeFirst();
    return Number(row?.count ?? 0);
  }

  async listIntents(after: string | undefined, limit: number): Promise<InquiryIntent[]> {
    let query = this.db.selectFrom('inquiry_intents').selectAll();
    if (after !== undefined) query = query.where('request_id', '>', after);
    const rows = await query.orderBy('request_id').limit(limit).execute();
    return rows.map((row) => ({
      requestId: row.request_id,
      addresseeNumber: row.addressee_number,
      personCode: row.person_code,
      providerId: row.provider_id,
      clauseNo: row.clause_no,
      procedureId: row.procedure_id,
      itemNos: JSON.parse(row.item_nos) as ItemNo[],
      nonDisclosure: row.non_disclosure === 1,
      ...(row.requested_by === null ? {} : { requestedBy: row.requested_by }),
      createdAt: row.created_at,
    }));
  }

  async recordInquiry(record: RequesterRecordInput, intent?: string): Promise<'recorded' | 'ignored'> {
    const event = inquiryEvent(record);
    const result = await this.writes.transaction(async (trx, group) => {
      if (intent !== undefined) {
        await trx.deleteFrom('inquiry_intents').where('request_id', '=', intent).execute();
      }
      const existing = await trx
        .selectFrom('requester_records')
        .select(['requested_at'])
        .where('processing_number', '=', record.processingNumber)
        .executeTakeFirst();
      // Opened already: a record is never rewritten. (`requested_at` is set by every opening.)
      if (existing && existing.requested_at !== null) return 'ignored';
      const fields = {
        addressee_number: record.addresseeNumber,
        person_code: record.personCode,
        provider_id: record.providerId,
        clause_no: record.clauseNo,
        procedure_id: record.procedureId,
        item_nos: JSON.stringify(record.itemNos),
        requested_at: record.requestedAt,
        non_disclosure: record.nonDisclosure ? 1 : 0,
        requested_by: record.requestedBy ?? null,
      };
      if (existing) {
        // The answer came first: keep its outcome and reason, add what the inquiry says.
        await trx
          .updateTable('requester_records')
          .set(fields)
          .where('processing_number', '=', record.processingNumber)
          .execute();
      } else {
        await trx
          .insertInto('requester_records')
          .values({
            processing_number: record.processingNumber,
            ...fields,
            answered_at: null,
            outcome: record.outcome,
            reason: record.reason ?? null,
            recorded_at: record.recordedAt,
          })
          .execute();
      }
      queueEvents(group, [event]);
      return 'recorded';
    });
    if (result === 'recorded') this.appended(1);
    return result;
  }

  async recordAnswer(answer: AnswerToStore): Promise<'recorded' | 'ignored'> {
    const result = await this.writes.transaction(async (trx, group) => {
      const existing = await trx
        .selectFrom('requester_records')
        .select('outcome')
        .where('processing_number', '=', answer.processingNumber)
        .executeTakeFirst();
      if (existing && existing.outcome !== 'pending') return 'ignored';
      if (existing) {
        await trx
          .updateTable('requester_records')
          .set({ answered_at: answer.answeredAt, outcome: answer.outcome, reason: answer.reason ?? null })
          .where('processing_number', '=', answer.processingNumber)
          .execute();
      } else {
        // The answer overtook the core's 202: the inquiry's own fields come when that is stored.
        await trx
          .insertInto('requester_records')
          .values({
            processing_number: answer.processingNumber,
            addressee_number: null,
            person_code: null,
            provider_id: null,
            clause_no: null,
            procedure_id: null,
            item_nos: null,
            requested_at: null,
            answered_at: answer.answeredAt,
            outcome: answer.outcome,
            reason: answer.reason ?? null,
            non_disclosure: 0,
            recorded_at: answer.receivedAt,
            requested_by: null,
          })
          .execute();
      }
      await trx
        .insertInto('answers')
        .values({
          processing_number: answer.processingNumber,
          items: JSON.stringify(answer.items),
          received_at: answer.receivedAt,
        })
        .execute();
      queueEvents(group, [answerEvent(answer)]);
      return 'recorded';
    });
    if (result === 'recorded') this.appended(1);
    return result;
  }

  async liftNonDisclosure(processingNumber: ProcessingNumber, at: string): Promise<boolean> {
    const lifted = await this.writes.transaction(async (trx, group) => {
      // Only an opened record (its fields stored) can carry the flag; compare-and-set against a racing lift.
      const updated = await trx
        .updateTable('requester_records')
        .set({ non_disclosure: 0 })
        .where('processing_number', '=', processingNumber)
        .where('non_disclosure', '=', 1)
        .executeTakeFirst();
      if (updated.numUpdatedRows !== 1n) return false;
      queueEvents(group, [nonDisclosureLiftedEvent(processingNumber, at)]);
      return true;
    });
    if (lifted) this.appended(1);
    return lifted;
  }

  async findInquiry(
    processingNumber: ProcessingNumber,
  ): Promise<(RequesterRecord & { items: AnsweredItem[] | undefined }) | undefined> {
    const row = (await selectInquiry(this.db, { processingNumber })).rows[0];
    if (!row) return undefined;
    const record: RequesterRecord = toRequesterRecord(row);
    if (row.person_code !== null) record.personCode = row.person_code;
    return { ...record, items: row.items === null ? undefined : (JSON.parse(row.items) as AnsweredItem[]) };
  }

  async listPendingInquiries(
    after: ProcessingNumber | undefined,
    limit: number,
  ): Promise<ProcessingNumber[]> {
    let query = this.db
      .selectFrom('requester_records')
      .select('processing_number')
      .where('outcome', '=', 'pending');
    if (after !== undefined) query = query.where('processing_number', '>', after);
    const rows = await query.orderBy('processing_number').limit(limit).execute();
    return rows.map((row) => row.processing_number);
  }

  /** One provision: a batch of one (`recordProvisions`), the same row and the same event. */
  async recordProvision(record: ProviderRecord): Promise<void> {
    await this.recordProvisions([record]);
  }

  // ── Batches (bulk inquiries) ──────────────────────────────────────────────────────────────

  async findCopiesByCodes(
    personCodes: readonly PersonCode[],
    itemNos: readonly ItemNo[],
  ): Promise<Map<PersonCode, HeldCopy[]>> {
    const found = new Map<PersonCode, HeldCopy[]>();
    const unique = [...new Set(personCodes)];
    for (let i = 0; i < unique.length; i += BATCH_IN) {
      const rows = await this.db
        .selectFrom('persons')
        .leftJoin('copies', (join) =>
          join
            .onRef('copies.addressee_number', '=', 'persons.addressee_number')
            .on('copies.item_no', 'in', [...itemNos]),
        )
        .select(['persons.person_code', 'copies.item_no', 'copies.data'])
        .where('persons.person_code', 'in', unique.slice(i, i + BATCH_IN))
        .execute();
      for (const row of rows) {
        if (row.person_code === null) continue;
        let held = found.get(row.person_code);
        if (!held) found.set(row.person_code, (held = []));
        if (row.item_no === null || row.data === null) continue;
        held.push({ itemNo: row.item_no, data: JSON.parse(row.data) as Record<string, unknown> });
      }
    }
    for (const held of found.values()) held.sort((a, b) => a.itemNo - b.itemNo);
    return found;
  }

  async recordProvisions(records: readonly ProviderRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.writes.transaction(async (trx, group) => {
      for (let i = 0; i < records.length; i += BATCH_ROWS) {
        await trx
          .insertInto('provider_records')
          .values(
            records.slice(i, i + BATCH_ROWS).map((record) => ({
              processing_number: record.processingNumber,
              requester_id: record.requesterId,
              person_code: record.personCode,
              clause_no: record.clauseNo,
              procedure_id: record.procedureId,
              item_nos: JSON.stringify(record.itemNos),
              provided_item_nos: JSON.stringify(record.providedItemNos),
              requested_at: record.requestedAt,
              answered_at: record.answeredAt,
              outcome: record.outcome,
              reason: record.reason ?? null,
              non_disclosure: record.nonDisclosure ? 1 : 0,
              recorded_at: record.recordedAt,
            })),
          )
          .onConflict((oc) =>
            oc.column('processing_number').doUpdateSet((eb) => ({
              provided_item_nos: eb.ref('excluded.provided_item_nos'),
              answered_at: eb.ref('excluded.answered_at'),
              outcome: eb.ref('excluded.outcome'),
              reason: eb.ref('excluded.reason'),
            })),
          )
          .execute();
      }
      queueEvents(group, records.map(provisionEvent));
    });
    this.appended(records.length);
  }

  async recordInquiries(
    records: readonly RequesterRecordInput[],
    intents: readonly string[] = [],
  ): Promise<ProcessingNumber[]> {
    if (records.length === 0) return [];
    const opened = await this.writes.transaction(async (trx, group) => {
      for (let i = 0; i < intents.length; i += BATCH_IN) {
        await trx
          .deleteFrom('inquiry_intents')
          .where('request_id', 'in', intents.slice(i, i + BATCH_IN))
          .execute();
      }
      const existing = new Set<string>();
      for (let i = 0; i < records.length; i += BATCH_IN) {
        const rows = await trx
          .selectFrom('requester_records')
          .select('processing_number')
          .where(
            'processing_number',
            'in',
            records.slice(i, i + BATCH_IN).map((r) => r.processingNumber),
          )
          .execute();
        for (const row of rows) existing.add(row.processing_number);
      }
      const fresh = records.filter((r) => !existing.has(r.processingNumber));
      for (let i = 0; i < fresh.length; i += BATCH_ROWS) {
        await trx
          .insertInto('requester_records')
          .values(
            fresh.slice(i, i + BATCH_ROWS).map((record) => ({
              processing_number: record.processingNumber,
              addressee_number: record.addresseeNumber,
              person_code: record.personCode,
              provider_id: record.providerId,
              clause_no: record.clauseNo,
              procedure_id: record.procedureId,
              item_nos: JSON.stringify(record.itemNos),
              requested_at: record.requestedAt,
              answered_at: null,
              outcome: record.outcome,
              reason: record.reason ?? null,
              non_disclosure: record.nonDisclosure ? 1 : 0,
              recorded_at: record.recordedAt,
              requested_by: record.requestedBy ?? null,
            })),
          )
          .execute();
      }
      if (fresh.length > 0) queueEvents(group, fresh.map(inquiryEvent));
      return fresh.map((r) => r.processingNumber);
    });
    if (opened.length > 0) this.appended(opened.length);
    return opened;
  }

  async recordAnswers(answers: readonly AnswerToStore[]): Promise<ProcessingNumber[]> {
    if (answers.length === 0) return [];
    const answered = await this.writes.transaction(async (trx, group) => {
      const pending = new Set<string>();
      for (let i = 0; i < answers.length; i += BATCH_IN) {
        const rows = await trx
          .selectFrom('requester_records')
          .select('processing_number')
          .where(
            'processing_number',
            'in',
            answers.slice(i, i + BATCH_IN).map((a) => a.processingNumber),
          )
          .where('outcome', '=', 'pending')
          .execute();
        for (const row of rows) pending.add(row.processing_number);
      }
      const now = answers.filter((a) => pending.delete(a.processingNumber));
      // One UPDATE per distinct outcome, reason and time: a batch has two or three.
      const groups = new Map<string, AnswerToStore[]>();
      for (const a of now) {
        const key = `${a.outcome}\u0000${a.reason ?? ''}\u0000${a.answeredAt}`;
        const group = groups.get(key);
        if (group) group.push(a);
        else groups.set(key, [a]);
      }
      for (const group of groups.values()) {
        const { outcome, reason, answeredAt } = group[0]!;
        for (let i = 0; i < group.length; i += BATCH_IN) {
          await trx
            .updateTable('requester_records')
            .set({ answered_at: answeredAt, outcome, reason: reason ?? null })
            .where(
              'processing_number',
              'in',
              group.slice(i, i + BATCH_IN).map((a) => a.processingNumber),
            )
            .execute();
        }
      }
      for (let i = 0; i < now.length; i += BATCH_ROWS * 4) {
        await trx
          .insertInto('answers')
          .values(
            now.slice(i, i + BATCH_ROWS * 4).map((a) => ({
              processing_number: a.processingNumber,
              items: JSON.stringify(a.items),
              received_at: a.receivedAt,
            })),
          )
          .execute();
      }
      if (now.length > 0) queueEvents(group, now.map(answerEvent));
      return now.map((a) => a.processingNumber);
    });
    if (answered.length > 0) this.appended(answered.length);
    return answered;
  }

  async findInquiries(
    processingNumbers: readonly ProcessingNumber[],
  ): Promise<Map<ProcessingNumber, RequesterRecord>> {
    const found = new Map<ProcessingNumber, RequesterRecord>();
    for (let i = 0; i < processingNumbers.length; i += BATCH_IN) {
      const rows = await this.db
        .selectFrom('requester_records')
        .selectAll()
        .where('processing_number', 'in', processingNumbers.slice(i, i + BATCH_IN))
        .execute();
      for (const row of rows) {
        const record: RequesterRecord = toRequesterRecord(row);
        if (row.person_code !== null) record.personCode = row.person_code;
        found.set(row.processing_number, record);
      }
    }
    return found;
  }

  /** The newest records: a search with no filter (the same query). */
  listRequesterRecords(limit: number): Promise<RequesterRecordView[]> {
    return this.searchRequesterRecords({}, limit);
  }

  listProviderRecords(limit: number): Promise<ProviderRecordView[]> {
    return this.searchProviderRecords({}, limit);
  }

  async searchRequesterRecords(filter: ProvisionRecordFilter, limit: number): Promise<RequesterRecordView[]> {
    let query = this.db.selectFrom('requester_records').selectAll();
    if (filter.from !== undefined) query = query.where('recorded_at', '>=', filter.from);
    if (filter.to !== undefined) query = query.where('recorded_at', '<', filter.to);
    if (filter.procedureId !== undefined) query = query.where('procedure_id', '=', filter.procedureId);
    if (filter.outcome !== undefined) query = query.where('outcome', '=', filter.outcome);
    if (filter.processingNumber !== undefined) {
      query = query.where('processing_number', '=', filter.processingNumber);
    }
    const rows = await query
      .orderBy('recorded_at', 'desc')
      .orderBy('processing_number', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toRequesterRecord);
  }

  async searchProviderRecords(filter: ProvisionRecordFilter, limit: number): Promise<ProviderRecordView[]> {
    let query = this.db
      .selectFrom('provider_records')
      .leftJoin('persons', 'persons.person_code', 'provider_records.person_code')
      .selectAll('provider_records')
      .select('persons.addressee_number');
    if (filter.from !== undefined) query = query.where('provider_records.recorded_at', '>=', filter.from);
    if (filter.to !== undefined) query = query.where('provider_records.recorded_at', '<', filter.to);
    if (filter.procedureId !== undefined) {
      query = query.where('provider_records.procedure_id', '=', filter.procedureId);
    }
    if (filter.outcome !== undefined) query = query.where('provider_records.outcome', '=', filter.outcome);
    if (filter.processingNumber !== undefined) {
      query = query.where('provider_records.processing_number', '=', filter.processingNumber);
    }
    const rows = await query
      .orderBy('provider_records.recorded_at', 'desc')
      .orderBy('provider_records.processing_number', 'desc')
      .limit(limit)
      .execute();
    return rows.map((row) => {
      // Staff read their records without the code.
      const { personCode: _code, ...view }: ProviderRecordView & { personCode: string } =
        toProviderRecord(row);
      if (row.addressee_number !== null) view.addresseeNumber = row.addressee_number;
      return view;
    });
  }

  purgeRecords(before: Date): Promise<{ requester: number; provider: number }> {
    const cutoff = before.toISOString();
    return this.db.transaction().execute(async (trx) => {
      // Each event of a purged record keeps its leaf hash, computed from its own bytes (so an edit
      // made before the purge is still caught), and nothing else; merkle_nodes is never touched.
      const events = await trx
        .selectFrom('record_events')
        .select(['idx', 'body'])
        .where('body', 'is not', null)
        .where((eb) =>
          eb.or([
            eb.and([
              eb('role', '=', 'requester'),
              eb(
                'processing_number',
                'in',
                eb
                  .selectFrom('requester_records')
                  .select('processing_number')
                  .where('recorded_at', '<', cutoff),
              ),
            ]),
            eb.and([
              eb('role', '=', 'provider'),
              eb(
                'processing_number',
                'in',
                eb
                  .selectFrom('provider_records')
                  .select('processing_number')
                  .where('recorded_at', '<', cutoff),
              ),
            ]),
          ]),
        )
        .execute();
      await tombstoneRecordEvents(
        recordLogDb(trx),
        events.map((e) => ({ idx: Number(e.idx), leafHash: leafHash(encoder.encode(e.body ?? '')) })),
      );
      await trx
        .deleteFrom('answers')
        .where('processing_number', 'in', (eb) =>
          eb.selectFrom('requester_records').select('processing_number').where('recorded_at', '<', cutoff),
        )
        .execute();
      const requester = await trx
        .deleteFrom('requester_records')
        .where('recorded_at', '<', cutoff)
        .executeTakeFirst();
      const provider = await trx
        .deleteFrom('provider_records')
        .where('recorded_at', '<', cutoff)
        .executeTakeFirst();
      return { requester: Number(requester.numDeletedRows), provider: Number(provider.numDeletedRows) };
    });
  }

  async listRequesterRecordsByProcessingNumber(
    after: string | undefined,
    limit: number,
    only?: string,
  ): Promise<RequesterRecord[]> {
    const rows = await pageByProcessingNumber(this.db.selectFrom('requester_records').selectAll(), {
      after,
      limit,
      only,
    }).execute();
    return rows.map((row) => {
      const record: RequesterRecord = toRequesterRecord(row);
      if (row.person_code !== null) record.personCode = row.person_code;
      if (row.answered_at === null) delete record.answeredAt;
      return record;
    });
  }

  async listProviderRecordsByProcessingNumber(
    after: string | undefined,
    limit: number,
    only?: string,
  ): Promise<ProviderRecord[]> {
    const rows = await pageByProcessingNumber(this.db.selectFrom('provider_records').selectAll(), {
      after,
      limit,
      only,
    }).execute();
    return rows.map(toProviderRecord);
  }
}

function toPerson(row: { addressee_number: string; person_code: string | null }): IntermediatePerson {
  return { addresseeNumber: row.addressee_number, personCode: row.person_code ?? undefined };
}

function intentRow(intent: InquiryIntent): IntermediateDatabase['inquiry_intents'] {
  return {
    request_id: intent.requestId,
    addressee_number: intent.addresseeNumber,
    person_code: intent.personCode,
    provider_id: intent.providerId,
    clause_no: intent.clauseNo,
    procedure_id: intent.procedureId,
    item_nos: JSON.stringify(intent.itemNos),
    non_disclosure: intent.nonDisclosure ? 1 : 0,
    requested_by: intent.requestedBy ?? null,
    created_at: intent.createdAt,
  };
}

function toRequesterRecord(row: IntermediateDatabase['requester_records']): RequesterRecordView {
  const record: RequesterRecordView = {
    processingNumber: row.processing_number,
    outcome: row.outcome as InquiryOutcome,
    nonDisclosure: row.non_disclosure !== 0,
    recordedAt: row.recorded_at,
  };
  if (row.addressee_number !== null) record.addresseeNumber = row.addressee_number;
  if (row.provider_id !== null) record.providerId = row.provider_id;
  if (row.clause_no !== null) record.clauseNo = row.clause_no;
  if (row.procedure_id !== null) record.procedureId = row.procedure_id;
  if (row.item_nos !== null) record.itemNos = JSON.parse(row.item_nos) as ItemNo[];
  if (row.requested_at !== null) record.requestedAt = row.requested_at;
  if (row.answered_at !== null) record.answeredAt = row.answered_at;
  if (row.reason !== null) record.reason = row.reason;
  if (row.requested_by !== null) record.requestedBy = row.requested_by;
  return record;
}

function toProviderRecord(row: IntermediateDatabase['provider_records']): ProviderRecord {
  const record: ProviderRecord = {
    processingNumber: row.processing_number,
    requesterId: row.requester_id,
    personCode: row.person_code,
    clauseNo: row.clause_no,
    procedureId: row.procedure_id,
    itemNos: JSON.parse(row.item_nos) as ItemNo[],
    providedItemNos: JSON.parse(row.provided_item_nos) as ItemNo[],
    requestedAt: row.requested_at,
    answeredAt: row.answered_at,
    outcome: row.outcome as ProviderRecord['outcome'],
    nonDisclosure: row.non_disclosure !== 0,
    recordedAt: row.recorded_at,
  };
  if (row.reason !== null) record.reason = row.reason;
  return record;
}

function residentNoticeOf(row: Selectable<IntermediateDatabase['resident_notices']>): StoredResidentNotice {
  return {
    sequence: Number(row.sequence),
    noticeId: row.notice_id,
    kind: row.kind as StoredResidentNotice['kind'],
    outcome: row.outcome as StoredResidentNotice['outcome'],
    ...(row.reason === null ? {} : { reason: row.reason }),
    ...(row.addressee_number === null ? {} : { addresseeNumber: row.addressee_number }),
    ...(row.change === null ? {} : { change: row.change }),
    ...(row.effective_date === null ? {} : { effectiveDate: row.effective_date }),
    ...(row.fields === null ? {} : { fields: JSON.parse(row.fields) as Record<string, string> }),
    receivedAt: row.received_at,
  };
}
