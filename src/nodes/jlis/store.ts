import type { ErrorCode } from '../../shared/errors.ts';

/**
 * J-LIS's storage port. The services see only `JlisStore`; `kysely-store.ts` implements it in
 * dialect-agnostic Kysely, so PostgreSQL plugs in behind the same interface. This file imports no
 * service code and no storage library.
 */

export type Sex = 'male' | 'female' | 'other';

/** Basic four information (基本４情報), with the reading of the name when known. */
export interface BasicFourInfo {
  name: string;
  nameKana?: string | undefined;
  address: string;
  /** `YYYY-MM-DD` */
  dateOfBirth: string;
  sex: Sex;
}

/** Where a resident stands: living in a municipality, moved out (転出), or deceased. */
export type ResidentStatus = 'resident' | 'moved_out' | 'deceased';

/** An identity record (本人確認情報) as it stands now. */
export interface IdentityRecord extends BasicFourInfo {
  residentRecordCode: string;
  individualNumber: string;
  /** Which derivation counter produced the Individual Number (0 unless the first was taken). */
  numberingCounter: number;
  status: ResidentStatus;
}

/** One dated entry of a resident's history: the record as it stood after the change. */
export interface HistoryRow extends BasicFourInfo {
  /** `created`, `birth`, `first_registration`, `move_in`, `move_out`, `name_change`, `death`, `correction`, `number_change`. */
  change: string;
  /** The day it took effect (異動日), `YYYY-MM-DD`. */
  effectiveDate: string;
  /** When J-LIS recorded it. */
  changedAt: Date;
  status: ResidentStatus;
  /** What this entry sets; the others are as they stood when it was recorded. */
  changedFields: readonly HistoryField[];
}

export const HISTORY_FIELDS = ['name', 'nameKana', 'address', 'dateOfBirth', 'sex', 'status'] as const;
export type HistoryField = (typeof HISTORY_FIELDS)[number];

/** One relayed (or refused) code acquisition, as J-LIS records it: who asked, never about whom. */
export interface RelayLogEntry {
  relayedAt: Date;
  institutionId: string;
  acquisitionNumber: string;
  outcome: RelayOutcome;
  /** The error code of a refusal or a failure. */
  errorCode?: ErrorCode | undefined;
}

/**
 * - `relayed`: the core accepted the issuance request.
 * - `refused`: J-LIS refused it (invalid or unknown Individual Number).
 * - `failed`: the core refused it or could not be reached.
 */
export type RelayOutcome = 'relayed' | 'refused' | 'failed';

/**
 * A notice of change to the institutions that hold a resident, as J-LIS keeps it until the core has
 * it (migration 0006). `content` is the `ResidentNoticeContent` as JSON: J-LIS's own data, which only
 * the holders can read once sealed.
 */
export interface ResidentNoticeToSend {
  noticeId: string;
  residentRecordCode: string;
  kind: 'number_change' | 'identity_change';
  content: string;
  createdAt: Date;
}

/** How a notice is written with its change: to be sent, or already failed (no trust layer to seal it). */
export type NoticeWrite =
  | { notice: ResidentNoticeToSend; state: 'pending' }
  | {
      notice: ResidentNoticeToSend;
      state: 'failed';
      errorCode: ErrorCode;
    };

/** What `insertResident` did: numbering retries on `code_taken` and `number_taken`. */
export type InsertResult = 'inserted' | 'code_taken' | 'number_taken';

export interface JlisStore {
  /**
   * Add a resident and the first row of their history (`first`: its change and effective date) in
   * one transaction, unless the resident record code or the Individual Number is already assigned or
   * was ever replaced (the unique constraints stay the backstop).
   */
  insertResident(
    record: IdentityRecord,
    at: Date,
    first?: { change: string; effectiveDate: string },
  ): Promise<InsertResult>;
  /** Append a history entry and set the record to `current` (the history folded to today), in one transaction. */
  appendChange(
    residentRecordCode: string,
    entry: HistoryRow,
    current: BasicFourInfo & { status: ResidentStatus },
    notice?: NoticeWrite,
  ): Promise<void>;
  /**
   * Give the resident `individualNumber` (derived with `counter`) in place of their current one, which
   * is kept as replaced, with a history entry and the notice of it (if given), in one transaction;
   * `number_taken` when the new number is anyone's, now or before.
   */
  replaceNumber(
    residentRecordCode: string,
    individualNumber: string,
    counter: number,
    reason: string,
    at: Date,
    notice?: NoticeWrite,
  ): Promise<'replaced' | 'number_taken'>;
  /** Notices not yet accepted by the core, oldest first. */
  listPendingNotices(): Promise<ResidentNoticeToSend[]>;
  /** The core accepted the notice (for `holders` institutions), or it failed for good: clear its content. */
  endNotice(
    noticeId: string,
    end: { state: 'sent'; holders: number } | { state: 'failed'; errorCode: ErrorCode },
    at: Date,
  ): Promise<void>;
  /**
   * Bulk numbering: add every resident of `records` with its first history row, in one transaction,
   * unless any resident record code is registered already or any number is anyone's (now or before):
   * then nothing is written and those are returned, for the caller to resolve and try again.
   */
  insertResidentsBulk(
    records: readonly IdentityRecord[],
    at: Date,
    first: { change: string; effectiveDate: string },
  ): Promise<{ codesTaken: string[]; numbersTaken: string[] }>;
  /** Whether `individualNumber` was replaced by a number change (and so is refused for new use). */
  isReplacedNumber(individualNumber: string): Promise<boolean>;
  /** The resident record code for an Individual Number, or undefined when no resident has it. */
  findResidentRecordCode(individualNumber: string): Promise<string | undefined>;
  findResident(residentRecordCode: string): Promise<IdentityRecord | undefined>;
  /** The history of one resident's record, in the order it was recorded. */
  listHistory(residentRecordCode: string): Promise<HistoryRow[]>;
  countResidents(): Promise<number>;
  recordRelay(entry: RelayLogEntry): Promise<void>;
  /** The latest relays, newest first. */
  listRelays(limit: number): Promise<RelayLogEntry[]>;
}
