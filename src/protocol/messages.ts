/**
 * The wire contract between nodes: every message that crosses the network, as a zod schema and a type
 * of the same name. Each node validates what it receives against these (untrusted input fails closed)
 * and builds what it sends from them, so the contract lives in one file.
 *
 * Who talks to whom:
 *
 *   addressee system ──CodeAcquisitionRequest──▶ J-LIS ──CodeIssuanceRequest──▶ core
 *   core ──CodeDelivery──▶ intermediate server            (J-LIS never sees the code; the core never
 *                                                          sees the Individual Number)
 *   intermediate (requester) ──InquiryRequest──▶ core ──ProvisionRequest──▶ intermediate (provider)
 *   core ──AnswerDelivery──▶ intermediate (requester)
 *   intermediate (requester) ──AnswerFetch──▶ core, answered with the AnswerDelivery it missed
 *   intermediate (requester) ──AnswerAcknowledgement──▶ core, once that answer is recorded
 *
 * On the trust layer every message is signed, and the provider seals the items to the requester
 * (`sealedItems`, item-sealing.ts): the core relays and keeps only that ciphertext, never `items`.
 */
import { z } from 'zod';
import { MessageHash } from '../trust/envelope/format.ts';
import {
  AcquisitionNumber,
  ClauseNo,
  InstitutionId,
  ItemNo,
  KeyVersion,
  Outcome,
  OutcomeReason,
  PersonCode,
  ProcedureId,
  ProcessingNumber,
} from './identifiers.ts';

/** A certificate in PEM, as a party sends its own encryption certificate. */
export const EncryptionCertificate = z
  .string()
  .max(4096)
  .regex(
    /^-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----\s*$/,
    'must be one PEM certificate',
  );

/** A compact JWE: five base64url segments. */
export const SealedItems = z
  .string()
  .max(8 * 1024 * 1024)
  .regex(
    /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/,
    'must be a compact JWE',
  );

// ── Code acquisition (符号取得) ──────────────────────────────────────────────────────────────

/** addressee system → J-LIS: `POST /v1/code-acquisitions` */
export const CodeAcquisitionRequest = z.object({
  institutionId: InstitutionId,
  acquisitionNumber: AcquisitionNumber,
  individualNumber: z.string().regex(/^[0-9]{12}$/, 'must be 12 digits'),
});
export type CodeAcquisitionRequest = z.infer<typeof CodeAcquisitionRequest>;

/** J-LIS's answer to a code acquisition (HTTP 202): the core accepted the issuance. */
export const CodeAcquisitionRelayed = z.object({
  acquisitionNumber: AcquisitionNumber,
  status: z.literal('relayed'),
});
export type CodeAcquisitionRelayed = z.infer<typeof CodeAcquisitionRelayed>;

/** J-LIS → core: `POST /v1/code-issuances` */
export const CodeIssuanceRequest = z.object({
  institutionId: InstitutionId,
  acquisitionNumber: AcquisitionNumber,
  residentRecordCode: z.string().regex(/^[0-9]{11}$/, 'must be 11 digits'),
});
export type CodeIssuanceRequest = z.infer<typeof CodeIssuanceRequest>;

/** The core's answer to a code issuance: the institution accepted the code. Never the code itself. */
export const CodeIssued = z.object({
  acquisitionNumber: AcquisitionNumber,
  status: z.literal('delivered'),
});
export type CodeIssued = z.infer<typeof CodeIssued>;

/** core → intermediate server: `POST /network/v1/code-deliveries` */
export const CodeDelivery = z.object({
  acquisitionNumber: AcquisitionNumber,
  personCode: PersonCode,
});
export type CodeDelivery = z.infer<typeof CodeDelivery>;

// ── Re-keying after a key rotation (符号の再発行) ────────────────────────────────────────────────

export const MAX_REISSUE_BATCH = 1000;

/** intermediate server → core: `POST /v1/code-reissues`, one page of the institution's codes. */
export const CodeReissueRequest = z.object({
  institutionId: InstitutionId,
  personCodes: z.array(PersonCode).max(MAX_REISSUE_BATCH),
});
export type CodeReissueRequest = z.infer<typeof CodeReissueRequest>;

/** core's answer: the same persons' codes under `keyVersion`, in order; null for a code not the institution's. */
export const CodeReissueAnswer = z.object({
  institutionId: InstitutionId,
  keyVersion: KeyVersion,
  personCodes: z.array(PersonCode.nullable()),
});
export type CodeReissueAnswer = z.infer<typeof CodeReissueAnswer>;

/**
 * intermediate server → core: `POST /v1/code-reissues/completions`: every code the institution
 * holds is now under `keyVersion`, so the core may rotate its key again.
 */
export const CodeReissueCompletion = z.object({
  institutionId: InstitutionId,
  keyVersion: KeyVersion,
});
export type CodeReissueCompletion = z.infer<typeof CodeReissueCompletion>;

// ── Inquiry and provision (情報照会・情報提供) ──────────────────────────────────────────────────

/** requester's intermediate server → core: `POST /v1/inquiries` */
export const InquiryRequest = z.object({
  requesterId: InstitutionId,
  providerId: InstitutionId,
  personCode: PersonCode,
  clauseNo: ClauseNo,
  procedureId: ProcedureId,
  itemNos: z.array(ItemNo).min(1).max(20),
  nonDisclosure: z.boolean().default(false),
  /** The requester's encryption certificate (PEM): the provider seals the items to it (item-sealing.ts). */
  encryptionCertificate: EncryptionCertificate.optional(),
  /**
   * The requester's idempotency key for this inquiry (a UUID it chose and recorded before sending).
   * The core keeps it unique per requester: the same key sent again (a requester that died before
   * recording the 202, or never saw it) gets the same processing number, or the same refusal, and
   * never a second inquiry. Optional on the wire for requesters that do not resend.
   */
  requestId: z.uuid().optional(),
});
export type InquiryRequest = z.infer<typeof InquiryRequest>;

/** core's answer to an accepted inquiry (HTTP 202). A refusal is an `ErrorBody` with `details.processingNumber`. */
export const InquiryAccepted = z.object({
  processingNumber: ProcessingNumber,
  requestedAt: z.iso.datetime(),
});
export type InquiryAccepted = z.infer<typeof InquiryAccepted>;

/** The core's answer to `GET /v1/inquiries/:processingNumber`: where an inquiry is, never its items. */
export const NetworkInquiryStatus = z.object({
  processingNumber: ProcessingNumber,
  requesterId: InstitutionId,
  providerId: InstitutionId,
  clauseNo: ClauseNo,
  procedureId: ProcedureId,
  itemNos: z.array(ItemNo),
  outcome: z.enum(['pending', ...Outcome.options]),
  reason: OutcomeReason.nullable(),
  requestedAt: z.iso.datetime(),
  answeredAt: z.iso.datetime().nullable(),
  delivery: z.enum(['none', 'pending', 'delivered', 'failed']),
});
export type NetworkInquiryStatus = z.infer<typeof NetworkInquiryStatus>;

/** core → provider's intermediate server: `POST /network/v1/provision-requests` */
export const ProvisionRequest = z.object({
  processingNumber: ProcessingNumber,
  requesterId: InstitutionId,
  personCode: PersonCode,
  /**
   * The same person's code under the provider's previous key version, sent only while the provider
   * has not yet re-keyed its codes after a rotation: it may still hold this one.
   */
  previousPersonCode: PersonCode.optional(),
  clauseNo: ClauseNo,
  procedureId: ProcedureId,
  itemNos: z.array(ItemNo).min(1).max(20),
  requestedAt: z.iso.datetime(),
  nonDisclosure: z.boolean(),
  /** The requester's encryption certificate, as it sent it: the provider seals the items to it. */
  requesterEncryptionCertificate: EncryptionCertificate.optional(),
  /**
   * The hash of the requester's signed inquiry as the core received it (on the trust layer). The
   * provider signs it into the sealed items, so that the requester knows the answer answers the very
   * message it sent, not one the core made up under the same processing number.
   */
  inquiryHash: MessageHash.optional(),
  /**
   * When the core stops waiting for the answer. A provider that would answer later records the
   * provision `failed` (`provider_unavailable`) and answers ERR_PROVIDER_UNAVAILABLE instead of
   * providing: the core records the inquiry failed then, and so must the provider.
   */
  answerBy: z.iso.datetime().optional(),
});
export type ProvisionRequest = z.infer<typeof ProvisionRequest>;

/**
 * core → provider's intermediate server: `POST /network/v1/provision-failures`. The core recorded
 * this inquiry `failed` after forwarding it (the provider was silent past `answerBy`, unreachable, or
 * answered what the core could not take): the provider records the same, whatever it answered. Sent
 * until the provider acknowledges it, across core restarts.
 */
export const ProvisionFailure = z.object({
  processingNumber: ProcessingNumber,
  reason: OutcomeReason,
  failedAt: z.iso.datetime(),
});
export type ProvisionFailure = z.infer<typeof ProvisionFailure>;

/** One item of an answer: the copy's data, valid against the layout version in force on the request date. */
export const AnsweredItem = z.object({
  itemNo: ItemNo,
  layoutVersion: z.string().max(32),
  data: z.record(z.string(), z.unknown()),
});
export type AnsweredItem = z.infer<typeof AnsweredItem>;

/** provider's intermediate server → core: the response to a `ProvisionRequest`. */
export const ProvisionAnswer = z.object({
  processingNumber: ProcessingNumber,
  outcome: z.enum(['provided', 'not_held']),
  /** In clear only between nodes without the trust layer; empty when `sealedItems` carries them. */
  items: z.array(AnsweredItem).max(20),
  /** The items signed by the provider and encrypted to the requester (a compact JWE): opaque to the core. */
  sealedItems: SealedItems.optional(),
  answeredAt: z.iso.datetime(),
});
export type ProvisionAnswer = z.infer<typeof ProvisionAnswer>;

/** core → requester's intermediate server: `POST /network/v1/answers` */
export const AnswerDelivery = z.object({
  processingNumber: ProcessingNumber,
  outcome: Outcome,
  reason: OutcomeReason.optional(),
  items: z.array(AnsweredItem).max(20),
  /** As the provider sealed them, relayed unread. */
  sealedItems: SealedItems.optional(),
  answeredAt: z.iso.datetime(),
});
export type AnswerDelivery = z.infer<typeof AnswerDelivery>;

/**
 * requester's intermediate server → core: `POST /v1/answer-fetches`, for an answer it has not
 * received (it was down when the core pushed it, or the push failed). Answered with the
 * `AnswerDelivery` the push would have carried.
 */
export const AnswerFetch = z.object({
  requesterId: InstitutionId,
  processingNumber: ProcessingNumber,
});
export type AnswerFetch = z.infer<typeof AnswerFetch>;

/**
 * requester's intermediate server → core: `POST /v1/answer-acknowledgements`, once a fetched answer
 * is recorded durably here. Until then the core keeps the answer (and goes on pushing it); on this
 * the core records the delivery `delivered` and drops what it kept.
 */
export const AnswerAcknowledgement = z.object({
  requesterId: InstitutionId,
  processingNumber: ProcessingNumber,
});
export type AnswerAcknowledgement = z.infer<typeof AnswerAcknowledgement>;

// ── Batches (一括照会 over the network) ─────────────────────────────────────────────────────────

/**
 * The most persons one batch carries. A thousand keeps every batch message well under the node's
 * 1 MiB body limit (a code is 44 characters, about 60 bytes with its JSON: 60 KB a batch) and its
 * sealed answer under `ANSWER_BODY_LIMIT` even with several items a person; and a thousand rows per
 * transaction is where the store's per-commit cost stops mattering (measured: 4,096 bought no more).
 */
export const MAX_BATCH_MEMBERS = 1000;

/** A requester-chosen batch id (a UUID): a resend under the same id gets the same answer. */
export const BatchId = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'must be a lower-case UUID');
export type BatchId = z.infer<typeof BatchId>;

/**
 * Many persons asked of one provider in one signed message, for one clause, procedure and item list:
 * the batch form of `InquiryRequest`. Every member becomes an inquiry of its own, with its own
 * processing number and record at the three parties.
 */
export const InquiryBatchRequest = z.object({
  batchId: BatchId,
  requesterId: InstitutionId,
  providerId: InstitutionId,
  clauseNo: ClauseNo,
  procedureId: ProcedureId,
  itemNos: z.array(ItemNo).min(1).max(20),
  nonDisclosure: z.boolean().default(false),
  encryptionCertificate: EncryptionCertificate.optional(),
  personCodes: z.array(PersonCode).min(1).max(MAX_BATCH_MEMBERS),
  /**
   * Each member's idempotency key (`InquiryRequest.requestId`), in the order of `personCodes`, when
   * the batch coalesces single inquiries (a requester's intermediate server sends what its clerks
   * asked within one send as one batch). The core keeps them as it keeps a single inquiry's: a
   * member sent again alone under its key gets its processing number, never a second inquiry.
   */
  requestIds: z.array(z.uuid()).max(MAX_BATCH_MEMBERS).optional(),
});
export type InquiryBatchRequest = z.infer<typeof InquiryBatchRequest>;

/** One member of an accepted batch, in the order of `personCodes`. */
export const BatchMemberAccepted = z.object({
  processingNumber: ProcessingNumber,
  /** `refused` (recorded so at the core) with `reason`: the code or the legal table's rule. */
  outcome: z.enum(['accepted', 'refused']),
  reason: OutcomeReason.optional(),
});
export type BatchMemberAccepted = z.infer<typeof BatchMemberAccepted>;

export const InquiryBatchAccepted = z.object({
  batchId: BatchId,
  requestedAt: z.iso.datetime(),
  members: z.array(BatchMemberAccepted).max(MAX_BATCH_MEMBERS),
});
export type InquiryBatchAccepted = z.infer<typeof InquiryBatchAccepted>;

export const ProvisionBatchMember = z.object({
  processingNumber: ProcessingNumber,
  personCode: PersonCode,
  /** As `ProvisionRequest.previousPersonCode`. */
  previousPersonCode: PersonCode.optional(),
});
export type ProvisionBatchMember = z.infer<typeof ProvisionBatchMember>;

/** The batch form of `ProvisionRequest`: the accepted members of one `InquiryBatchRequest`. */
export const ProvisionBatchRequest = z.object({
  batchId: BatchId,
  requesterId: InstitutionId,
  clauseNo: ClauseNo,
  procedureId: ProcedureId,
  itemNos: z.array(ItemNo).min(1).max(20),
  requestedAt: z.iso.datetime(),
  nonDisclosure: z.boolean(),
  requesterEncryptionCertificate: EncryptionCertificate.optional(),
  /** The hash of the requester's signed `InquiryBatchRequest`: signed into the sealed answer. */
  inquiryHash: MessageHash.optional(),
  answerBy: z.iso.datetime().optional(),
  members: z.array(ProvisionBatchMember).min(1).max(MAX_BATCH_MEMBERS),
});
export type ProvisionBatchRequest = z.infer<typeof ProvisionBatchRequest>;

/** One member's outcome. `failed` carries the reason (e.g. ERR_LAYOUT_VIOLATION), recorded so. */
export const BatchMemberOutcome = z.object({
  processingNumber: ProcessingNumber,
  outcome: Outcome.exclude(['refused']),
  reason: OutcomeReason.optional(),
});
export type BatchMemberOutcome = z.infer<typeof BatchMemberOutcome>;

/**
 * The provider's answer to a batch: each member's outcome, and the provided members' items sealed
 * once for the whole batch (item-sealing.ts, `sealBatch`); items in clear only off the trust layer.
 */
export const ProvisionBatchAnswer = z.object({
  batchId: BatchId,
  members: z.array(BatchMemberOutcome).max(MAX_BATCH_MEMBERS),
  items: z
    .array(z.object({ processingNumber: ProcessingNumber, items: z.array(AnsweredItem).max(20) }))
    .max(MAX_BATCH_MEMBERS),
  sealedItems: SealedItems.optional(),
  answeredAt: z.iso.datetime(),
});
export type ProvisionBatchAnswer = z.infer<typeof ProvisionBatchAnswer>;

/**
 * The batch form of `AnswerDelivery`: the core's push (or a fetch's answer) to the requester, the
 * provider's answer as it came (a schema object of its own, so that the OpenAPI document names it).
 */
export const AnswerBatchDelivery = ProvisionBatchAnswer.extend({});
export type AnswerBatchDelivery = z.infer<typeof AnswerBatchDelivery>;

export const AnswerBatchFetch = z.object({ requesterId: InstitutionId, batchId: BatchId });
export type AnswerBatchFetch = z.infer<typeof AnswerBatchFetch>;

/** The batch form of `AnswerAcknowledgement`: every member's answer is recorded at the requester. */
export const AnswerBatchAcknowledgement = z.object({ requesterId: InstitutionId, batchId: BatchId });
export type AnswerBatchAcknowledgement = z.infer<typeof AnswerBatchAcknowledgement>;
