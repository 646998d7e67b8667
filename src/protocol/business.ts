/**
 * An institution's business API (`/business/v1/*`): what its business systems (既存システム) and
 * clerks call on their own intermediate server. It names persons by addressee number; codes and
 * Individual Numbers never appear in an answer (the Individual Number only in the registration).
 */
import { z } from 'zod';
import {
  AddresseeNumber,
  ClauseNo,
  InstitutionId,
  ItemNo,
  KeyVersion,
  Outcome,
  ProcedureId,
  ProcessingNumber,
} from './identifiers.ts';
import { ErrorObject } from './error-body.ts';
import { AnsweredItem, MAX_REISSUE_BATCH } from './messages.ts';

/** `POST /business/v1/persons`: the Individual Number goes to the addressee system, and no further. */
export const PersonRegistration = z.object({
  individualNumber: z.string().max(64),
  addresseeNumber: AddresseeNumber.optional(),
});
export type PersonRegistration = z.infer<typeof PersonRegistration>;

export const PersonRegistered = z.object({
  addresseeNumber: AddresseeNumber,
  codeStatus: z.literal('acquired'),
});
export type PersonRegistered = z.infer<typeof PersonRegistered>;

/** A copy (副本) as a business system sends it. */
export const CopyInput = z.object({
  addresseeNumber: AddresseeNumber,
  itemNo: ItemNo,
  data: z.record(z.string(), z.unknown()),
});
export type CopyInput = z.infer<typeof CopyInput>;

export const StoredCopy = z.object({
  addresseeNumber: AddresseeNumber,
  itemNo: ItemNo,
  layoutVersion: z.string(),
  updatedAt: z.iso.datetime(),
});
export type StoredCopy = z.infer<typeof StoredCopy>;

export const MAX_BATCH_COPIES = 10_000;

/** Rows are untrusted input, checked one by one so that every bad row is reported. */
export const CopyBatch = z.object({ copies: z.array(z.unknown()) });
export const CopiesWritten = z.object({ written: z.number().int().min(0) });

export const CopyParams = z.object({
  addresseeNumber: AddresseeNumber,
  itemNo: z.coerce.number().pipe(ItemNo),
});

/** A clerk's inquiry (情報照会), by the institution's own addressee number. */
export const InquiryInput = z.object({
  addresseeNumber: AddresseeNumber,
  providerId: InstitutionId,
  clauseNo: ClauseNo,
  procedureId: ProcedureId,
  itemNos: z.array(ItemNo).min(1).max(20),
  nonDisclosure: z.boolean().optional(),
  /**
   * The business system's idempotency key (a UUID), optional: the same input sent again with the
   * same key (after a timeout, or a 502 `ERR_UPSTREAM_UNAVAILABLE` with `details.queued`) gets the
   * first inquiry's processing number, or its refusal, instead of making a second inquiry. One key
   * per inquiry.
   */
  requestId: z.uuid().optional(),
  /**
   * Wait up to this long (ms, ≤ 30,000) for the answer before answering: one request then carries
   * the inquiry and its outcome (200 with the inquiry's status, as `GET …/inquiries/:processingNumber`
   * gives it), or, if the answer is later, the pending inquiry (202) to read later. Absent or 0: 202
   * at once.
   */
  waitMs: z.number().int().min(0).max(30_000).optional(),
});
export type InquiryInput = z.infer<typeof InquiryInput>;

export const InquiryPending = z.object({
  processingNumber: ProcessingNumber,
  status: z.literal('pending'),
  requestedAt: z.iso.datetime(),
});
export type InquiryPending = z.infer<typeof InquiryPending>;

export const MAX_WAIT_MS = 30_000;

export const InquiryParams = z.object({ processingNumber: ProcessingNumber });
export const InquiryWait = z.object({
  waitMs: z.coerce.number().int().min(0).max(MAX_WAIT_MS).default(0),
});

export const InquiryOutcome = z.enum(['pending', ...Outcome.options]);
export type InquiryOutcome = z.infer<typeof InquiryOutcome>;

/** An inquiry as the requester's clerk sees it; `items` once provided. */
export const InquiryStatus = z.object({
  processingNumber: ProcessingNumber,
  /** `pending` until the core delivers the outcome, then `answered`. */
  status: z.enum(['pending', 'answered']),
  outcome: InquiryOutcome,
  reason: z.string().optional(),
  addresseeNumber: AddresseeNumber.optional(),
  providerId: InstitutionId.optional(),
  clauseNo: ClauseNo.optional(),
  procedureId: ProcedureId.optional(),
  itemNos: z.array(ItemNo).optional(),
  requestedAt: z.iso.datetime().optional(),
  answeredAt: z.iso.datetime().optional(),
  nonDisclosure: z.boolean(),
  items: z.array(AnsweredItem).optional(),
});
export type InquiryStatus = z.infer<typeof InquiryStatus>;

/**
 * What a clerk's inquiry is answered with: pending (202), or with `waitMs` the inquiry's status once
 * answered (200; still pending if the answer did not come within the wait).
 */
export const InquiryReply = z.union([InquiryStatus, InquiryPending]);
export type InquiryReply = z.infer<typeof InquiryReply>;

/** The most inquiries one `POST /business/v1/inquiries:batch` carries (a household, a day's caseload). */
export const MAX_INQUIRIES_PER_REQUEST = 1000;

/**
 * Many clerks' inquiries in one request (`POST /business/v1/inquiries:batch`): each is an inquiry of its
 * own, as if sent alone (its own processing number, record, refusal and idempotency key), answered in
 * the order sent. A business system with a household or a caseload pays one request for all of them
 * instead of one each. `waitMs` applies to the whole request: it is answered when every inquiry is
 * answered or the wait ran out, whichever is first.
 */
export const InquirySetInput = z
  .object({
    inquiries: z
      .array(InquiryInput.omit({ waitMs: true }))
      .min(1)
      .max(MAX_INQUIRIES_PER_REQUEST),
    waitMs: z.number().int().min(0).max(MAX_WAIT_MS).optional(),
  })
  .superRefine((input, ctx) => {
    const seen = new Set<string>();
    input.inquiries.forEach((inquiry, index) => {
      if (inquiry.requestId === undefined) return;
      if (seen.has(inquiry.requestId)) {
        ctx.addIssue({
          code: 'custom',
          path: ['inquiries', index, 'requestId'],
          message: 'the same requestId twice in one request: one key per inquiry',
        });
      }
      seen.add(inquiry.requestId);
    });
  });
export type InquirySetInput = z.infer<typeof InquirySetInput>;

/** One inquiry of a set that was not made, or not answered, as the single route would have refused it. */
export const InquiryFailure = z.object({
  status: z.literal('error'),
  error: ErrorObject,
});
export type InquiryFailure = z.infer<typeof InquiryFailure>;

/** Each inquiry's reply, in the order sent: its status, pending, or the error it got. */
export const InquirySetReply = z.object({
  results: z.array(z.union([InquiryStatus, InquiryPending, InquiryFailure])),
});
export type InquirySetReply = z.infer<typeof InquirySetReply>;

export const ProvisionRecordRole = z.enum(['requester', 'provider']);
export type ProvisionRecordRole = z.infer<typeof ProvisionRecordRole>;

export const RecordsQuery = z.object({
  role: ProvisionRecordRole.optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
});

/** A provision record as the institution's own staff read it: never a code. */
export const InstitutionRecord = z.object({
  role: ProvisionRecordRole,
  processingNumber: ProcessingNumber,
  addresseeNumber: AddresseeNumber.optional(),
  requesterId: InstitutionId.optional(),
  providerId: InstitutionId.optional(),
  clauseNo: ClauseNo.optional(),
  procedureId: ProcedureId.optional(),
  itemNos: z.array(ItemNo).optional(),
  providedItemNos: z.array(ItemNo).optional(),
  requestedAt: z.iso.datetime().optional(),
  answeredAt: z.iso.datetime().optional(),
  outcome: InquiryOutcome,
  reason: z.string().optional(),
  nonDisclosure: z.boolean(),
  recordedAt: z.iso.datetime(),
  /**
   * As requester, who made the inquiry (アクセス記録): the party its business credential names, e.g.
   * `131016:business` or a clerk's `131016:clerk-0042`. Absent off the trust layer.
   */
  requestedBy: z.string().optional(),
});
export type InstitutionRecord = z.infer<typeof InstitutionRecord>;

export const InstitutionRecordList = z.object({ records: z.array(InstitutionRecord) });

/** `POST /business/v1/non-disclosure-lifts`: lift the non-disclosure of one of this institution's inquiries. */
export const NonDisclosureLiftInput = z.object({ processingNumber: ProcessingNumber });
export type NonDisclosureLiftInput = z.infer<typeof NonDisclosureLiftInput>;

export const InstitutionRecordsPurged = z.object({
  before: z.iso.datetime(),
  requester: z.number().int(),
  provider: z.number().int(),
});

/** One page of re-keying after a key rotation. */
export const CodeReissuePageInput = z.object({
  /** Start after this addressee number (the previous page's `next`); absent for the first page. */
  after: AddresseeNumber.optional(),
  limit: z.number().int().min(1).max(MAX_REISSUE_BATCH).default(MAX_REISSUE_BATCH),
  /** The key version the first page reported; a later page refuses to mix versions. */
  keyVersion: KeyVersion.optional(),
});
export type CodeReissuePageInput = z.input<typeof CodeReissuePageInput>;

export const CodeReissuePage = z.object({
  /** The key version every code of this page is now under. */
  keyVersion: KeyVersion,
  /** Persons holding a code, now (for a progress bar). */
  total: z.number().int(),
  /** Persons of this page. */
  checked: z.number().int(),
  /** Codes replaced by their current version. */
  reissued: z.number().int(),
  /** Codes the core did not recognise: removed, so the person's code must be acquired again. */
  cleared: z.array(AddresseeNumber),
  /** Pass this as `after` for the next page; null when this was the last page. */
  next: AddresseeNumber.nullable(),
  /** True on the last page, once the core has recorded that the institution is re-keyed. */
  completed: z.boolean(),
});
export type CodeReissuePage = z.infer<typeof CodeReissuePage>;

/** Most persons in one bulk inquiry (一括照会): the pension service's largest runs. */
export const MAX_BULK_PERSONS = 2_000_000;

/**
 * A bulk inquiry (一括照会): one clause, procedure, provider and item list for many persons, named by
 * the institution's addressee numbers. Each person's inquiry is an exchange of its own, recorded as
 * usual at the three parties.
 */
export const BulkInquiryInput = z.object({
  providerId: InstitutionId,
  clauseNo: ClauseNo,
  procedureId: ProcedureId,
  itemNos: z.array(ItemNo).min(1).max(20),
  nonDisclosure: z.boolean().optional(),
  addresseeNumbers: z.array(AddresseeNumber).min(1).max(MAX_BULK_PERSONS),
});
export type BulkInquiryInput = z.infer<typeof BulkInquiryInput>;

export const BulkNumber = z.uuid();
export const BulkInquiryParams = z.object({ bulkNumber: BulkNumber });

/** Where a bulk inquiry stands; `done` once every person's inquiry has its outcome. */
export const BulkInquiryStatus = z.object({
  bulkNumber: BulkNumber,
  status: z.enum(['running', 'done']),
  providerId: InstitutionId,
  clauseNo: ClauseNo,
  procedureId: ProcedureId,
  itemNos: z.array(ItemNo),
  total: z.number().int(),
  /** Persons whose inquiry the core accepted, refused or could not be asked about, so far. */
  sent: z.number().int(),
  /** Persons with an outcome (answered, refused, failed, or not asked: unknown addressee number…). */
  finished: z.number().int(),
  outcomes: z.object({
    provided: z.number().int(),
    not_held: z.number().int(),
    refused: z.number().int(),
    failed: z.number().int(),
  }),
  createdAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().optional(),
  /** The business credential that submitted it (アクセス記録). */
  requestedBy: z.string().optional(),
});
export type BulkInquiryStatus = z.infer<typeof BulkInquiryStatus>;

export const BulkResultsQuery = z.object({
  /** Start after this position (the previous page's `next`). */
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1_000),
});

/** One person's result, in the order the bulk inquiry named them. */
export const BulkResult = z.object({
  position: z.number().int(),
  addresseeNumber: AddresseeNumber,
  processingNumber: ProcessingNumber.optional(),
  outcome: z.enum(['pending', 'provided', 'not_held', 'refused', 'failed']),
  reason: z.string().optional(),
  items: z.array(AnsweredItem).optional(),
});
export type BulkResult = z.infer<typeof BulkResult>;

export const BulkResultPage = z.object({
  results: z.array(BulkResult),
  /** Pass as `after` for the next page; absent on the last one. */
  next: z.number().int().optional(),
});
export type BulkResultPage = z.infer<typeof BulkResultPage>;
