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
 *
 * Later work signs every message and end-to-end encrypts `ProvisionAnswer.items` for the requester;
 * the core only relays `items` and never stores them, so that change does not alter the core's shape.
 */
import { z } from 'zod';

/** An institution's id in the registry: a local-government code (`131016`) or a short name (`jps`). */
export const InstitutionId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{1,31}$/, 'must be 2-32 lower-case letters, digits or hyphens');
export type InstitutionId = z.infer<typeof InstitutionId>;

export const InstitutionKind = z.enum([
  'municipality', // 市区町村
  'prefecture', // 都道府県
  'prefectural_board_of_education', // 教育委員会（都道府県）
  'municipal_board_of_education', // 教育委員会（市区町村）
  'pension_service', // 日本年金機構
  'health_insurer', // 全国健康保険協会・健康保険組合
  'public_employment_security', // 厚生労働省職業安定局（ハローワーク）
  'student_support', // 日本学生支援機構
  'mutual_aid_association', // 共済組合
  'portal', // マイナポータル
]);
export type InstitutionKind = z.infer<typeof InstitutionKind>;

/**
 * An institution-specific code (機関別符号): 44 base64url characters. Its inner structure (key
 * version, authenticated ciphertext of the linking code) belongs to the core; everyone else treats it
 * as an opaque string.
 */
export const PersonCode = z
  .string()
  .regex(/^[A-Za-z0-9_-]{44}$/, 'must be a 44-character institution-specific code');
export type PersonCode = z.infer<typeof PersonCode>;

/** A processing number (処理通番): a UUIDv7 assigned by the core, time-ordered. */
export const ProcessingNumber = z
  .string()
  .regex(
    /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    'must be a processing number (UUIDv7)',
  );
export type ProcessingNumber = z.infer<typeof ProcessingNumber>;

/** An acquisition number (取得番号): one-time, made by the institution, 32 hex characters. */
export const AcquisitionNumber = z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lower-case hex characters');
export type AcquisitionNumber = z.infer<typeof AcquisitionNumber>;

/** A clause (項) of Appended Table 2, e.g. `74`, or `35-2` for a numbered sub-clause. */
export const ClauseNo = z.string().regex(/^[0-9]{1,3}(-[0-9]{1,2})?$/, 'must be a clause number such as 74');
export type ClauseNo = z.infer<typeof ClauseNo>;

export const ProcedureId = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be a procedure id such as 074-01');
export type ProcedureId = z.infer<typeof ProcedureId>;

/** An item number (特定個人情報番号), e.g. 2 for 地方税関係情報. */
export const ItemNo = z.number().int().min(1).max(999);
export type ItemNo = z.infer<typeof ItemNo>;

export const Outcome = z.enum(['provided', 'not_held', 'refused', 'failed']);
export type Outcome = z.infer<typeof Outcome>;

/** Why an inquiry was refused or failed: an error code or a named rule of the legal table. */
export const OutcomeReason = z.string().max(64);

// ── Code acquisition (符号取得) ──────────────────────────────────────────────────────────────

/** addressee system → J-LIS: `POST /v1/code-acquisitions` */
export const CodeAcquisitionRequest = z.object({
  institutionId: InstitutionId,
  acquisitionNumber: AcquisitionNumber,
  individualNumber: z.string().regex(/^[0-9]{12}$/, 'must be 12 digits'),
});
export type CodeAcquisitionRequest = z.infer<typeof CodeAcquisitionRequest>;

/** J-LIS → core: `POST /v1/code-issuances` */
export const CodeIssuanceRequest = z.object({
  institutionId: InstitutionId,
  acquisitionNumber: AcquisitionNumber,
  residentRecordCode: z.string().regex(/^[0-9]{11}$/, 'must be 11 digits'),
});
export type CodeIssuanceRequest = z.infer<typeof CodeIssuanceRequest>;

/** core → intermediate server: `POST /network/v1/code-deliveries` */
export const CodeDelivery = z.object({
  acquisitionNumber: AcquisitionNumber,
  personCode: PersonCode,
});
export type CodeDelivery = z.infer<typeof CodeDelivery>;

// ── Re-keying after a key rotation (符号の再発行) ────────────────────────────────────────────────

export const MAX_REISSUE_BATCH = 1000;

/** Versions of the core's master key an institution's codes can be under (the code's first byte). */
export const MAX_KEY_VERSION = 255;
export const KeyVersion = z.number().int().min(1).max(MAX_KEY_VERSION);

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
});
export type InquiryRequest = z.infer<typeof InquiryRequest>;

/** core's answer to an accepted inquiry (HTTP 202). A refusal is an `ErrorBody` with `details.processingNumber`. */
export const InquiryAccepted = z.object({
  processingNumber: ProcessingNumber,
  requestedAt: z.iso.datetime(),
});
export type InquiryAccepted = z.infer<typeof InquiryAccepted>;

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
});
export type ProvisionRequest = z.infer<typeof ProvisionRequest>;

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
  items: z.array(AnsweredItem).max(20),
  answeredAt: z.iso.datetime(),
});
export type ProvisionAnswer = z.infer<typeof ProvisionAnswer>;

/** core → requester's intermediate server: `POST /network/v1/answers` */
export const AnswerDelivery = z.object({
  processingNumber: ProcessingNumber,
  outcome: Outcome,
  reason: OutcomeReason.optional(),
  items: z.array(AnsweredItem).max(20),
  answeredAt: z.iso.datetime(),
});
export type AnswerDelivery = z.infer<typeof AnswerDelivery>;

// ── Registry ────────────────────────────────────────────────────────────────────────────────

/** An institution as the core's registry knows it: `PUT /admin/v1/institutions/:id`. */
export const InstitutionRegistration = z.object({
  name: z.string().min(1).max(100),
  nameEn: z.string().min(1).max(100),
  kind: InstitutionKind,
  /** Base URL of the institution's network-facing API (its intermediate server). */
  networkUrl: z.url(),
});
export type InstitutionRegistration = z.infer<typeof InstitutionRegistration>;
