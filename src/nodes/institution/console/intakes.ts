/**
 * The intakes (受付) a clerk made at the console: which procedure, which applicant, which inquiries.
 * Kept in memory for the working day (8 hours, at most 5,000): the intake sheet is printed or saved
 * then, and the inquiries themselves are provision records for 7 years (the 提供記録 page). A node
 * restart forgets the sheets, not the records. Only the account that made an intake sees it.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../../shared/clock.ts';

export interface IntakeInquiry {
  providerId: string;
  itemNos: number[];
  processingNumber: string | undefined;
  /** The refusal's code when the inquiry could not be made. */
  error: string | undefined;
}

export interface Intake {
  intakeId: string;
  accountId: string;
  procedureId: string;
  addresseeNumber: string;
  at: Date;
  inquiries: IntakeInquiry[];
}

const KEEP_MS = 8 * 3600_000;
const MAX = 5_000;

export class IntakeBook {
  private readonly intakes = new Map<string, Intake>();

  constructor(private readonly clock: Clock) {}

  add(intake: Omit<Intake, 'intakeId' | 'at'>): Intake {
    this.expire();
    const made: Intake = { ...intake, intakeId: randomUUID(), at: this.clock.now() };
    this.intakes.set(made.intakeId, made);
    while (this.intakes.size > MAX) {
      const oldest = this.intakes.keys().next().value;
      if (oldest === undefined) break;
      this.intakes.delete(oldest);
    }
    return made;
  }

  /** The account's intake, if it made it and it is still kept. */
  find(intakeId: string, accountId: string): Intake | undefined {
    this.expire();
    const intake = this.intakes.get(intakeId);
    return intake?.accountId === accountId ? intake : undefined;
  }

  private expire(): void {
    const before = this.clock.now().getTime() - KEEP_MS;
    for (const [id, intake] of this.intakes) {
      if (intake.at.getTime() >= before) break;
      this.intakes.delete(id);
    }
  }
}
