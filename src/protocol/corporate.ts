/**
 * The corporate-number service's API schemas (法人番号公表サイト): public lookups, and the National
 * Tax Agency's designations and changes. The records themselves are in domain/corporations.
 */
import { z } from 'zod';
import { CorporationEntry, CorporationKind } from '../domain/corporations/corporation.ts';

export {
  Corporation,
  CorporationChange,
  CorporationEntry,
  Designation,
} from '../domain/corporations/corporation.ts';

export const CorporationParams = z.object({
  /** Read as typed (full-width digits, spaces, hyphens allowed) and its check digit verified. */
  corporateNumber: z.string().max(40),
});

export const CorporationQuery = z.object({
  history: z.stringbool().default(false),
});

const Limit = z.coerce.number().int().min(1).max(1_000).default(100);

export const CorporationSearch = z.object({
  /** Part of the name, its フリガナ or English name; kana-insensitive (ﾄﾖﾀ, トヨタ, とよた alike). */
  name: z.string().trim().min(1).max(150).optional(),
  kind: CorporationKind.optional(),
  prefectureCode: z
    .string()
    .regex(/^(0[1-9]|[1-3][0-9]|4[0-7])$/, 'must be a prefecture code (01–47)')
    .optional(),
  includeClosed: z.stringbool().default(false),
  /** The `next` of the previous page. */
  after: z
    .string()
    .regex(/^[0-9]{13}$/)
    .optional(),
  limit: Limit,
});

export const CorporationPage = z.object({
  corporations: z.array(CorporationEntry),
  next: z.string().optional(),
});

export const ChangesQuery = z.object({
  from: z.iso.date(),
  to: z.iso.date(),
  after: z.coerce.number().int().min(0).optional(),
  limit: Limit,
});

export const ChangesPage = z.object({
  entries: z.array(CorporationEntry),
  next: z.number().int().optional(),
});

export const DownloadQuery = z.object({
  prefectureCode: z
    .string()
    .regex(/^(0[1-9]|[1-3][0-9]|4[0-7])$/, 'must be a prefecture code (01–47)')
    .optional(),
  includeClosed: z.stringbool().default(true),
});

/** The CSV of `domain/corporations/csv.ts`, UTF-8 with a header row. */
export const CorporationCsv = z
  .string()
  .describe('text/csv; charset=utf-8, columns as the README lists them');
