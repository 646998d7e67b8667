/**
 * The core's storage port. The services depend on this interface only; `kysely-store.ts` implements
 * it over Kysely (SQLite by default, PostgreSQL later with no change here). Implementations never
 * hold a resident record code in clear, a code, or an answer's items in clear: the interface has no
 * place for them. The one answer-shaped thing it keeps is `KeptAnswer.sealedItems`, the provider's
 * ciphertext to the requester, which the core has no key to open.
 */
import type { StoredRecordEvent, StoredTreeHead } from '../../shared/record-log.ts';
import type { MerkleStore } from '../../trust/merkle/index.ts';
import type {
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

/**
 * A version of the legal table as the core keeps it (migration 0014): the three files' text, the
 * digest provision records carry, the JST day it takes effect, and who loaded it when.
 */
export interface StoredLegalVersion {
  digest: string;
  /** JST calendar day, `YYYY-MM-DD`: in force from its first moment until a later version's. */
  effectiveFrom: string;
  loadedAt: string;
  /** The operator's party id (`operator:legal:<person>`), or `start` for the files the core started with. */
  loadedBy: string;
  files: { clauses: string; procedures: string; items: string };
}

/** How much work waits in the core, for the operator's health page. */
export interface QueueDepths {
  /** Inquiries accepted whose provider has not answered (record `pending`). */
  awaitingProvider: number;
  /** Inquiries answered whose answer is not yet delivered to the requester (delivery `pending`). */
  undelivered: number;
  /** Sealed answers kept for requesters that have not taken them. */
  keptAnswers: number;
  /** Failures not yet acknowledged by their provider. */
  providerNotices: number;
  /** Notices of change and portal notices not yet delivered. */
  residentNotices: number;
  portalNotices: number;
}

/** An inquiry waiting for an outcome or for delivery, as found after a restart. */
export interface UnfinishedInquiry {
  record: ProvisionRecord;
  state: InquiryState;
}

/**
 * A provided answer's items as the provider sealed them for the requester (a compact JWE), kept until
 * the requester has them or `expiresAt` passes.
 */
export interface KeptAnswer {
  processingNumber: string;
  sealedItems: string;
  expiresAt: string;
}

/**
 * A failure the core recorded after forwarding an inquiry, to be told to its provider (which may have
 * recorded something else) until it acknowledges.
 */
export interface ProviderNotice {
  processingNumber: string;
  providerId: string;
  reason: string;
  failedAt: string;
}

/** A batch of inquiries as the core keeps it (migration 0007). */
export interface StoredInquiryBatch {
  batchId: string;
  requesterId: string;
  providerId: string;
  /** The `InquiryBatchAccepted` answered, as JSON: what a resend gets again. */
  accepted: string;
  state: 'forwarded' | 'answered' | 'delivered' | 'failed' | 'none';
  /** The `AnswerBatchDelivery` as JSON (items sealed, never in clear) until the requester has it. */
  answer: string | null;
  expiresAt: string | null;
  deliveryAttempts: number;
  createdAt: string;
}

/** One member's outcome as the provider answered it (or the core decided it: a failure). */
export interface BatchOutcome {
  processingNumber: string;
  outcome: 'provided' | 'not_held' | 'failed';
  reason: string | null;
}

/**
 * A notice of change J-LIS sealed for one holder of a person (migration 0010): the person by resident
 * key only, the notice as ciphertext, kept until the holder acknowledges it.
 */
export interface StoredResidentNotice {
  noticeId: string;
  institutionId: string;
  residentKey: string;
  kind: 'number_change' | 'identity_change';
  /** The compact JWE J-LIS sealed for the institution; null once the notice has ended. */
  sealed: string | null;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  reason: string | null;
  receivedAt: string;
  endedAt: string | null;
}

/**
 * An institution's notice to a resident at the Myna Portal (migration 0013): the sender, the person
 * by resident key only, the portal it goes to, the content as ciphertext (sealed to the portal),
 * kept until the portal acknowledges it. `held`: the portal holds no code for the person yet (they
 * never logged in); it becomes `pending` when the portal acquires one.
 */
export interface StoredPortalNotice {
  noticeId: string;
  senderId: string;
  portalId: string;
  residentKey: string;
  /** The compact JWE the sender sealed for the portal; null once the notice has ended. */
  sealed: string | null;
  state: 'held' | 'pending' | 'delivered' | 'failed';
  attempts: number;
  reason: string | null;
  receivedAt: string;
  endedAt: string | null;
}

export interface CoreStore {
  // ── Registry ──
  /** Insert or replace the registration fields; `keyVersion` and `createdAt` of an existing row are kept. */
  upsertInstitution(institution: Institution): Promise<{ institution: Institution; created: boolean }>;
  findInstitution(id: string): Promise<Institution | undefined>;
  listInstitutions(): Promise<Institution[]>;
  /**
   * Set the key version only if both it and the re-keyed version still are `from` (compare-and-set);
   * false if someone else moved it or the institution has not finished re-keying.
   */
  setInstitutionKeyVersion(id: string, from: number, to: number, updatedAt: string): Promise<boolean>;
  /** Record that the institution's codes are all under `version`, if that is still its key version. */
  setInstitutionRekeyed(id: string, version: number, updatedAt: string): Promise<boolean>;
  /**
   * Set the institution's suspension flag and append `event` to its history, in one transaction, if
   * the flag changes; false (nothing written) when it was already so or there is no such institution.
   */
  setInstitutionSuspended(event: SuspensionEvent): Promise<boolean>;
  /** The institution's suspensions and reinstatements, oldest first. */
  listSuspensionEvents(institutionId: string): Promise<SuspensionEvent[]>;

  // ── Linking codes ──
  /** The linking code (base64url) stored against a resident key (keyed hash of the resident record code). */
  findLinkingCode(residentKey: string): Promise<string | undefined>;
  /** Insert unless a linking code already exists for the resident key (unique constraint); never overwrites. */
  insertLinkingCodeIfAbsent(residentKey: string, linkingCode: string, createdAt: string): Promise<void>;

  // ── Code holders and notices of change (migrations 0009, 0010) ──
  /** Record that the institution was issued a code for the person; a pair already recorded is kept. */
  /** The resident key a linking code (base64url) is stored under (unique both ways). */
  findResidentKeyByLinkingCode(linkingCode: string): Promise<string | undefined>;
  recordCodeHolder(residentKey: string, institutionId: string, issuedAt: string): Promise<void>;
  /** The institutions issued a code for the person, by id. */
  listCodeHolders(residentKey: string): Promise<string[]>;
  /**
   * Store a notice for each of its holders in one transaction, unless the notice id is stored already
   * (a resend): then nothing is written and false is returned.
   */
  recordResidentNotices(notices: readonly StoredResidentNotice[]): Promise<boolean>;
  /** The holders a notice was stored for (what a resend is answered). */
  listResidentNoticeHolders(noticeId: string): Promise<string[]>;
  /** Notices not yet acknowledged, oldest first. */
  listPendingResidentNotices(): Promise<StoredResidentNotice[]>;
  findResidentNotice(noticeId: string, institutionId: string): Promise<StoredResidentNotice | undefined>;
  /** End a pending notice (`delivered` or `failed`, with its reason) and drop its ciphertext. */
  endResidentNotice(
    noticeId: string,
    institutionId: string,
    state: 'delivered' | 'failed',
    attempts: number,
    reason: string | null,
    at: string,
  ): Promise<void>;

  // ── Notices to residents at the Myna Portal (migration 0013) ──
  /** Store a notice unless its id is stored already; the stored one is answered either way. */
  recordPortalNotice(notice: StoredPortalNotice): Promise<{ stored: boolean; notice: StoredPortalNotice }>;
  /** A notice by id, whatever its state (payment confirmations find their notice's sender). */
  findPortalNotice(noticeId: string): Promise<StoredPortalNotice | undefined>;
  /** Notices still to deliver (`pending`), oldest first. */
  listPendingPortalNotices(): Promise<StoredPortalNotice[]>;
  /** Move the person's `held` notices for `portalId` to `pending`, returning them. */
  releaseHeldPortalNotices(residentKey: string, portalId: string): Promise<StoredPortalNotice[]>;
  /** End a pending notice (`delivered` or `failed`), dropping its ciphertext. */
  endPortalNotice(
    noticeId: string,
    state: 'delivered' | 'failed',
    attempts: number,
    reason: string | null,
    at: string,
  ): Promise<void>;

  // ── Inquiries and provision records ──
  // Each write below also appends its record event (record-events.ts) and the event's Merkle leaf, in
  // the same transaction; a write that changes nothing appends nothing.
  /**
   * The record and the inquiry's state, written in one transaction (event `accepted` or `refused`).
   * With `requestId` (the requester's idempotency key), the key too: `duplicate` and nothing written
   * when the requester already has an inquiry under that key (two submissions racing; the caller then
   * answers as `findInquiryByRequest` finds it).
   */
  recordInquiry(
    record: ProvisionRecord,
    state: InquiryState,
    requestId?: string,
  ): Promise<'recorded' | 'duplicate'>;
  /** The inquiry a requester submitted under an idempotency key, if any (and not purged). */
  findInquiryByRequest(requesterId: string, requestId: string): Promise<UnfinishedInquiry | undefined>;
  /**
   * Set a pending record's final outcome (event `answered`) and, with `keep`, keep the answer's sealed
   * items for the requester, and with `notifyProvider` (a failure after forwarding) keep a notice for
   * the provider (`ProviderNotice`), in the same transaction. False if the record was no longer
   * pending (nothing is kept then).
   */
  recordOutcome(
    processingNumber: string,
    outcome: Exclude<RecordOutcome, 'pending' | 'refused'>,
    reason: string | null,
    answeredAt: string,
    keep?: { sealedItems: string; expiresAt: string },
    notifyProvider?: boolean,
  ): Promise<boolean>;
  /** Notices not yet acknowledged by their providers, oldest first. */
  listProviderNotices(): Promise<ProviderNotice[]>;
  /** The provider acknowledged the notice: drop it. */
  endProviderNotice(processingNumber: string): Promise<void>;
  /**
   * End a pending delivery (event `delivery`); a delivery already ended is left as it is. Either way
   * the kept answer, if any, is dropped in the same transaction: once delivery has ended the core has
   * no reason to hold the ciphertext.
   */
  recordDelivery(
    processingNumber: string,
    delivery: 'delivered' | 'failed',
    attempts: number,
    at: string,
  ): Promise<void>;
  findInquiry(processingNumber: string): Promise<UnfinishedInquiry | undefined>;
  /** The sealed items kept for an inquiry's requester, expired or not; undefined when none. */
  findKeptAnswer(processingNumber: string): Promise<KeptAnswer | undefined>;
  /**
   * Drop every kept answer whose `expiresAt` is at or before `now`, and end each one's pending delivery
   * as `failed` (event `delivery`), in one transaction; the processing numbers dropped (at most a few
   * hundred per call: call again until it returns none).
   */
  expireKeptAnswers(now: string): Promise<string[]>;
  /**
   * Inquiries whose delivery is still pending (in flight when the core stopped). When the core runs
   * as several processes, only those no live process carries (no owner, or an owner whose lease has
   * run out), each claimed for this process so that no two processes resume the same one.
   */
  listUndelivered(): Promise<UnfinishedInquiry[]>;
  /** Newest first. */
  listProvisionRecords(filter: ProvisionRecordFilter): Promise<ProvisionRecord[]>;
  /**
   * One person's records (by person key) not under non-disclosure, newest first (requested time, then
   * processing number, both descending), `limit` of them after `before` (the last row of the previous
   * page). Records under non-disclosure are filtered by the query itself, so a page is never short
   * because of them.
   */
  listPersonRecords(
    personKey: string,
    before: { requestedAt: string; processingNumber: string } | undefined,
    limit: number,
    options?: { withNonDisclosure?: boolean },
  ): Promise<ProvisionRecord[]>;
  /**
   * Lift a record's non-disclosure (event `disclosed`), only for its requester, in one transaction:
   * `lifted`; `not_set` when the requester's record is not (or no longer) under non-disclosure (nothing
   * written); `unknown` when there is no such record, or it is another requester's.
   */
  liftNonDisclosure(
    processingNumber: string,
    requesterId: string,
    at: string,
  ): Promise<'lifted' | 'not_set' | 'unknown'>;
  /**
   * Delete records (and their inquiry state) requested before `cutoff`, leaving each of their events as
   * a tombstone (its leaf hash only, computed from its body), in one transaction; returns how many.
   */
  purgeRecordsBefore(cutoff: string): Promise<number>;
  /**
   * Records requested in `[from, to)` (instants) counted by outcome, and by `by` when given: one
   * GROUP BY query, never the records themselves. The week's bucket is the dialect's own date
   * arithmetic, hidden here.
   */
  countRecords(range: { from?: string; to?: string }, by?: StatisticsGrouping): Promise<StatisticsCount[]>;
  /**
   * Records requested in `[from, to)` counted per institution and side, clause, outcome and
   * non-disclosure: two GROUP BY queries (one per side), never the records themselves.
   */
  countRecordsByInstitution(range: { from?: string; to?: string }): Promise<InstitutionCount[]>;
  /** Refused and failed records requested in `[from, to)`, counted by requester, provider and reason. */
  countRecordsByReason(range: { from?: string; to?: string }): Promise<ReasonCount[]>;
  /**
   * Records requested in `[from, to)` (of `outcome`, when given) counted per requester and JST
   * bucket (day or hour): one GROUP BY, the bucket the dialect's own date arithmetic.
   */
  countRequestsByBucket(
    range: { from: string; to: string },
    bucket: TimeBucket,
    outcome?: RecordOutcome,
  ): Promise<BucketCount[]>;
  /**
   * Records requested in `[from, to)` outside `hours` (JST) counted per requester and JST day: one
   * GROUP BY, the hour and weekday the dialect's own.
   */
  countOutsideHours(range: { from: string; to: string }, hours: OfficeHours): Promise<BucketCount[]>;

  // ── The oversight console's use log (migration 0017) ──
  recordOversightUse(use: OversightUse): Promise<void>;
  /** The newest uses, newest first. */
  listOversightUses(limit: number): Promise<OversightUse[]>;

  // ── The oversight console's per-resident views, kept for their further pages (migration 0019) ──
  /**
   * Keep a view; every view whose `expiresAt` is at or before `now` is deleted first (on write, so that
   * a read of a page changes nothing and expired person keys do not wait for a page nobody asks for).
   */
  keepOversightPersonView(view: OversightPersonView, now: string): Promise<void>;
  /** The view of this use id for this account, while `now` is before its `expiresAt`; else undefined. */
  findOversightPersonView(
    useId: string,
    accountId: string,
    now: string,
  ): Promise<OversightPersonView | undefined>;

  // ── Institutions' tree heads seen by the cross-check (migration 0018) ──
  /** Keep a head; the same head (institution, size, time, root) seen again is kept once. */
  keepInstitutionTreeHead(head: InstitutionTreeHead): Promise<void>;
  /** The latest head of the largest tree kept for the institution with no finding; undefined when none. */
  findLatestInstitutionTreeHead(institutionId: string): Promise<InstitutionTreeHead | undefined>;
  /** Every head kept for the institution, by size then time. */
  listInstitutionTreeHeads(institutionId: string): Promise<InstitutionTreeHead[]>;
  /**
   * Drop the institution's heads kept without a finding on the UTC day of `seenAt` (an ISO instant),
   * seen after that day's first and before `seenAt`: of its passing heads, the first and the last of
   * each day are kept (a head watch sees one every few minutes), every head with a finding too.
   */
  thinInstitutionTreeHeads(institutionId: string, seenAt: string): Promise<void>;
  /**
   * Keep that an institution answered no head where it had given the head of `earlierSize` (and
   * `earlierTimestamp`): one row per such head, its first and last sighting and how many.
   */
  keepInstitutionHeadAbsence(absence: {
    institutionId: string;
    earlierSize: number;
    earlierTimestamp: number;
    seenAt: string;
  }): Promise<void>;
  /**
   * The newest `limit` heads kept with a finding, any institution, newest seen first; each with the
   * size of the largest head of its institution that had passed when it was seen (null: none had).
   * With them, by their last sighting, the heads institutions no longer answered (`head-missing`).
   */
  listInstitutionTreeHeadFindings(limit: number): Promise<HeadFinding[]>;

  // ── The record log (tamper-evident records) ──
  /** Called after each committed transaction that appended record events, with how many. */
  onRecordEvents(listener: (count: number) => void): void;
  /** The Merkle log's store over the database (outside any transaction): for heads and proofs. */
  merkleStore(): MerkleStore;
  saveTreeHead(head: StoredTreeHead): Promise<void>;
  /** Every stored head, by size then time. */
  listTreeHeads(): Promise<StoredTreeHead[]>;
  /** The `limit` heads of the largest trees, largest first, and how many are stored (one LIMIT query). */
  newestTreeHeads(limit: number): Promise<{ count: number; heads: StoredTreeHead[] }>;
  /** The size the latest stored head covers; 0 when none. */
  latestTreeHeadSize(): Promise<number>;
  /** The head of the largest tree; undefined when none. */
  latestTreeHead(): Promise<StoredTreeHead | undefined>;
  /** Event rows in log order, `limit` after index `after` (-1 for the first page). */
  listRecordEvents(after: number, limit: number): Promise<StoredRecordEvent[]>;
  /** The (unpurged) events of these records, by processing number, then log index. */
  listRecordEventsOf(processingNumbers: readonly string[]): Promise<StoredRecordEvent[]>;
  /** Records with their inquiry state (absent if its row is gone), by processing number, after `after`. */
  listRecordsByProcessingNumber(
    after: string | undefined,
    limit: number,
  ): Promise<{ record: ProvisionRecord; state: InquiryState | undefined }[]>;
  /** One record with its inquiry state (absent if its row is gone). */
  findRecord(
    processingNumber: string,
  ): Promise<{ record: ProvisionRecord; state: InquiryState | undefined } | undefined>;
  /** Processing numbers that events name but no record row has, in order, after `after`. */
  listEventsWithoutRecord(after: string | undefined, limit: number): Promise<string[]>;

  // ── Batches of inquiries (bulk inquiries) ──
  // As the single writes above, in bulk: each call one work of the group commit (committed with the
  // single writes and other batches issued beside it), every member's event appended to the record
  // log in the group's one append. They had a transaction of their own each, three commits and three
  // appends per coalesced batch besides the group's.
  findInquiryBatch(batchId: string): Promise<StoredInquiryBatch | undefined>;
  /**
   * The batch row and every member's record and `inquiries` row (`pending` delivery for accepted
   * members, `none` for refused ones), with their `accepted`/`refused` events, in one transaction.
   * `exists` (nothing written) when a batch with this id exists already. With `requestIds` (in the
   * order of `records`), each member's idempotency key too, as `recordInquiry` keeps a single
   * inquiry's; `request-known` (nothing written) when this requester used one of them before, for
   * an inquiry of its own that a batch must not make again.
   */
  recordInquiryBatch(
    batch: Omit<StoredInquiryBatch, 'answer' | 'expiresAt' | 'deliveryAttempts'>,
    records: readonly ProvisionRecord[],
    requestIds?: readonly string[],
  ): Promise<'recorded' | 'exists' | 'request-known'>;
  /**
   * Set the outcomes of the members still pending (event `answered` each), keep the batch's answer
   * (`answer`, until `expiresAt`), and with `notifyProvider` a `ProviderNotice` for each failed
   * member, in one transaction; the batch becomes `answered`. The members actually answered now.
   */
  recordBatchOutcomes(
    batchId: string,
    outcomes: readonly BatchOutcome[],
    answeredAt: string,
    answer: { json: string; expiresAt: string },
    notifyProvider: boolean,
  ): Promise<string[]>;
  /**
   * End the delivery of every member still pending (event `delivery` each), drop the kept answer,
   * and mark the batch `delivered` or `failed`, in one transaction.
   */
  recordBatchDelivery(
    batchId: string,
    delivery: 'delivered' | 'failed',
    attempts: number,
    at: string,
  ): Promise<void>;
  /**
   * Batches not yet delivered (`forwarded` or `answered`) that no live process carries, claimed for
   * this one (as `listUndelivered`).
   */
  listUnfinishedBatches(): Promise<StoredInquiryBatch[]>;
  /** The processing numbers of a batch's members whose record is still pending. */
  listPendingBatchMembers(batchId: string): Promise<string[]>;

  /**
   * Store a version of the legal table; false (nothing written) if that digest is already stored for
   * that day.
   */
  insertLegalVersion(version: StoredLegalVersion): Promise<boolean>;
  /** Every stored version, with its files, by day and then by load time (the later wins a day). */
  listLegalVersions(): Promise<StoredLegalVersion[]>;
  /** The work waiting in the core now (a few COUNTs over indexed states). */
  countQueues(): Promise<QueueDepths>;
  /**
   * How long providers took to answer, in ms (answered minus requested), of the newest `limit`
   * inquiries requested since `since` and answered (provided, not held or failed; never refusals).
   */
  listAnswerTimes(since: string, limit: number): Promise<number[]>;

  close(): Promise<void>;
}
