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

/** An identity record (本人確認情報) as it stands now. */
export interface IdentityRecord extends BasicFourInfo {
  residentRecordCode: string;
  individualNumber: string;
  /** Which derivation counter produced the Individual Number (0 unless the first was taken). */
  numberingCounter: number;
}

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

/** What `insertResident` did: numbering retries on `code_taken` and `number_taken`. */
export type InsertResult = 'inserted' | 'code_taken' | 'number_taken';

export interface JlisStore {
  /**
   * Add a resident and the first row of their history in one transaction, unless the resident record
   * code or the Individual Number is already assigned (the unique constraints stay the backstop).
   */
  insertResident(record: IdentityRecord, at: Date): Promise<InsertResult>;
  /** The resident record code for an Individual Number, or undefined when no resident has it. */
  findResidentRecordCode(individualNumber: string): Promise<string | undefined>;
  findResident(residentRecordCode: string): Promise<IdentityRecord | undefined>;
  /** The history of one resident's basic four info, oldest first. */
  listHistory(residentRecordCode: string): Promise<(BasicFourInfo & { changedAt: Date; change: string })[]>;
  countResidents(): Promise<number>;
  recordRelay(entry: RelayLogEntry): Promise<void>;
  /** The latest relays, newest first. */
  listRelays(limit: number): Promise<RelayLogEntry[]>;
}
