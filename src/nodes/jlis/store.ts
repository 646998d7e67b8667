import type { ErrorCode } from '../../shared/errors.ts';
import type { JpkiRevocationReason } from './jpki/port.ts';
import type { JpkiKind } from './jpki/profiles.ts';

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

/**
 * What an identity change ends, in its own transaction (`appendChange`): the resident's JPKI
 * certificates still valid of these kinds (the signing one carries the four information), and on a
 * death the resident's live card (廃止, reason `death`, recorded as `cardEvent` with its states filled in).
 */
export interface ChangeConsequences {
  revokeCertificates?: { kinds: readonly JpkiKind[]; reason: JpkiRevocationReason };
  revokeCard?: { cardEvent: CardEvent };
}

/** What `appendChange` ended: the certificate kinds revoked (their CRLs to sign again), the card revoked. */
export interface ChangeOutcome {
  revokedKinds: JpkiKind[];
  revokedCardId?: string | undefined;
}

/** What `insertResident` did: numbering retries on `code_taken` and `number_taken`. */
export type InsertResult = 'inserted' | 'code_taken' | 'number_taken';

export interface JlisStore extends CardStore {
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
  /**
   * Append a history entry and set the record to `current` (the history folded to today), with its
   * notice and what the change ends (`consequences`), in one transaction: a change is never committed
   * without them, nor they without it.
   */
  appendChange(
    residentRecordCode: string,
    entry: HistoryRow,
    current: BasicFourInfo & { status: ResidentStatus },
    notice?: NoticeWrite,
    consequences?: ChangeConsequences,
  ): Promise<ChangeOutcome>;
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

/**
 * Bulk numbering's storage (一括付番, `service/bulk-numbering.ts`), apart from `JlisStore` because it
 * works differently: the service checks uniqueness in memory against everything `start` told it, and
 * the unique index of numbers is dropped while the rows load and built once at the end (building it
 * sorted costs a fraction of inserting ten million random keys into it). Only for J-LIS's operators,
 * with the node stopped: nothing else may number anyone meanwhile.
 */
export interface BulkNumberingStore {
  /**
   * Tell `onCode` every registered resident record code and `onNumber` every Individual Number anyone
   * holds or held (replaced numbers too). Reads only: a run whose file is then refused wrote nothing.
   */
  load(
    onCode: (residentRecordCode: string) => void,
    onNumber: (individualNumber: string) => void,
  ): Promise<void>;
  /** Make ready to write: drop the unique index of numbers until `finish`. */
  start(): Promise<void>;
  /**
   * Add residents numbered in bulk (status `resident`), in one transaction (all or none). Each one's
   * first history entry (`first`, recorded `at`) is kept on their row, not repeated in the history
   * (migration 0007). Resolves when the batch is committed.
   */
  insertBatch(rows: BulkRows, at: Date, first: { change: string; effectiveDate: string }): Promise<void>;
  /** Build the unique index of numbers again: the backstop, which fails if two residents share one. */
  finish(): Promise<void>;
  /**
   * SQLite's one-pass run (`numbering-writer.ts`): a writer on a thread of its own, fed the file's
   * lines batch by batch while the file is still being checked, all in one transaction (the drop of
   * the index of numbers first) until `checked`; `finish` after its `end`. Undefined on PostgreSQL,
   * which checks the whole file first and then writes with `start`, `insertBatch` and `finish`.
   */
  pipeline?(at: Date, first: { change: string; effectiveDate: string }): Promise<BulkWriter>;
}

/** One batch of the file's lines, as `BulkWriter.write` takes it. */
export interface BulkLines {
  /** The lines' bytes (the buffer is handed over). */
  bytes: Uint8Array;
  /**
   * Seven offsets into `bytes` a line: its start, its five commas, its end. Zeros for a line given
   * by its `cells` instead.
   */
  bounds: Int32Array;
  /** The cells of a line that was read by decoding it (a quoted cell), by its place in the batch. */
  cells: Record<number, string[]>;
}

/** A batch's plan: each line's resident record code, its number (negative: skip it) and counter. */
export interface BulkPlan {
  codes: Float64Array;
  numbers: Float64Array;
  counters: Uint8Array;
}

export interface BulkWriter {
  /** Write a batch (inside the run's transaction until `checked`); resolves with the rows written. */
  write(lines: BulkLines, plan: BulkPlan): Promise<number>;
  /** The whole file has passed its check: commit what is written, and each batch from now on. */
  checked(): Promise<void>;
  /** Commit (or roll back) what is left, close the connection, end the thread. */
  end(commit: boolean): Promise<void>;
}

/**
 * One batch of residents numbered in bulk, column by column (what PostgreSQL's `unnest` takes, and
 * what SQLite's prepared statement binds from): the i-th resident is the i-th of each.
 */
export interface BulkRows {
  residentRecordCodes: string[];
  individualNumbers: string[];
  numberingCounters: number[];
  names: string[];
  nameKanas: (string | null)[];
  addresses: string[];
  datesOfBirth: string[];
  sexes: string[];
}

/**
 * The Individual Number Card's lifecycle (個人番号カード), `service/cards.ts`:
 *
 * - `applied` (申請受付): the application is accepted; no card yet;
 * - `issued` (発行: 交付の準備): the card made at the municipality, its keys and certificates in it;
 * - `delivered` (交付済): the holder received it; the only state in which it is used;
 * - `suspended` (一時停止): reported lost; its certificates are on hold (一時保留), released at the lift;
 * - `revoked` (廃止): for good (death, return, damage, loss, a reissue or renewal replacing it).
 */
export type CardState = 'applied' | 'issued' | 'delivered' | 'suspended' | 'revoked';

/** Whether the card's certificates are in force: none issued yet, valid, on hold (suspended), or revoked. */
export type CardCertificates = 'none' | 'valid' | 'held' | 'revoked';

/** A card as J-LIS keeps it: never a key, a PIN, or the card's contents. */
export interface CardRow {
  cardId: string;
  residentRecordCode: string;
  state: CardState;
  /** Why it stands where it does: the suspension's or revocation's reason. */
  stateReason?: string | undefined;
  appliedOn: string;
  issuedOn?: string | undefined;
  expiresOn?: string | undefined;
  /**
   * The user-authentication certificate's last valid day (the pair's, when issued together). A
   * signing certificate issued alone later keeps its own in JPKI's record (`notAfter`).
   */
  certificatesExpireOn?: string | undefined;
  certificates: CardCertificates;
  signingSerial?: string | undefined;
  authenticationSerial?: string | undefined;
  /** The card this one replaced (a reissue or renewal). */
  replacesCardId?: string | undefined;
  updatedAt: Date;
}

/**
 * One card operation as J-LIS records it, whatever its outcome: when, which operation, by whom
 * (the caller's party and the clerk it names), which card, the states before and after, the reason,
 * and the error code of a refusal or failure. Never a PIN, a key or the holder's data.
 */
export interface CardEvent {
  at: Date;
  operation: CardOperation;
  cardId?: string | undefined;
  actor: string;
  clerkId?: string | undefined;
  outcome: 'done' | 'refused' | 'failed';
  fromState?: CardState | undefined;
  toState?: CardState | undefined;
  reason?: string | undefined;
  errorCode?: ErrorCode | undefined;
}

export type CardOperation =
  | 'apply'
  | 'issue'
  | 'deliver'
  | 'suspend'
  | 'lift'
  | 'revoke'
  | 'reissue'
  | 'renew'
  | 'unlock_pin'
  | 'endorse'
  | 'issue_signing'
  | 'show';

export interface CardStore {
  /** Add a card with the event that made it, in one transaction. */
  insertCard(card: CardRow, event: CardEvent): Promise<void>;
  findCard(cardId: string): Promise<CardRow | undefined>;
  /** The resident's card that is not revoked, if any (a resident holds one card at a time). */
  findLiveCard(residentRecordCode: string): Promise<CardRow | undefined>;
  /** The card that replaced `cardId`, if any. */
  findReplacement(cardId: string): Promise<CardRow | undefined>;
  /**
   * Change a card that is still in state `from` and record `event`, in one transaction; false (and
   * nothing written) when it no longer is: another clerk's operation came first.
   */
  updateCard(cardId: string, from: CardState, changes: Partial<CardRow>, event: CardEvent): Promise<boolean>;
  /**
   * A reissue or renewal: `old` revoked (from state `from`) and `replacement` added, with both
   * events, in one transaction; false when the old card is no longer in `from`.
   */
  replaceCard(
    old: { cardId: string; from: CardState; changes: Partial<CardRow>; event: CardEvent },
    replacement: CardRow,
    event: CardEvent,
  ): Promise<boolean>;
  /**
   * Claim the card for one operation, before it revokes or issues anything: only while it is still in
   * state `from` and nobody's claim holds (none, or one lapsed before `now`); false otherwise.
   */
  claimCard(
    cardId: string,
    from: CardState,
    claim: { token: string; until: Date },
    now: Date,
  ): Promise<boolean>;
  /** End the claim `token` holds on the card (none if it lapsed and another took it). */
  releaseCard(cardId: string, token: string): Promise<void>;
  /** Record an operation that changed nothing (a refusal, a failure, a lookup). */
  recordCardEvent(event: CardEvent): Promise<void>;
  /** The events of one card (oldest first), or the latest of all cards (newest first) when none is named. */
  listCardEvents(cardId: string | undefined, limit: number): Promise<CardEvent[]>;
}
