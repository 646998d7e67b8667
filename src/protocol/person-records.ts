/**
 * The exchanges about one person (やりとり履歴), as the core answers them to the Myna Portal, and the
 * lift of a record's non-disclosure (不開示の解除) by its requester:
 *
 *   portal ──PersonRecordQuery──▶ core        (the portal's own code for the person; a page of records,
 *                                              each with its leaves and inclusion proofs, one signed head)
 *   requester ──NonDisclosureLift──▶ core      (a processing number of its own; the record then appears)
 *
 * The portal names the person by its own institution-specific code, as any institution does: the core
 * opens it under the portal's key and finds the records by the person's key (a keyed hash of the
 * linking code, `ProvisionRecord.personKey`). No record under non-disclosure is in any answer, nor a
 * count or a gap that would betray one (`nextCursor` is the last row shown, not a position).
 */
import { z } from 'zod';
import { RecordOutcome } from './admin.ts';
import { ClauseNo, InstitutionId, ItemNo, PersonCode, ProcedureId, ProcessingNumber } from './identifiers.ts';

/** Most records in one page. */
export const MAX_PERSON_RECORDS_PAGE = 100;

/** Where the next page starts: opaque to the portal (the core's encoding of the last row shown). */
export const PersonRecordCursor = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,200}$/, 'must be a cursor from a previous page');

/** Portal → core: `POST /v1/person-record-lookups`. */
export const PersonRecordQuery = z.object({
  /** The portal itself (bound to its certificate on the trust layer). */
  portalId: InstitutionId,
  /** The portal's own institution-specific code for the person. */
  personCode: PersonCode,
  cursor: PersonRecordCursor.optional(),
  limit: z.number().int().min(1).max(MAX_PERSON_RECORDS_PAGE).default(20),
});
export type PersonRecordQuery = z.infer<typeof PersonRecordQuery>;

const Hex32 = z.string().regex(/^[0-9a-f]{64}$/);

/** One event of a record in the core's Merkle log: where, its bytes, and the proof it is there. */
export const EvidenceLeaf = z.object({
  index: z.number().int().nonnegative(),
  /** The event's canonical JSON, exactly as logged (the leaf's bytes, as UTF-8 text). */
  leaf: z.string().max(8_192),
  /**
   * RFC 9162 inclusion proof against the page's tree head (sibling hashes, hex, nearest the leaf
   * first); null when that head does not cover the leaf (the core signs no heads: no signing key).
   */
  proof: z.array(Hex32).max(64).nullable(),
});
export type EvidenceLeaf = z.infer<typeof EvidenceLeaf>;

/**
 * A record about the person, as the resident sees it. The institutions' names are the core's registry's
 * (the portal has no registry of its own); the procedure's and items' names are the legal table's.
 */
export const PersonRecord = z.object({
  processingNumber: ProcessingNumber,
  requestedAt: z.iso.datetime(),
  answeredAt: z.iso.datetime().nullable(),
  requesterId: InstitutionId,
  /** The requester's name in the core's registry (the id where the registry no longer has it). */
  requesterName: z.string().min(1).max(100),
  /** The requester's English name in the registry (the id where the registry no longer has it). */
  requesterNameEn: z.string().min(1).max(100),
  providerId: InstitutionId,
  providerName: z.string().min(1).max(100),
  providerNameEn: z.string().min(1).max(100),
  clauseNo: ClauseNo,
  procedureId: ProcedureId,
  itemNos: z.array(ItemNo),
  outcome: RecordOutcome,
  /** For `refused` and `failed`: the legal table's rule or the error code. */
  reason: z.string().nullable(),
  /** Every event of the record in the core's log, in log order. */
  evidence: z.array(EvidenceLeaf).max(16),
});
export type PersonRecord = z.infer<typeof PersonRecord>;

/** The core's signed tree head (tree-head.ts's compact JWS) the page's proofs are against. */
export const PageTreeHead = z.object({
  jws: z.string(),
  treeSize: z.number().int().nonnegative(),
  /** The key id: the serial of the core's identity certificate, whose public key checks it. */
  kid: z.string(),
});
export type PageTreeHead = z.infer<typeof PageTreeHead>;

/** Core → portal: newest first. */
export const PersonRecordPage = z.object({
  records: z.array(PersonRecord).max(MAX_PERSON_RECORDS_PAGE),
  /** Null only when the core has no signed head at all (no signing key). */
  treeHead: PageTreeHead.nullable(),
  /** The cursor of the next page; null on the last. */
  nextCursor: PersonRecordCursor.nullable(),
});
export type PersonRecordPage = z.infer<typeof PersonRecordPage>;

/** Requester → core: `POST /v1/non-disclosure-lifts`. */
export const NonDisclosureLift = z.object({
  requesterId: InstitutionId,
  processingNumber: ProcessingNumber,
});
export type NonDisclosureLift = z.infer<typeof NonDisclosureLift>;

/** `lifted` false: the record was not (or no longer) under non-disclosure, and nothing changed. */
export const NonDisclosureLifted = z.object({
  processingNumber: ProcessingNumber,
  lifted: z.boolean(),
});
export type NonDisclosureLifted = z.infer<typeof NonDisclosureLifted>;
