/**
 * The operator's API at the core (`/admin/v1/*`): the institution registry, key rotation, provision
 * records and statistics. Schemas and types share a name.
 */
import { z } from 'zod';
import {
  ClauseNo,
  InstitutionId,
  InstitutionKind,
  ItemNo,
  KeyVersion,
  ProcedureId,
  ProcessingNumber,
} from './identifiers.ts';

/** An institution as the core's registry knows it: `PUT /admin/v1/institutions/:id`. */
export const InstitutionRegistration = z.object({
  name: z.string().min(1).max(100),
  nameEn: z.string().min(1).max(100),
  kind: InstitutionKind,
  /** Base URL of the institution's network-facing API (its intermediate server). */
  networkUrl: z.url(),
});
export type InstitutionRegistration = z.infer<typeof InstitutionRegistration>;

export const InstitutionParams = z.object({ id: InstitutionId });

/** An institution in the core's registry. */
export const Institution = InstitutionRegistration.extend({
  id: InstitutionId,
  /** Version of the master key its codes are currently issued under; bumped by rotation. */
  keyVersion: KeyVersion,
  /** The key version the institution last confirmed all the codes it holds are under. */
  rekeyedVersion: z.number().int().min(0),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type Institution = z.infer<typeof Institution>;

export const InstitutionList = z.object({ institutions: z.array(Institution) });

export const KeyRotated = z.object({ institutionId: InstitutionId, keyVersion: KeyVersion });
export type KeyRotated = z.infer<typeof KeyRotated>;

/** An instant or a calendar day (UTC midnight), normalized to `toISOString()` form so it compares as text. */
export const Instant = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()])
  .transform((value) => new Date(value.length === 10 ? `${value}T00:00:00Z` : value).toISOString());

export const RecordOutcome = z.enum(['pending', 'provided', 'not_held', 'refused', 'failed']);
export type RecordOutcome = z.infer<typeof RecordOutcome>;

export const ProvisionRecordQuery = z.object({
  from: Instant.optional(),
  to: Instant.optional(),
  requesterId: InstitutionId.optional(),
  providerId: InstitutionId.optional(),
  outcome: RecordOutcome.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** A provision record (情報提供等の記録) as the core keeps it: never a code or an answer's items. */
export const ProvisionRecord = z.object({
  processingNumber: ProcessingNumber,
  requesterId: InstitutionId,
  providerId: InstitutionId,
  clauseNo: ClauseNo,
  procedureId: ProcedureId,
  itemNos: z.array(ItemNo),
  personKey: z.string().nullable(),
  requestedAt: z.iso.datetime(),
  answeredAt: z.iso.datetime().nullable(),
  outcome: RecordOutcome,
  reason: z.string().nullable(),
  nonDisclosure: z.boolean(),
  legalTableDigest: z.string(),
});

export const ProvisionRecordList = z.object({ records: z.array(ProvisionRecord) });

export const RecordsPurged = z.object({ purged: z.number().int().min(0), retentionYears: z.number().int() });

export const StatisticsQuery = z.object({ from: Instant.optional(), to: Instant.optional() });

export const Statistics = z.object({
  total: z.number().int(),
  byOutcome: z.record(RecordOutcome, z.number().int()),
  byClause: z.array(z.object({ clauseNo: z.string(), count: z.number().int() })),
  byItem: z.array(z.object({ itemNo: z.number().int(), count: z.number().int() })),
});
