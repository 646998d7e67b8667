/**
 * The core's domain types: what the services work with and the store keeps. Times are ISO-8601 UTC
 * strings (`Date#toISOString`), which sort correctly as text in every SQL dialect.
 */
import type {
  ClauseNo,
  InstitutionId,
  InstitutionKind,
  ItemNo,
  Outcome,
  ProcedureId,
  ProcessingNumber,
} from '../../protocol/identifiers.ts';

/** An institution in the core's registry. */
export interface Institution {
  id: InstitutionId;
  name: string;
  nameEn: string;
  kind: InstitutionKind;
  networkUrl: string;
  /** Version of the master key its codes are currently issued under (1–255); bumped by rotation. */
  keyVersion: number;
  /**
   * The key version the institution last confirmed all the codes it holds are under (after
   * reissuing them). Equal to `keyVersion` except between a rotation and the end of its re-keying.
   */
  rekeyedVersion: number;
  /**
   * Suspended by the operator (migration 0016): every inquiry it sends or is sent is refused
   * (`ERR_INSTITUTION_SUSPENDED`) until it is reinstated. Who, when and why: `SuspensionEvent`s.
   */
  suspended: boolean;
  createdAt: string;
  updatedAt: string;
}

/** One suspension or reinstatement of an institution, kept for good (`institution_suspensions`). */
export interface SuspensionEvent {
  institutionId: InstitutionId;
  action: 'suspended' | 'reinstated';
  reason: string;
  /** The operator: a console account (`console:<id>`) or an admin caller's certificate party. */
  by: string;
  at: string;
}

/** A provision record's outcome: `pending` until the provider answers (or the inquiry fails). */
export type RecordOutcome = Outcome | 'pending';

export const RECORD_OUTCOMES: readonly RecordOutcome[] = [
  'pending',
  'provided',
  'not_held',
  'refused',
  'failed',
];

/**
 * A provision record (情報提供等の記録) as the core keeps it, for every inquiry it numbered, refusals
 * and failures included. It never holds a code, the linking code, or the answer's items.
 */
export interface ProvisionRecord {
  processingNumber: ProcessingNumber;
  requesterId: InstitutionId;
  /** As the requester named it, even when no such institution is registered (a refusal). */
  providerId: InstitutionId;
  clauseNo: ClauseNo;
  procedureId: ProcedureId;
  itemNos: ItemNo[];
  /**
   * HMAC-SHA256 of the linking code under the core's records key (base64url): lets a later Myna
   * Portal find a person's records without the records holding any code. Null when the presented
   * code was not valid (the inquiry was refused before the person was known).
   */
  personKey: string | null;
  requestedAt: string;
  /** When the outcome became final (refusal, answer or failure); null while pending. */
  answeredAt: string | null;
  outcome: RecordOutcome;
  /** For `refused` and `failed`: the legal table's rule or the error code. */
  reason: string | null;
  nonDisclosure: boolean;
  /** Digest of the legal table that decided the inquiry. */
  legalTableDigest: string;
}

/**
 * Delivery of the answer to the requester: `none` for refusals (the requester got the refusal as the
 * HTTP answer), `pending` from acceptance until delivered (pushed or fetched) or given up; a provided
 * answer whose sealed items are kept stays `pending` after its pushes fail, until it is fetched or
 * expires (then `failed`).
 */
export type DeliveryState = 'none' | 'pending' | 'delivered' | 'failed';

/** The mutable, operational side of an inquiry (the record is the audit side). */
export interface InquiryState {
  processingNumber: ProcessingNumber;
  delivery: DeliveryState;
  deliveryAttempts: number;
  deliveredAt: string | null;
}

export interface ProvisionRecordFilter {
  /** Inclusive lower bound on `requestedAt`. */
  from?: string;
  /** Exclusive upper bound on `requestedAt`. */
  to?: string;
  requesterId?: string;
  providerId?: string;
  /** Records where this institution is the requester or the provider (the oversight console's search). */
  institutionId?: string;
  clauseNo?: string;
  procedureId?: string;
  outcome?: RecordOutcome;
  /** Only records after this one in the order listed (newest first): the last row of the previous page. */
  before?: { requestedAt: string; processingNumber: string };
  limit: number;
}

/**
 * Records of one institution on one side of exchanges (`requester` or `provider`), counted by clause,
 * outcome and non-disclosure (the oversight console's per-institution figures).
 */
export interface InstitutionCount {
  institutionId: string;
  side: 'requester' | 'provider';
  clauseNo: string;
  outcome: RecordOutcome;
  nonDisclosure: boolean;
  count: number;
}

/**
 * A bucket of time in JST for the oversight console's anomaly rules: `day` (`YYYY-MM-DD`) or `hour`
 * (`YYYY-MM-DDTHH`), both the JST calendar's.
 */
export type TimeBucket = 'day' | 'hour';

/** Inquiries one requester made in one JST bucket (of one outcome, when asked). */
export interface BucketCount {
  requesterId: string;
  /** `YYYY-MM-DD` or `YYYY-MM-DDTHH`, JST. */
  bucket: string;
  count: number;
}

/**
 * Office hours for the anomaly rule "inquiries outside office hours": JST, `[startHour, endHour)`;
 * with `weekends`, Saturdays and Sundays are outside too, as are the `holidays` (JST days).
 */
export interface OfficeHours {
  startHour: number;
  endHour: number;
  weekends: boolean;
  holidays: readonly string[];
}

/**
 * One use of the oversight console (migration 0016): who, when, what (the route's pattern or
 * `person`), what it answered, and for a per-resident view the institution whose code was given,
 * the officer's reason and how many records were shown. Never the code.
 */
export interface OversightUse {
  useId: string;
  at: string;
  accountId: string | null;
  action: string;
  /** The answer's HTTP status, or the error code of a refusal. */
  outcome: string;
  institutionId: string | null;
  reason: string | null;
  records: number | null;
  /** For a further page of a resident's view: the use id of the view (migration 0018). */
  viewOf: string | null;
}

/**
 * A per-resident view of the oversight console kept for its further pages (migration 0019), under the
 * view's use id: the account it is for, the person key (as the provision records hold it; never a
 * code), the institution whose code was given, the officer's reason, and when it stops being served.
 */
export interface OversightPersonView {
  useId: string;
  accountId: string;
  personKey: string;
  institutionId: string;
  reason: string;
  expiresAt: string;
}

/**
 * A signed tree head an institution answered the oversight cross-check with (migration 0018): what it
 * says, the JWS that says it, when the core saw it, and what was found wrong with it (a finding's
 * kind, null when nothing: the next check proves consistency from the latest such head).
 */
export interface InstitutionTreeHead {
  institutionId: string;
  treeSize: number;
  /** Lower-case hex, as the JWS's payload has it. */
  rootHash: string;
  timestamp: number;
  kid: string;
  jws: string;
  seenAt: string;
  finding: string | null;
}

/**
 * A head kept with a finding, and the size of the head it was judged against; or, for `head-missing`,
 * no head (`treeSize` null) where the institution had given the head of `earlierSize`, first seen at
 * `seenAt`, last at `lastSeenAt`, `times` times in all.
 */
export interface HeadFinding {
  institutionId: string;
  treeSize: number | null;
  seenAt: string;
  lastSeenAt?: string;
  times?: number;
  finding: string;
  earlierSize: number | null;
}

/** Refused and failed records counted by requester, provider and reason. */
export interface ReasonCount {
  requesterId: string;
  providerId: string;
  outcome: 'refused' | 'failed';
  reason: string;
  count: number;
}

/**
 * How the store groups records for statistics: `week` (its Monday, a JST calendar day), `procedure`,
 * `item` (a record once under each item it asked for), `clause`, `requester-kind`, `provider-kind`
 * (the registry's kind of the institution; `unknown` if it has left the registry).
 */
export type StatisticsGrouping =
  'week' | 'procedure' | 'item' | 'clause' | 'requester-kind' | 'provider-kind';

/** One group's count of records with one outcome. */
export interface StatisticsCount {
  key: string;
  outcome: RecordOutcome;
  count: number;
}
