/**
 * J-LIS's residents' side (`/admin/v1/residents`): municipalities report a new resident (転入・出生)
 * through the resident register network (住基ネット) and J-LIS numbers them.
 */
import { z } from 'zod';

/** A new resident as a municipality reports them: the basic four info. */
export const NewResident = z.object({
  name: z.string().trim().min(1).max(100),
  nameKana: z.string().trim().min(1).max(100).optional(),
  address: z.string().trim().min(1).max(200),
  dateOfBirth: z.iso.date('must be a date YYYY-MM-DD'),
  sex: z.enum(['male', 'female', 'other']),
});
export type NewResident = z.infer<typeof NewResident>;

export const NumberedResident = z.object({
  residentRecordCode: z.string().regex(/^[0-9]{11}$/),
  individualNumber: z.string().regex(/^[0-9]{12}$/),
});
export type NumberedResident = z.infer<typeof NumberedResident>;

export const ResidentCount = z.object({ count: z.number().int().min(0) });
