/**
 * Provision records (情報提供等の記録) for the operator, their retention, and statistics.
 *
 * Statistics count what the seeds count: provisions (提供件数, outcome `provided`), with what was not
 * held, refused, failed or is pending beside them, never mixed in. Each breakdown is one GROUP BY in
 * the store; names come from the legal table and the kinds from the registry's rows (joined in SQL).
 * Periods are JST calendar days, inclusive; a week runs Monday to Sunday in JST.
 *
 * Retention: records are kept `retentionYears` (7 by law's practice, BRIEF.md) counted from the
 * request, then purged together with the inquiry's operational row.
 */
import type { LegalTableInForce } from './legal-versions.ts';
import type { InstitutionKind } from '../../../protocol/identifiers.ts';
import type {
  Statistics,
  StatisticsBreakdown,
  StatisticsQuery,
  StatisticsRow,
} from '../../../protocol/admin.ts';
import { addDays, jstDayStart, type Clock } from '../../../shared/clock.ts';
import type { ProvisionRecord, ProvisionRecordFilter, StatisticsCount } from '../model.ts';
import type { CoreStore } from '../store.ts';

export const DEFAULT_RETENTION_YEARS = 7;

export interface RecordServiceOptions {
  store: CoreStore;
  clock: Clock;
  retentionYears?: number;
  /** For the names of procedures, items and clauses in the statistics (the version in force today). */
  legalTables?: LegalTableInForce;
}

/** Japanese names of the institution kinds, as the seeds and the registry's operators say them. */
export const INSTITUTION_KIND_NAMES: Record<InstitutionKind | 'unknown', string> = {
  municipality: '市区町村',
  prefecture: '都道府県',
  prefectural_board_of_education: '教育委員会（都道府県）',
  municipal_board_of_education: '教育委員会（市区町村）',
  pension_service: '日本年金機構',
  tax_agency: '国税庁',
  health_insurer: '医療保険者',
  public_employment_security: '公共職業安定所',
  student_support: '日本学生支援機構',
  mutual_aid_association: '共済組合',
  portal: 'マイナポータル',
  unknown: '（登録簿にない機関）',
};

/** The same kinds in English, for the consoles in English (the statistics' own names stay Japanese). */
export const INSTITUTION_KIND_NAMES_EN: Record<InstitutionKind | 'unknown', string> = {
  municipality: 'Municipality',
  prefecture: 'Prefecture',
  prefectural_board_of_education: 'Board of education (prefecture)',
  municipal_board_of_education: 'Board of education (municipality)',
  pension_service: 'Japan Pension Service',
  tax_agency: 'National Tax Agency',
  health_insurer: 'Health insurer',
  public_employment_security: 'Public Employment Security Office',
  student_support: 'Japan Student Services Organization',
  mutual_aid_association: 'Mutual aid association',
  portal: 'Myna Portal',
  unknown: '(an institution not in the registry)',
};

/** An institution kind's name in a language. */
export function institutionKindName(kind: InstitutionKind | 'unknown', lang: 'ja' | 'en'): string {
  return (lang === 'en' ? INSTITUTION_KIND_NAMES_EN : INSTITUTION_KIND_NAMES)[kind];
}

const numeric = new Intl.Collator('en', { numeric: true });

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

  /**
   * The statistics of a period (JST days `from`..`to`, inclusive, either open), with the breakdowns
   * asked for (every one when none is), each from one GROUP BY query. Weeks are every week of the
   * period (the first and last record's when open), empty ones included, so that a chart has no gaps.
   */
  async statistics(query: Omit<StatisticsQuery, 'format'>): Promise<Statistics> {
    const range = {
      ...(query.from === undefined ? {} : { from: jstDayStart(query.from) }),
      ...(query.to === undefined ? {} : { to: jstDayStart(query.to, 1) }),
    };
    const breakdowns = [...new Set(query.by ?? STATISTICS_BREAKDOWN_ORDER)];
    const [totals, ...grouped] = await Promise.all([
      this.options.store.countRecords(range),
      ...breakdowns.map((by) => this.options.store.countRecords(range, by)),
    ]);
    const byOutcome = { pending: 0, provided: 0, not_held: 0, refused: 0, failed: 0 };
    for (const count of totals ?? []) byOutcome[count.outcome] += count.count;
    const total = Object.values(byOutcome).reduce((sum, n) => sum + n, 0);
    return {
      period: { from: query.from ?? null, to: query.to ?? null, timeZone: 'Asia/Tokyo' },
      total,
      provisions: byOutcome.provided,
      byOutcome,
      breakdowns: breakdowns.map((by, i) => ({ by, rows: this.rows(by, grouped[i] ?? [], query) })),
    };
  }

  private rows(by: StatisticsBreakdown, counts: StatisticsCount[], period: { from?: string; to?: string }) {
    const rows = new Map<string, StatisticsRow>();
    const row = (key: string) => {
      let found = rows.get(key);
      if (!found) {
        found = {
          key,
          name: this.nameOf(by, key),
          provisions: 0,
          notHeld: 0,
          refused: 0,
          failed: 0,
          pending: 0,
          total: 0,
        };
        rows.set(key, found);
      }
      return found;
    };
    for (const { key, outcome, count } of counts) {
      const r = row(key);
      r[OUTCOME_FIELD[outcome]] += count;
      r.total += count;
    }
    if (by === 'week') {
      const weeks = [...rows.keys()].sort();
      const first = period.from === undefined ? weeks[0] : mondayOf(period.from);
      const last = period.to === undefined ? weeks.at(-1) : mondayOf(period.to);
      if (first !== undefined && last !== undefined) for (let w = first; w <= last; w = addDays(w, 7)) row(w);
      return [...rows.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    }
    // Numeric order for clauses and items ("48" before "108"), the procedure id's own for procedures.
    return [...rows.values()].sort((a, b) => numeric.compare(a.key, b.key));
  }

  private nameOf(by: StatisticsBreakdown, key: string): string | null {
    const table = this.options.legalTables?.tableOn(this.options.clock.now());
    switch (by) {
      case 'week':
        return `${key}〜${addDays(key, 6)}`;
      case 'procedure':
        return table?.procedures.find((p) => p.procedureId === key)?.name ?? null;
      case 'item':
        return table?.items.find((item) => String(item.itemNo) === key)?.name ?? null;
      case 'clause':
        return table?.clauses.find((c) => c.clauseNo === key)?.business ?? null;
      case 'requester-kind':
      case 'provider-kind':
        return Object.hasOwn(INSTITUTION_KIND_NAMES, key)
          ? INSTITUTION_KIND_NAMES[key as keyof typeof INSTITUTION_KIND_NAMES]
          : null;
    }
  }
}

const STATISTICS_BREAKDOWN_ORDER: readonly StatisticsBreakdown[] = [
  'week',
  'procedure',
  'item',
  'clause',
  'requester-kind',
  'provider-kind',
];

const OUTCOME_FIELD = {
  provided: 'provisions',
  not_held: 'notHeld',
  refused: 'refused',
  failed: 'failed',
  pending: 'pending',
} as const;

/** The Monday of a calendar day's week. */
function mondayOf(day: string): string {
  const weekday = new Date(`${day}T00:00:00Z`).getUTCDay(); // 0 = Sunday
  return addDays(day, -((weekday + 6) % 7));
}
