/**
 * Notices of change to the institutions that hold a person (住基ネット's role towards the network):
 * after J-LIS commits a number change (番号の変更) or a change of an identity record, each institution
 * holding a code for the person is told, so that its addressee system updates.
 *
 *   J-LIS ──CodeHolderLookup──▶ core                       (which institutions hold the person)
 *   J-LIS ──ResidentNoticeSubmission──▶ core               (one JWE per holder, sealed by J-LIS)
 *   core ──ResidentNoticeDelivery──▶ each holder           (its own code; the JWE as J-LIS sealed it)
 *
 * The core sees the resident record code (as in code issuance), the kind and ciphertext: never an
 * Individual Number nor the changed fields. What is sealed is `ResidentNoticeContent`
 * (resident-notice-sealing.ts): signed by J-LIS, encrypted to the holder's encryption certificate.
 */
import { z } from 'zod';
import { AddresseeNumber, InstitutionId, PersonCode } from './identifiers.ts';
import { SealedItems } from './messages.ts';

const ResidentRecordCodeDigits = z.string().regex(/^[0-9]{11}$/, 'must be 11 digits');
const IndividualNumberDigits = z.string().regex(/^[0-9]{12}$/, 'must be 12 digits');
const IsoDate = z.iso.date('must be a date YYYY-MM-DD');

/** A notice's id: a UUID made by J-LIS, the same at every party (and bound into each JWE's header). */
export const NoticeId = z.uuid();
export type NoticeId = z.infer<typeof NoticeId>;

/**
 * What the core may know of a notice: a number change, or a change of the identity record. Which
 * change (a move, a name change, a death…) is sealed: the core does not learn it.
 */
export const ResidentNoticeKind = z.enum(['number_change', 'identity_change']);
export type ResidentNoticeKind = z.infer<typeof ResidentNoticeKind>;

/** J-LIS → core: `POST /v1/code-holder-lookups`. */
export const CodeHolderLookup = z.object({ residentRecordCode: ResidentRecordCodeDigits });
export type CodeHolderLookup = z.infer<typeof CodeHolderLookup>;

/** The institutions the core issued a code for the person to, in order of id. */
export const CodeHolders = z.object({ institutionIds: z.array(InstitutionId).max(10_000) });
export type CodeHolders = z.infer<typeof CodeHolders>;

/** J-LIS → core: `POST /v1/resident-notices`, one sealed notice per holder. */
export const ResidentNoticeSubmission = z.object({
  noticeId: NoticeId,
  residentRecordCode: ResidentRecordCodeDigits,
  kind: ResidentNoticeKind,
  /** Institution id → the notice sealed to that institution (compact JWE). */
  sealed: z.record(InstitutionId, SealedItems),
});
export type ResidentNoticeSubmission = z.infer<typeof ResidentNoticeSubmission>;

/** The core stored the notice for these holders (a resend is answered the same and stores nothing). */
export const ResidentNoticeAccepted = z.object({
  noticeId: NoticeId,
  institutionIds: z.array(InstitutionId),
  /** Institutions named in `sealed` that hold no code for the person: nothing goes to them. */
  skipped: z.array(InstitutionId),
});
export type ResidentNoticeAccepted = z.infer<typeof ResidentNoticeAccepted>;

/** core → institution: `POST /network/v1/resident-notices`. */
export const ResidentNoticeDelivery = z.object({
  noticeId: NoticeId,
  kind: ResidentNoticeKind,
  /** The institution's own code for the person, under its current key version. */
  personCode: PersonCode,
  /** Under the previous version too while the institution has not finished re-keying. */
  previousPersonCode: PersonCode.optional(),
  sealed: SealedItems,
});
export type ResidentNoticeDelivery = z.infer<typeof ResidentNoticeDelivery>;

/** The fields of the basic four information (and the resident's status) an identity change set. */
export const ChangedFields = z.object({
  name: z.string().max(100).optional(),
  nameKana: z.string().max(100).optional(),
  address: z.string().max(200).optional(),
  dateOfBirth: IsoDate.optional(),
  sex: z.enum(['male', 'female', 'other']).optional(),
  status: z.enum(['resident', 'moved_out', 'deceased']).optional(),
});
export type ChangedFields = z.infer<typeof ChangedFields>;

export const IdentityChangeKind = z.enum(['move_in', 'move_out', 'name_change', 'death', 'correction']);

/** What J-LIS seals for a holder: the only place either Individual Number travels. */
export const ResidentNoticeContent = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('number_change'),
    noticeId: NoticeId,
    oldIndividualNumber: IndividualNumberDigits,
    newIndividualNumber: IndividualNumberDigits,
    /** The day J-LIS changed it (JST). */
    effectiveDate: IsoDate,
  }),
  z.object({
    kind: z.literal('identity_change'),
    noticeId: NoticeId,
    change: IdentityChangeKind,
    effectiveDate: IsoDate,
    fields: ChangedFields,
  }),
]);
export type ResidentNoticeContent = z.infer<typeof ResidentNoticeContent>;

// ── The institution's business side ──────────────────────────────────────────────────────────

export const ResidentNoticeQuery = z.object({
  /** The `sequence` of the last notice read: those after it (0, the default, for all). */
  since: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type ResidentNoticeQuery = z.infer<typeof ResidentNoticeQuery>;

/**
 * A notice as the institution recorded it. `applied`: the addressee system updated (a number change)
 * or the change is recorded for the business systems (an identity change); `not_held`: the
 * institution no longer holds the person's code (acknowledged, nothing changed); `refused`, with the
 * error code as `reason`: it could not be opened, or a number change did not match the addressee
 * system (a clerk must look). Never an Individual Number: the business systems work by addressee number.
 */
export const ReceivedResidentNotice = z.object({
  sequence: z.number().int(),
  noticeId: NoticeId,
  kind: ResidentNoticeKind,
  outcome: z.enum(['applied', 'not_held', 'refused']),
  reason: z.string().optional(),
  addresseeNumber: AddresseeNumber.optional(),
  change: z.string().optional(),
  effectiveDate: IsoDate.optional(),
  fields: ChangedFields.optional(),
  receivedAt: z.string(),
});
export type ReceivedResidentNotice = z.infer<typeof ReceivedResidentNotice>;

export const ResidentNoticeList = z.object({ notices: z.array(ReceivedResidentNotice) });
export type ResidentNoticeList = z.infer<typeof ResidentNoticeList>;
