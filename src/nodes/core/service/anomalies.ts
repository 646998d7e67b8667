/**
 * Anomalies for the oversight console (異常の検知): patterns in the core's provision records that the
 * commission should look at, each with the records behind it. Three rules, as data (`AnomalyRules`,
 * defaults `DEFAULT_ANOMALY_RULES`, given to `createCoreConsole` as `anomalyRules`):
 *
 * - **spike** (照会件数の急増): a requester's inquiries in a JST day (or hour) at least `minCount` and
 *   more than `factor` × the median of its counts over the `baselineDays` days before (for hours: the
 *   same hour of those days), days without inquiries counted as 0. Defaults: day, 3×, 28 days, 50.
 * - **off-hours** (時間外の照会): a requester's inquiries on a JST day outside `[startHour, endHour)`
 *   JST, on Saturdays and Sundays (`weekends`), on Japan's national holidays (`nationalHolidays`: 国民の
 *   祝日 and substitute holidays, from @holiday-jp/holiday_jp's calendar, 1970–2050) and on the
 *   `holidays` listed (JST days: the operator's own, such as 年末年始 29 December – 3 January), when
 *   at least `minCount`. Defaults: 8–20, weekends, national holidays, none listed, 1.
 * - **repeated refusals** (拒否の繰り返し): a requester refused at least `threshold` times in one JST
 *   hour (or day). Defaults: hour, 5.
 *
 * Each rule is one GROUP BY over the core's records (`countRequestsByBucket`, `countOutsideHours`: the
 * JST bucket is the dialect's own date arithmetic); only the spike's median is computed here, over a
 * few rows per requester and bucket. We considered sliding windows for refusals, but a fixed JST hour
 * is what one query can group by on both dialects and what an officer reads at a glance.
 */
import holidayJp from '@holiday-jp/holiday_jp';
import { z } from 'zod';
import { addDays, jstDayStart } from '../../../shared/clock.ts';
import type { BucketCount, TimeBucket } from '../model.ts';
import type { CoreStore } from '../store.ts';
import type { Registry } from './registry.ts';

const Bucket = z.enum(['day', 'hour']);
const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);

export const AnomalyRules = z.strictObject({
  spike: z.strictObject({
    bucket: Bucket,
    factor: z.number().positive(),
    baselineDays: z.number().int().min(1).max(366),
    minCount: z.number().int().min(1),
  }),
  offHours: z.strictObject({
    startHour: z.number().int().min(0).max(24),
    endHour: z.number().int().min(0).max(24),
    weekends: z.boolean(),
    nationalHolidays: z.boolean(),
    holidays: z.array(Day).max(1000),
    minCount: z.number().int().min(1),
  }),
  repeatedRefusals: z.strictObject({ bucket: Bucket, threshold: z.number().int().min(1) }),
});
export type AnomalyRules = z.infer<typeof AnomalyRules>;

export const DEFAULT_ANOMALY_RULES: AnomalyRules = {
  spike: { bucket: 'day', factor: 3, baselineDays: 28, minCount: 50 },
  offHours: { startHour: 8, endHour: 20, weekends: true, nationalHolidays: true, holidays: [], minCount: 1 },
  repeatedRefusals: { bucket: 'hour', threshold: 5 },
};

/** What a configuration may set (the core's `console.anomalyRules`): any rule's fields, the rest default. */
export const AnomalyRuleOverrides = z.strictObject({
  spike: AnomalyRules.shape.spike.partial().optional(),
  offHours: AnomalyRules.shape.offHours.partial().optional(),
  repeatedRefusals: AnomalyRules.shape.repeatedRefusals.partial().optional(),
});
export type AnomalyRuleOverrides = z.infer<typeof AnomalyRuleOverrides>;

/** The defaults with what the configuration sets, checked (a TypeError for a rule that is not one). */
export function anomalyRules(overrides: AnomalyRuleOverrides = {}): AnomalyRules {
  const merged = {
    spike: { ...DEFAULT_ANOMALY_RULES.spike, ...overrides.spike },
    offHours: { ...DEFAULT_ANOMALY_RULES.offHours, ...overrides.offHours },
    repeatedRefusals: { ...DEFAULT_ANOMALY_RULES.repeatedRefusals, ...overrides.repeatedRefusals },
  };
  const parsed = AnomalyRules.safeParse(merged);
  if (!parsed.success) throw new TypeError(`anomaly rules: ${parsed.error.message}`);
  return parsed.data;
}

export type AnomalyKind = 'spike' | 'off-hours' | 'repeated-refusals';

export interface Anomaly {
  kind: AnomalyKind;
  requesterId: string;
  requesterName: string | null;
  /** The JST day (`YYYY-MM-DD`) or hour (`YYYY-MM-DDTHH`). */
  bucket: string;
  count: number;
  /** For a spike: the median it is compared with. */
  baseline?: number;
  /** The records search showing the records behind it: the JST day, the requester, the outcome. */
  search: { from: string; to: string; requesterId: string; outcome?: 'refused' };
}

/** The same bucket `days` days earlier (a day, or the same hour of that day). */
function shiftBucket(bucket: string, days: number): string {
  return addDays(bucket.slice(0, 10), days) + bucket.slice(10);
}

/**
 * The JST days from `period.from` to `period.to` that count as holidays under `rule`: the listed ones,
 * and Japan's national holidays when `nationalHolidays`.
 */
export function holidaysOf(
  rule: Pick<AnomalyRules['offHours'], 'nationalHolidays' | 'holidays'>,
  period: { from: string; to: string },
): string[] {
  const days = new Set(rule.holidays.filter((d) => d >= period.from && d <= period.to));
  if (rule.nationalHolidays) {
    for (const day of Object.keys(holidayJp.holidays)) {
      if (day >= period.from && day <= period.to) days.add(day);
    }
  }
  return [...days].sort();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export class AnomalyService {
  readonly rules: AnomalyRules;

  constructor(private readonly options: { store: CoreStore; registry: Registry; rules?: AnomalyRules }) {
    this.rules = options.rules ?? DEFAULT_ANOMALY_RULES;
  }

  /** The anomalies of the JST days `from` to `to` (both inclusive), newest first. */
  async find(period: { from: string; to: string }): Promise<Anomaly[]> {
    const { store, registry } = this.options;
    const { spike, offHours, repeatedRefusals } = this.rules;
    const range = { from: jstDayStart(period.from), to: jstDayStart(period.to, 1) };
    const [volumes, outside, refusals, registered] = await Promise.all([
      store.countRequestsByBucket(
        { from: jstDayStart(period.from, -spike.baselineDays), to: range.to },
        spike.bucket,
      ),
      store.countOutsideHours(range, { ...offHours, holidays: holidaysOf(offHours, period) }),
      store.countRequestsByBucket(range, repeatedRefusals.bucket, 'refused'),
      registry.list(),
    ]);
    const names = new Map(registered.map((i) => [i.id, i.name]));
    const anomaly = (kind: AnomalyKind, c: BucketCount, extra: Partial<Anomaly> = {}): Anomaly => {
      const day = c.bucket.slice(0, 10);
      return {
        kind,
        requesterId: c.requesterId,
        requesterName: names.get(c.requesterId) ?? null,
        bucket: c.bucket,
        count: c.count,
        search: {
          from: day,
          to: day,
          requesterId: c.requesterId,
          ...(kind === 'repeated-refusals' ? { outcome: 'refused' as const } : {}),
        },
        ...extra,
      };
    };
    const found: Anomaly[] = [
      ...this.spikes(volumes, spike, period.from).map(([c, baseline]) => anomaly('spike', c, { baseline })),
      ...outside.filter((c) => c.count >= offHours.minCount).map((c) => anomaly('off-hours', c)),
      ...refusals
        .filter((c) => c.count >= repeatedRefusals.threshold)
        .map((c) => anomaly('repeated-refusals', c)),
    ];
    return found.sort(
      (a, b) =>
        b.bucket.localeCompare(a.bucket) || b.count - a.count || a.requesterId.localeCompare(b.requesterId),
    );
  }

  private spikes(
    counts: BucketCount[],
    rule: AnomalyRules['spike'] & { bucket: TimeBucket },
    firstDay: string,
  ): [BucketCount, number][] {
    const byRequester = new Map<string, Map<string, number>>();
    for (const c of counts) {
      const buckets = byRequester.get(c.requesterId) ?? new Map<string, number>();
      buckets.set(c.bucket, c.count);
      byRequester.set(c.requesterId, buckets);
    }
    const out: [BucketCount, number][] = [];
    for (const c of counts) {
      if (c.bucket.slice(0, 10) < firstDay || c.count < rule.minCount) continue;
      const buckets = byRequester.get(c.requesterId);
      const before = Array.from(
        { length: rule.baselineDays },
        (_, i) => buckets?.get(shiftBucket(c.bucket, -(i + 1))) ?? 0,
      );
      const baseline = median(before);
      if (c.count > rule.factor * baseline) out.push([c, baseline]);
    }
    return out;
  }
}
