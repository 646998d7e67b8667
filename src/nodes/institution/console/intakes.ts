/**
 * The intakes (受付) a clerk made at the console: which procedure, which applicant (by addressee
 * number), which inquiries. Kept in the intermediate server's database (intake-store.ts) for the
 * working day (8 hours by default, or the console's configured period), so that a node restart in the
 * middle of the day leaves every clerk's sheets where they were; the sheet is printed or saved within
 * that time, and the inquiries themselves are provision records for 7 years (the 提供記録 page).
 * Only the account that made an intake sees it. Sheets older than the period are never shown, and are
 * deleted when the console starts and whenever an intake is made.
 *
 * We considered keeping them in memory (as before: a restart lost them) and keeping them as long as
 * the records (7 years: the sheet would then be a second, unaudited copy of the provision records).
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../../shared/clock.ts';
import type { Intake, IntakeStore } from './intake-store.ts';

export type { Intake, IntakeInquiry } from './intake-store.ts';

export const DEFAULT_INTAKE_HOURS = 8;

export class IntakeBook {
  private readonly keepMs: number;

  constructor(
    private readonly store: IntakeStore,
    private readonly clock: Clock,
    keepHours = DEFAULT_INTAKE_HOURS,
  ) {
    if (!(keepHours > 0)) throw new TypeError('An intake is kept for a positive number of hours.');
    this.keepMs = keepHours * 3600_000;
  }

  async add(intake: Omit<Intake, 'intakeId' | 'at'>): Promise<Intake> {
    await this.purge();
    const made: Intake = { ...intake, intakeId: randomUUID(), at: this.clock.now() };
    await this.store.insertIntake(made);
    return made;
  }

  /** The account's intake, if it made it and it is still kept. */
  find(intakeId: string, accountId: string): Promise<Intake | undefined> {
    return this.store.findIntake(intakeId, accountId, this.cutoff());
  }

  /** Delete the intakes past the period; how many. */
  purge(): Promise<number> {
    return this.store.purgeIntakes(this.cutoff());
  }

  private cutoff(): Date {
    return new Date(this.clock.now().getTime() - this.keepMs);
  }
}
