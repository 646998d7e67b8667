import type {
  AcquisitionNumber,
  ClauseNo,
  InstitutionId,
  ItemNo,
  Outcome,
  PersonCode,
  ProcedureId,
  ProcessingNumber,
} from '../../../protocol/identifiers.ts';
import type { AnsweredItem } from '../../../protocol/messages.ts';
import type { AddresseeNumber } from '../../../protocol/identifiers.ts';
import type { StoredRecordEvent, StoredTreeHead } from '../../../shared/record-log.ts';
import type { MerkleStore } from '../../../trust/merkle/index.ts';
import type { HeldCopy, ProviderRecord } from '../../../protocol/provider.ts';

export type { HeldCopy, ProviderRecord } from '../../../protocol/provider.ts';

/** One person's code changed by re-keying: `to` is null when the core did not recognise `from`. */
export interface PersonCodeChange {
  addresseeNumber: AddresseeNumber;
  from: PersonCode;
  to: PersonCode | null;
}

/** A notice of change as the institution recorded it (migration 0008): never an Individual Number. */
/**
 * A payment request sent with a notice (migration 0010_payment_requests): paid once the portal's
 * confirmation arrived through the core.
 */
export interface StoredPaymentRequest {
  noticeId: string;
  addresseeNumber: string;
  amount: number;
  dueDate: string;
  payee: string;
  reference: string;
  requestedAt: string;
  paidAt?: string;
  receipt?: string;
}

/** A notice this institution sent to a resident at the Myna Portal (migration 0009). */
export interface SentPortalNotice {
  noticeId: string;
  addresseeNumber: string;
  title: string;
  outcome: 'sent' | 'refused';
  reason: string | null;
  /** The business credential that sent it, when known (the access record). */
  sentBy: string | null;
  sentAt: string;
}

export interface StoredResidentNotice {
  sequence: number;
  noticeId: string;
  kind: 'number_change' | 'identity_change';
  outcome: 'applied' | 'not_held' | 'refused';
  reason?: string;
  addresseeNumber?: AddresseeNumber;
  change?: string;
  effectiveDate?: string;
  /** The changed fields of an identity change. */
  fields?: Record<string, string>;
  receivedAt: string;
}

/** A person as the intermediate server knows them: never with an Individual Number. */
export interface IntermediatePerson {
  addresseeNumber: AddresseeNumber;
  personCode: PersonCode | undefined;
}

export interface CopyToStore {
  addresseeNumber: AddresseeNumber;
  itemNo: ItemNo;
  data: Record<string, unknown>;
  layoutVersion: string;
  updatedAt: Date;
}

export type InquiryOutcome = Outcome | 'pending';

/**
 * A provision record kept as requester (情報照会). Fields other than the processing number and the
 * outcome are absent only while the core's answer has arrived before its 202 was stored.
 */
export interface RequesterRecord {
  processingNumber: ProcessingNumber;
  addresseeNumber?: AddresseeNumber;
  personCode?: PersonCode;
  providerId?: InstitutionId;
  clauseNo?: ClauseNo;
  procedureId?: ProcedureId;
  itemNos?: ItemNo[];
  /** ISO 8601. */
  requestedAt?: string;
  answeredAt?: string;
  outcome: InquiryOutcome;
  /** For `refused` and `failed`: an error code or a named rule of the legal table. */
  reason?: string;
  nonDisclosure: boolean;
  recordedAt: string;
  /**
   * Who made the inquiry (アクセス記録): the party its business credential names, e.g.
   * `131016:business` or a clerk's `131016:clerk-0042`; absent off the trust layer.
   */
  requestedBy?: string;
}

/** What the requester side writes when the core has accepted, refused, or could not be asked. */
export interface RequesterRecordInput {
  processingNumber: ProcessingNumber;
  addresseeNumber: AddresseeNumber;
  personCode: PersonCode;
  providerId: InstitutionId;
  clauseNo: ClauseNo;
  procedureId: ProcedureId;
  itemNos: ItemNo[];
  requestedAt: string;
  outcome: InquiryOutcome;
  reason?: string;
  nonDisclosure: boolean;
  recordedAt: string;
  /** The business credential's party that made the inquiry (see `RequesterRecord.requestedBy`). */
  requestedBy?: string;
}

/**
 * An inquiry as the requester wrote it down before sending it (its intent), under the idempotency key
 * the core keeps unique per requester: what a restarted node sends again.
 */
export interface InquiryIntent {
  requestId: string;
  addresseeNumber: AddresseeNumber;
  personCode: PersonCode;
  providerId: InstitutionId;
  clauseNo: ClauseNo;
  procedureId: ProcedureId;
  itemNos: ItemNo[];
  nonDisclosure: boolean;
  requestedBy?: string;
  createdAt: string;
}

export interface AnswerToStore {
  processingNumber: ProcessingNumber;
  outcome: Outcome;
  reason?: string;
  items: AnsweredItem[];
  answeredAt: string;
  receivedAt: string;
}

/** A provider record as the institution's own staff read it: the addressee number, if known, in place of the code. */
export type ProviderRecordView = Omit<ProviderRecord, 'personCode'> & { addresseeNumber?: AddresseeNumber };
export type RequesterRecordView = Omit<RequesterRecord, 'personCode'>;

/** A search of provision records: each condition given narrows it. Times are ISO 8601 (UTC). */
export interface ProvisionRecordFilter {
  /** Recorded at or after. */
  from?: string | undefined;
  /** Recorded before. */
  to?: string | undefined;
  procedureId?: string | undefined;
  outcome?: string | undefined;
  processingNumber?: string | undefined;
}

/**
 * The intermediate server's storage port. Implementations: `KyselyIntermediateStore` (SQLite,
 * PostgreSQL). Each method that changes state is one transaction.
 */
export interface IntermediateStore {
  findPerson(addresseeNumber: AddresseeNumber): Promise<IntermediatePerson | undefined>;
  /** The addressee number of the person holding the first of these codes found here. */
  findAddresseeNumberByCode(personCodes: readonly PersonCode[]): Promise<AddresseeNumber | undefined>;

  // ── Notices of change (migration 0008) ──
  findResidentNotice(noticeId: string): Promise<StoredResidentNotice | undefined>;
  /** Record a notice received; false (nothing written) when its id is recorded already. */
  recordResidentNotice(notice: Omit<StoredResidentNotice, 'sequence'>): Promise<boolean>;
  /** Notices in the order received, after `since` (a sequence). */
  listResidentNotices(since: number, limit: number): Promise<StoredResidentNotice[]>;
  /** Record a notice sent to a resident at the Myna Portal. */
  recordSentPortalNotice(notice: SentPortalNotice): Promise<void>;
  /** The notices sent to the holder of an addressee number, newest first. */
  listSentPortalNotices(addresseeNumber: string): Promise<SentPortalNotice[]>;
  /** A payment request sent with a notice (migration 0010). */
  recordPaymentRequest(request: StoredPaymentRequest): Promise<void>;
  findPaymentRequest(noticeId: string): Promise<StoredPaymentRequest | undefined>;
  /** Mark it paid, once: false (nothing written) when it was paid already. */
  markPaymentRequestPaid(noticeId: string, paidAt: string, receipt: string): Promise<boolean>;
  findPersons(
    addresseeNumbers: readonly AddresseeNumber[],
  ): Promise<Map<AddresseeNumber, IntermediatePerson>>;

  /** Keep a pending acquisition number, creating the person (without a code) if new. */
  beginAcquisition(input: {
    acquisitionNumber: AcquisitionNumber;
    addresseeNumber: AddresseeNumber;
    at: Date;
  }): Promise<void>;
  /**
   * Store the delivered code against the pending acquisition's addressee number and delete the
   * acquisition number. `unknown`: no such acquisition pending since `notBefore`; `code_taken`: the
   * code already belongs to another addressee number (nothing written).
   */
  completeAcquisition(input: {
    acquisitionNumber: AcquisitionNumber;
    personCode: PersonCode;
    at: Date;
    notBefore: Date;
  }): Promise<'completed' | 'unknown' | 'code_taken'>;
  /** Delete the acquisition number if still pending; true if the person now has a code. */
  endAcquisition(acquisitionNumber: AcquisitionNumber, addresseeNumber: AddresseeNumber): Promise<boolean>;
  /** Delete every pending acquisition number (on start: no request outlives a restart). */
  clearAcquisitions(): Promise<number>;

  /** How many persons hold a code. */
  countCodedPersons(): Promise<number>;
  /** Persons holding a code, by addressee number, the first `limit` after `after` (re-keying pages). */
  listCodedPersons(
    after: AddresseeNumber | undefined,
    limit: number,
  ): Promise<{ addresseeNumber: AddresseeNumber; personCode: PersonCode }[]>;
  /**
   * Replace codes, each only if the person still holds `from` (a code delivered meanwhile wins), in
   * one transaction; the number replaced.
   */
  replacePersonCodes(changes: readonly PersonCodeChange[]): Promise<number>;

  /** Insert or replace copies, all in one transaction. */
  putCopies(copies: readonly CopyToStore[]): Promise<void>;
  deleteCopy(addresseeNumber: AddresseeNumber, itemNo: ItemNo): Promise<boolean>;
  /** The copies held for a person code among the items; undefined when the code is not known here. */
  findCopiesByCode(personCode: PersonCode, itemNos: readonly ItemNo[]): Promise<HeldCopy[] | undefined>;

  // Each record write below also appends its record event (record-events.ts) and the event's Merkle
  // leaf, in the same transaction; a write that changes nothing appends nothing.
  /**
   * Open a requester record (event `inquiry_sent`, `inquiry_refused` or `inquiry_failed`), or complete
   * one its answer opened first (the answer's outcome is kept). `ignored` when the inquiry was already
   * opened: a record is never rewritten. With `intent` (a request id), that intent is deleted in the
   * same transaction, whether the record was opened or already was.
   */
  recordInquiry(record: RequesterRecordInput, intent?: string): Promise<'recorded' | 'ignored'>;
  /**
   * Write an inquiry's intent before it is sent (see `InquiryIntent`); false when one is already
   * kept under that key (a resend of an inquiry not yet settled). `recordInquiry(record, requestId)`
   * deletes it in the transaction that opens the record, so an intent outlives its record never.
   */
  saveIntent(intent: InquiryIntent): Promise<boolean>;
  /**
   * `saveIntent` for many in one write (one statement, one work of the group commit): the request
   * ids of those written now; the others are kept already under their key.
   */
  saveIntents(intents: readonly InquiryIntent[]): Promise<Set<string>>;
  /** Intents not yet settled, oldest first, the first `limit` after the key `after`. */
  listIntents(after: string | undefined, limit: number): Promise<InquiryIntent[]>;
  /** How many intents are not yet settled (for the node's metrics). */
  countIntents(): Promise<number>;
  /**
   * Store the answer's outcome in the requester record and its items, in one transaction (event
   * `answer_received`). `ignored` when the record is already settled (answered, refused or failed):
   * a second answer to the same processing number changes nothing.
   */
  recordAnswer(answer: AnswerToStore): Promise<'recorded' | 'ignored'>;
  /**
   * Lift the non-disclosure of a requester record (event `non_disclosure_lifted`), once the core has
   * taken the lift: false (nothing written) when the record is not, or no longer, under it.
   */
  liftNonDisclosure(processingNumber: ProcessingNumber, at: string): Promise<boolean>;
  findInquiry(
    processingNumber: ProcessingNumber,
  ): Promise<(RequesterRecord & { items: AnsweredItem[] | undefined }) | undefined>;
  /** Processing numbers of requester records still `pending`, in order, the first `limit` after `after`. */
  listPendingInquiries(after: ProcessingNumber | undefined, limit: number): Promise<ProcessingNumber[]>;

  /**
   * Record a provision (event `provided`, `not_held` or `failed`). A request answered again under the
   * same processing number adds an event; the row then shows the latest answer, the log keeps both.
   */
  recordProvision(record: ProviderRecord): Promise<void>;

  // ── Batches (bulk inquiries): the writes above, many in one transaction ──
  /** `findCopiesByCode` for many codes in one query: held copies by code; a code not known here is absent. */
  findCopiesByCodes(
    personCodes: readonly PersonCode[],
    itemNos: readonly ItemNo[],
  ): Promise<Map<PersonCode, HeldCopy[]>>;
  /** `recordProvision` for many records, in one transaction, events appended in one go. */
  recordProvisions(records: readonly ProviderRecord[]): Promise<void>;
  /**
   * Open many requester records in one transaction (a batch the core accepted); records already
   * opened are left as they are. The processing numbers opened now. With `intents`, those intents
   * are deleted in the same transaction (single inquiries the node sent together in one batch).
   */
  recordInquiries(
    records: readonly RequesterRecordInput[],
    intents?: readonly string[],
  ): Promise<ProcessingNumber[]>;
  /**
   * `recordAnswer` for many answers in one transaction: only records still `pending` are answered.
   * The processing numbers answered now.
   */
  recordAnswers(answers: readonly AnswerToStore[]): Promise<ProcessingNumber[]>;
  /** Requester records (with the code) by processing number; absent ones are not in the map. */
  findInquiries(
    processingNumbers: readonly ProcessingNumber[],
  ): Promise<Map<ProcessingNumber, RequesterRecord>>;

  listRequesterRecords(limit: number): Promise<RequesterRecordView[]>;
  listProviderRecords(limit: number): Promise<ProviderRecordView[]>;
  /**
   * Records matching every given condition, newest first (recorded time, then processing number),
   * at most `limit` of each role: the clerk console's search (`RecordService.searchProvisionRecords`).
   */
  searchRequesterRecords(filter: ProvisionRecordFilter, limit: number): Promise<RequesterRecordView[]>;
  searchProviderRecords(filter: ProvisionRecordFilter, limit: number): Promise<ProviderRecordView[]>;
  /**
   * Delete records (and received answers) first written before `before`, leaving each of their events
   * as a tombstone (its leaf hash only, computed from its body), in one transaction.
   */
  purgeRecords(before: Date): Promise<{ requester: number; provider: number }>;

  // ── The record log (tamper-evident records) ──
  /** Called after each committed transaction that appended record events, with how many. */
  onRecordEvents(listener: (count: number) => void): void;
  /** The Merkle log's store over the database (outside any transaction): for heads and proofs. */
  merkleStore(): MerkleStore;
  saveTreeHead(head: StoredTreeHead): Promise<void>;
  /** Every stored head, by size then time. */
  listTreeHeads(): Promise<StoredTreeHead[]>;
  /** The size the latest stored head covers; 0 when none. */
  latestTreeHeadSize(): Promise<number>;
  /** The head of the largest tree; undefined when none (the core's cross-check shows it). */
  latestTreeHead(): Promise<StoredTreeHead | undefined>;
  /** Event rows in log order, `limit` after index `after` (-1 for the first page). */
  listRecordEvents(after: number, limit: number): Promise<StoredRecordEvent[]>;
  /** The (unpurged) events of these records, both roles, by processing number, then log index. */
  listRecordEventsOf(processingNumbers: readonly string[]): Promise<StoredRecordEvent[]>;
  /** Requester records as stored (code included), by processing number after `after`, or just `only`. */
  listRequesterRecordsByProcessingNumber(
    after: string | undefined,
    limit: number,
    only?: string,
  ): Promise<RequesterRecord[]>;
  /** Provider records as stored, by processing number after `after`, or just `only`. */
  listProviderRecordsByProcessingNumber(
    after: string | undefined,
    limit: number,
    only?: string,
  ): Promise<ProviderRecord[]>;
  /** Processing numbers that events of `role` name but no record row of that role has, after `after`. */
  listEventsWithoutRecord(
    role: 'requester' | 'provider',
    after: string | undefined,
    limit: number,
  ): Promise<string[]>;
}

/** A bulk inquiry (一括照会) as stored. */
export interface BulkInquiryRecord {
  bulkNumber: string;
  providerId: InstitutionId;
  clauseNo: ClauseNo;
  procedureId: ProcedureId;
  itemNos: ItemNo[];
  nonDisclosure: boolean;
  requestedBy?: string;
  total: number;
  createdAt: string;
  finishedAt?: string;
}

/** One person of a bulk inquiry, with what became of it. */
export interface BulkMemberResult {
  position: number;
  addresseeNumber: AddresseeNumber;
  processingNumber?: ProcessingNumber;
  /** The requester record's outcome; `failed` with `reason` = the code when it could not be sent. */
  outcome: InquiryOutcome;
  reason?: string;
  items?: AnsweredItem[];
}

export interface BulkProgress {
  total: number;
  sent: number;
  finished: number;
  outcomes: { provided: number; not_held: number; refused: number; failed: number };
}

/**
 * The bulk inquiries' storage port (adapter: `KyselyBulkInquiryStore`, in the intermediate database
 * beside the requester records it points to). Each method that changes state is one transaction.
 */
export interface BulkInquiryStore {
  /** The bulk inquiry and all its persons, in one transaction. */
  createBulk(bulk: BulkInquiryRecord, addresseeNumbers: readonly AddresseeNumber[]): Promise<void>;
  findBulk(bulkNumber: string): Promise<BulkInquiryRecord | undefined>;
  /** Bulk numbers not yet finished, oldest first: what a restarted node resumes. */
  listUnfinishedBulks(): Promise<string[]>;
  /** Persons not yet sent, by position. */
  nextUnsent(
    bulkNumber: string,
    limit: number,
  ): Promise<{ position: number; addresseeNumber: AddresseeNumber }[]>;
  /** Mark persons sent (their processing number) or not sendable (an error code). */
  markSent(
    bulkNumber: string,
    members: readonly { position: number; processingNumber?: string; errorCode?: string }[],
  ): Promise<void>;
  /** Persons not yet sent with a position after `after`, by position (the batches' reader). */
  nextUnsentAfter(
    bulkNumber: string,
    after: number,
    limit: number,
  ): Promise<{ position: number; addresseeNumber: AddresseeNumber }[]>;
  /** `markSent` for one batch's persons, with the batch they went in, in one transaction. */
  markBatchSent(
    bulkNumber: string,
    batchId: string,
    members: readonly {
      position: number;
      addresseeNumber: AddresseeNumber;
      processingNumber?: string;
      errorCode?: string;
    }[],
  ): Promise<void>;
  /** The batches with persons still pending, with those persons' processing numbers (up to `limit` persons). */
  listPendingBatches(
    bulkNumber: string,
    limit: number,
  ): Promise<{ batchId: string; processingNumbers: string[] }[]>;
  progress(bulkNumber: string): Promise<BulkProgress>;
  finishBulk(bulkNumber: string, at: string): Promise<void>;
  /** Processing numbers of this bulk's inquiries still pending, up to `limit`. */
  listPending(bulkNumber: string, limit: number): Promise<ProcessingNumber[]>;
  /** Results after `after` (a position), in order. */
  results(bulkNumber: string, after: number, limit: number): Promise<BulkMemberResult[]>;
}
