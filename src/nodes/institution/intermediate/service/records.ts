/**
 * The institution's provision records (情報提供等の記録), as requester and as provider: listing for its
 * staff, and the retention purge (7 years by default, as the law asks).
 */
import type { InstitutionRecord, ProvisionRecordRole } from '../../../../protocol/business.ts';
import type { Clock } from '../../../../shared/clock.ts';
import type { Logger } from '../../../../shared/logger.ts';
import type { IntermediateStore, ProvisionRecordFilter } from '../store.ts';

export interface RecordServiceDeps {
  store: IntermediateStore;
  clock: Clock;
  logger: Logger;
  /** How long provision records are kept (default 7 years, as the law asks). */
  retentionYears?: number;
}

export class RecordService {
  readonly retentionYears: number;

  constructor(private readonly deps: RecordServiceDeps) {
    this.retentionYears = deps.retentionYears ?? 7;
    if (!Number.isInteger(this.retentionYears) || this.retentionYears < 1) {
      throw new TypeError('retentionYears must be a whole number of at least 1');
    }
  }

  /** This institution's records, newest first; both roles when `role` is absent. */
  async listProvisionRecords(
    role: ProvisionRecordRole | undefined,
    limit: number,
  ): Promise<InstitutionRecord[]> {
    const { store } = this.deps;
    const requester =
      role === 'provider'
        ? []
        : (await store.listRequesterRecords(limit)).map((r) => ({ ...r, role: 'requester' as const }));
    const provider =
      role === 'requester'
        ? []
        : (await store.listProviderRecords(limit)).map((r) => ({ ...r, role: 'provider' as const }));
    const all: InstitutionRecord[] = [...requester, ...provider];
    if (role === undefined) all.sort((a, b) => b.recordedAt.localeCompare(a.recordedAt));
    return all.slice(0, limit);
  }

  /**
   * A page of this institution's records matching the filter (both roles, newest first), and
   * whether there is more: the clerk console's search. `offset` is at most 10,000 (narrow the
   * search past that).
   */
  async searchProvisionRecords(
    filter: ProvisionRecordFilter,
    offset: number,
    limit: number,
  ): Promise<{ records: InstitutionRecord[]; more: boolean }> {
    const { store } = this.deps;
    const want = Math.min(offset, 10_000) + limit + 1;
    const [requester, provider] = await Promise.all([
      store.searchRequesterRecords(filter, want),
      store.searchProviderRecords(filter, want),
    ]);
    const all: InstitutionRecord[] = [
      ...requester.map((r) => ({ ...r, role: 'requester' as const })),
      ...provider.map((r) => ({ ...r, role: 'provider' as const })),
    ].sort(
      (a, b) =>
        b.recordedAt.localeCompare(a.recordedAt) || b.processingNumber.localeCompare(a.processingNumber),
    );
    const start = Math.min(offset, 10_000);
    return { records: all.slice(start, start + limit), more: all.length > start + limit };
  }

  /** Delete records (and received answers) older than the retention period (default 7 years). */
  async purgeProvisionRecords(): Promise<{ before: string; requester: number; provider: number }> {
    const before = this.deps.clock.now();
    before.setUTCFullYear(before.getUTCFullYear() - this.retentionYears);
    const purged = await this.deps.store.purgeRecords(before);
    if (purged.requester + purged.provider > 0) {
      this.deps.logger.info({ ...purged, before: before.toISOString() }, 'provision records purged');
    }
    return { before: before.toISOString(), ...purged };
  }
}
