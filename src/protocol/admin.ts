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
  /** Suspended by the operator: the core refuses its inquiries, and inquiries to it, until reinstated. */
  suspended: z.boolean(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type Institution = z.infer<typeof Institution>;

export const InstitutionList = z.object({ institutions: z.array(Institution) });

/**
 * The network's directory, for its parties: who is in the registry, by name and kind (what a clerk
 * picks a provider from), without addresses or key versions, which are the core's business.
 */
export const NetworkDirectory = z.object({
  institutions: z.array(
    InstitutionRegistration.pick({ name: true, nameEn: true, kind: true }).extend({ id: InstitutionId }),
  ),
});
export type NetworkDirectory = z.infer<typeof NetworkDirectory>;

/**
 * `POST /admin/v1/institutions/:id/suspensions` and `…/reinstatements`: why (kept in the
 * institution's history with who and when; shown to operators, never sent to the institution).
 */
export const SuspensionChange = z.strictObject({ reason: z.string().trim().min(1).max(500) });
export type SuspensionChange = z.infer<typeof SuspensionChange>;

/** One suspension or reinstatement, as the registry keeps it. */
export const SuspensionEvent = z.object({
  institutionId: InstitutionId,
  action: z.enum(['suspended', 'reinstated']),
  reason: z.string(),
  by: z.string(),
  at: z.iso.datetime(),
});

/** An institution with its suspensions and reinstatements, oldest first. */
export const SuspensionHistory = z.object({
  institution: Institution,
  history: z.array(SuspensionEvent),
});

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

/**
 * A JST calendar day (`YYYY-MM-DD`) that exists: statistics periods are counted in Japan's days, as
 * the seeds' tables are ("H29.7.18～R2.5.7"), not in UTC's.
 */
export const StatisticsDay = z.iso.date({
  error: (issue) => `must be a calendar day such as 2025-04-01 (got "${String(issue.input).slice(0, 40)}")`,
});

/**
 * The breakdowns of the statistics (`by`): provisions per week (週あたり提供件数, weeks Monday to
 * Sunday in JST), by procedure, by item, by clause, by the requester's and by the provider's kind.
 */
export const StatisticsBreakdown = z.enum(
  ['week', 'procedure', 'item', 'clause', 'requester-kind', 'provider-kind'],
  {
    error: (issue) =>
      `unknown breakdown "${String(issue.input).slice(0, 40)}"; one of week, procedure, item, clause, requester-kind, provider-kind`,
  },
);
export type StatisticsBreakdown = z.infer<typeof StatisticsBreakdown>;
export const STATISTICS_BREAKDOWNS = StatisticsBreakdown.options;

/**
 * `GET /admin/v1/statistics?from=&to=&by=&format=`. `from` and `to` are JST calendar days, both
 * inclusive; `by` one breakdown or several (`by=week,item` or `by=week&by=item`; every breakdown when
 * absent); `format=csv` (or `Accept: text/csv`) answers the same figures as CSV. Strict: an unknown
 * parameter (the old `groupBy`) is ERR_VALIDATION naming it, never silently ignored.
 */
export const StatisticsQuery = z
  .strictObject({
    from: StatisticsDay.optional(),
    to: StatisticsDay.optional(),
    by: z
      .preprocess(
        (value: unknown): unknown[] =>
          (Array.isArray(value) ? (value as unknown[]) : [value]).flatMap((v: unknown) =>
            typeof v === 'string' ? v.split(',').map((part) => part.trim()) : [v],
          ),
        z.array(StatisticsBreakdown).min(1).max(STATISTICS_BREAKDOWNS.length),
      )
      .optional(),
    format: z.enum(['json', 'csv']).optional(),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, {
    message: 'from must be on or before to',
    path: ['to'],
  });
export type StatisticsQuery = z.infer<typeof StatisticsQuery>;

/**
 * One row of a breakdown: what was provided (提供件数: outcome `provided`) apart from what was not held,
 * refused, failed, or is still pending; `total` is every inquiry recorded. For the item breakdown, a
 * record counts once under each item it asked for.
 */
export const StatisticsRow = z.object({
  /** Week: its Monday (JST, `YYYY-MM-DD`); procedure id; item number; clause number; institution kind. */
  key: z.string(),
  /** The legal table's name (procedure, item, clause's business) or the week's days; null if unknown. */
  name: z.string().nullable(),
  provisions: z.number().int(),
  notHeld: z.number().int(),
  refused: z.number().int(),
  failed: z.number().int(),
  pending: z.number().int(),
  total: z.number().int(),
});
export type StatisticsRow = z.infer<typeof StatisticsRow>;

export const Statistics = z.object({
  /** The period counted: JST days, inclusive; null where open. */
  period: z.object({
    from: z.string().nullable(),
    to: z.string().nullable(),
    timeZone: z.literal('Asia/Tokyo'),
  }),
  /** Every inquiry recorded in the period, whatever its outcome. */
  total: z.number().int(),
  /** Inquiries answered with the items (outcome `provided`): the seeds' 提供件数. */
  provisions: z.number().int(),
  byOutcome: z.record(RecordOutcome, z.number().int()),
  /** The breakdowns asked for (`by`), in their order; weeks oldest first, every week of the period. */
  breakdowns: z.array(z.object({ by: StatisticsBreakdown, rows: z.array(StatisticsRow) })),
});
export type Statistics = z.infer<typeof Statistics>;

/** A version's three files, as text (the YAML of `legal/clauses.yaml`, `procedures.yaml`, `items.yaml`). */
export const LegalFilesText = z.strictObject({
  clauses: z.string().min(1).max(4_000_000),
  procedures: z.string().min(1).max(4_000_000),
  items: z.string().min(1).max(4_000_000),
});
export type LegalFilesText = z.infer<typeof LegalFilesText>;

/**
 * `POST /admin/v1/legal-versions`: a new version of the legal table, to take effect on a JST day
 * that is not in the past. Validated in full before anything is stored.
 */
export const LegalVersionLoad = z.strictObject({
  effectiveFrom: StatisticsDay,
  files: LegalFilesText,
});
export type LegalVersionLoad = z.infer<typeof LegalVersionLoad>;

/** A version of the legal table as the core lists it (without its files). */
export const LegalVersionView = z.object({
  digest: z.string(),
  effectiveFrom: z.string(),
  loadedAt: z.iso.datetime(),
  loadedBy: z.string(),
  /** `in_force` today (JST), `scheduled` for a later day, `superseded` by a later version in force. */
  status: z.enum(['in_force', 'scheduled', 'superseded']),
  counts: z.object({ clauses: z.number().int(), procedures: z.number().int(), items: z.number().int() }),
  /** The loader's notes: what loads but cannot be used (legal/README.md). */
  warnings: z.array(z.string()),
});
export type LegalVersionView = z.infer<typeof LegalVersionView>;

export const LegalVersionList = z.object({ versions: z.array(LegalVersionView) });
export type LegalVersionList = z.infer<typeof LegalVersionList>;

/** The answer to a load: the version stored (or already stored: `stored: false`). */
export const LegalVersionLoaded = z.object({ version: LegalVersionView, stored: z.boolean() });
export type LegalVersionLoaded = z.infer<typeof LegalVersionLoaded>;

export const LegalVersionParams = z.object({
  digest: z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha-256 digest (64 hex digits)'),
});

/** One version with its files, to diff or to browse. */
export const LegalVersionFiles = z.object({ version: LegalVersionView, files: LegalFilesText });
export type LegalVersionFiles = z.infer<typeof LegalVersionFiles>;
