/**
 * Provision records (情報提供等の記録) for the operator, their retention, and statistics.
 *
 * Retention: records are kept `retentionYears` (7 by law's practice, BRIEF.md) counted from the
 * request, then purged together with the inquiry's operational row.
 */
import type { Clock } from '../../../shared/clock.ts';
import type { ProvisionRecord, ProvisionRecordFilter, Statistics } from '../model.ts';
import type { CoreStore } from '../store.ts';

export const DEFAULT_RETENTION_YEARS = 7;

export interface RecordServiceOptions {
  store: CoreStore;
  clock: Clock;
  retentionYears?: number;
}

export class RecordService {
  readonly retentionYears: number;

  constructor(private readonly options: RecordServiceOptions) {
    this.retentionYears = options.retentionYears ?? DEFAULT_RETENTION_YEARS;
    if (!Number.isInteger(this.retentionYears) || this.retentionYears < 1) {
      throw new TypeError('retentionYears must be a positive integer');
    }
  }

  list(filter: ProvisionRecordFilter): Promise<ProvisionRecord[]> {
    return this.options.store.listProvisionRecords(filter);
  }

  /** The instant before which records are past retention. */
  retentionCutoff(now: Date): Date {
    const cutoff = new Date(now);
    cutoff.setUTCFullYear(cutoff.getUTCFullYear() - this.retentionYears);
    return cutoff;
  }

  /** Delete records requested before `now` minus the retention period; returns how many. */
  async purgeExpiredRecords(now: Date = this.options.clock.now()): Promise<number> {
    return this.options.store.purgeRecordsBefore(this.retentionCutoff(now).toISOString());
  }

  statistics(range: { from?: string; to?: string }): Promise<Statistics> {
    return this.options.store.statistics(range);
  }
}
