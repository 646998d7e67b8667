/**
 * J-LIS's residents' side (`/admin/v1/resident…`): municipalities report residents through the
 * resident register network (住基ネット): a birth or first registration, which J-LIS numbers; each
 * later change of the identity record (本人確認情報: moves, name changes, death, corrections), dated;
 * a lookup of the record as of a date; and a change of the Individual Number when it has leaked.
 * No URL carries an identifier: the resident record code travels in the body.
 */
import { z } from 'zod';
import { ResidentRecordCode } from '../domain/identifiers/resident-record-code.ts';

const Name = z.string().trim().min(1).max(100);
const Kana = z.string().trim().min(1).max(100);
const Address = z.string().trim().min(1).max(200);
const Sex = z.enum(['male', 'female', 'other']);
const IsoDate = z.iso.date('must be a date YYYY-MM-DD');

/** A new resident as a municipality reports them: the basic four info. */
export const NewResident = z.object({
  name: Name,
  nameKana: Kana.optional(),
  address: Address,
  dateOfBirth: IsoDate,
  sex: Sex,
  /**
   * The resident record code (住民票コード) the municipality assigned (11 digits, check digit last;
   * `domain/identifiers/resident-record-code.ts`). Without it, J-LIS draws a fresh one.
   */
  residentRecordCode: ResidentRecordCode.optional(),
  /** 出生 (birth) or a first registration (e.g. from abroad); default first registration. */
  event: z.enum(['birth', 'first_registration']).optional(),
  /** The day it took effect (異動日); today when omitted. */
  effectiveDate: IsoDate.optional(),
});
export type NewResident = z.infer<typeof NewResident>;

export const NumberedResident = z.object({
  residentRecordCode: z.string().regex(/^[0-9]{11}$/),
  individualNumber: z.string().regex(/^[0-9]{12}$/),
});
export type NumberedResident = z.infer<typeof NumberedResident>;

export const ResidentCount = z.object({ count: z.number().int().min(0) });

/**
 * A change of an identity record, effective on `effectiveDate`:
 * - `move_in` (転入・転居): the new address; the resident lives in the municipality again;
 * - `move_out` (転出): leaving the municipality, the planned address when known;
 * - `name_change` (氏名の変更): the new name and its reading;
 * - `death` (死亡): the record is closed; only corrections follow;
 * - `correction` (職権修正等): any of the four that was recorded wrong, from the effective date on.
 */
export const ResidentChange = z
  .object({
    residentRecordCode: ResidentRecordCode,
    change: z.enum(['move_in', 'move_out', 'name_change', 'death', 'correction']),
    effectiveDate: IsoDate,
    name: Name.optional(),
    nameKana: Kana.optional(),
    address: Address.optional(),
    dateOfBirth: IsoDate.optional(),
    sex: Sex.optional(),
  })
  .refine((c) => c.change !== 'move_in' || c.address !== undefined, {
    message: 'a move-in gives the new address',
    path: ['address'],
  })
  .refine((c) => c.change !== 'name_change' || c.name !== undefined, {
    message: 'a name change gives the new name',
    path: ['name'],
  })
  .refine(
    (c) =>
      c.change !== 'correction' ||
      [c.name, c.nameKana, c.address, c.dateOfBirth, c.sex].some((v) => v !== undefined),
    { message: 'a correction gives at least one corrected field', path: ['change'] },
  )
  .refine(
    (c) =>
      c.change === 'correction' ||
      c.change === 'name_change' ||
      (c.dateOfBirth === undefined && c.sex === undefined),
    { message: 'the date of birth and sex change only by correction', path: ['change'] },
  );
export type ResidentChange = z.infer<typeof ResidentChange>;

/** Where a resident stands: living in a municipality, moved out (転出), or deceased. */
export const ResidentStatus = z.enum(['resident', 'moved_out', 'deceased']);
export type ResidentStatus = z.infer<typeof ResidentStatus>;

export const ResidentLookup = z.object({
  residentRecordCode: ResidentRecordCode,
  /** The record as it stood at the end of this day; today when omitted. */
  asOf: IsoDate.optional(),
  /** Also every entry of the history. */
  history: z.boolean().optional(),
});
export type ResidentLookup = z.infer<typeof ResidentLookup>;

export const HistoryEntry = z.object({
  change: z.string(),
  effectiveDate: IsoDate,
  recordedAt: z.string(),
  name: z.string(),
  nameKana: z.string().optional(),
  address: z.string(),
  dateOfBirth: IsoDate,
  sex: Sex,
  status: ResidentStatus,
});
export type HistoryEntry = z.infer<typeof HistoryEntry>;

/** An identity record (本人確認情報) as it stood on `asOf`. */
export const IdentityRecordView = z.object({
  residentRecordCode: z.string(),
  individualNumber: z.string(),
  asOf: IsoDate,
  name: z.string(),
  nameKana: z.string().optional(),
  address: z.string(),
  dateOfBirth: IsoDate,
  sex: Sex,
  status: ResidentStatus,
  history: z.array(HistoryEntry).optional(),
});
export type IdentityRecordView = z.infer<typeof IdentityRecordView>;

/** 番号の変更: the Individual Number leaked (or may be used fraudulently); a new one replaces it. */
export const NumberChange = z.object({
  residentRecordCode: ResidentRecordCode,
  reason: z.enum(['leaked', 'fraud_risk']),
});
export type NumberChange = z.infer<typeof NumberChange>;
