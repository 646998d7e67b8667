/**
 * The clerk console's storage port for intake sheets (受付票), in the intermediate server's database
 * (`kysely-intake-store.ts` adapts SQLite and PostgreSQL to it; the table is migration
 * `0012_console_intakes`). An intake names the applicant by the institution's own addressee number:
 * the port has no field for an Individual Number, which only the addressee system keeps.
 */

export interface IntakeInquiry {
  providerId: string;
  itemNos: number[];
  processingNumber: string | undefined;
  /** The refusal's code when the inquiry could not be made. */
  error: string | undefined;
}

export interface Intake {
  intakeId: string;
  /** The console account that made it: the only one that sees it. */
  accountId: string;
  procedureId: string;
  addresseeNumber: string;
  at: Date;
  inquiries: IntakeInquiry[];
}

export interface IntakeStore {
  insertIntake(intake: Intake): Promise<void>;
  /** The intake if this account made it and it was made at or after `notBefore`; else undefined. */
  findIntake(intakeId: string, accountId: string, notBefore: Date): Promise<Intake | undefined>;
  /** Delete the intakes made before `before`; how many were deleted. */
  purgeIntakes(before: Date): Promise<number>;
}
