/**
 * The core's storage port. The services depend on this interface only; `kysely-store.ts` implements
 * it over Kysely (SQLite by default, PostgreSQL later with no change here). Implementations never
 * hold a resident record code in clear, a code, or an answer's items: the interface has no place for
 * them.
 */
import type {
  Institution,
  InquiryState,
  ProvisionRecord,
  ProvisionRecordFilter,
  RecordOutcome,
  Statistics,
} from './model.ts';

/** An inquiry waiting for an outcome or for delivery, as found after a restart. */
export interface UnfinishedInquiry {
  record: ProvisionRecord;
  state: InquiryState;
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

  // ── Linking codes ──
  /** The linking code (base64url) stored against a resident key (keyed hash of the resident record code). */
  findLinkingCode(residentKey: string): Promise<string | undefined>;
  /** Insert unless a linking code already exists for the resident key (unique constraint); never overwrites. */
  insertLinkingCodeIfAbsent(residentKey: string, linkingCode: string, createdAt: string): Promise<void>;

  // ── Inquiries and provision records ──
  /** The record and the inquiry's state, written in one transaction. */
  recordInquiry(record: ProvisionRecord, state: InquiryState): Promise<void>;
  /** Set a pending record's final outcome. False if the record was no longer pending. */
  recordOutcome(
    processingNumber: string,
    outcome: Exclude<RecordOutcome, 'pending' | 'refused'>,
    reason: string | null,
    answeredAt: string,
  ): Promise<boolean>;
  recordDelivery(
    processingNumber: string,
    delivery: 'delivered' | 'failed',
    attempts: number,
    at: string,
  ): Promise<void>;
  findInquiry(processingNumber: string): Promise<UnfinishedInquiry | undefined>;
  /** Inquiries whose delivery is still pending (in flight when the core stopped). */
  listUndelivered(): Promise<UnfinishedInquiry[]>;
  /** Newest first. */
  listProvisionRecords(filter: ProvisionRecordFilter): Promise<ProvisionRecord[]>;
  /** Delete records (and their inquiry state) requested before `cutoff`; returns how many records. */
  purgeRecordsBefore(cutoff: string): Promise<number>;
  statistics(range: { from?: string; to?: string }): Promise<Statistics>;

  close(): Promise<void>;
}
