/**
 * The oversight console's anomaly rules over a real core's records (SQLite, and PostgreSQL in the
 * storage suites' run), inquiries made over real HTTP at chosen JST times: a day far above the
 * requester's median, inquiries at night and on a listed holiday, refusals repeated within an hour;
 * and nothing for what stays under each rule's threshold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InquiryRequest } from '../../../protocol/messages.ts';
import { startTwoMunicipalities, type TestCore, type TwoMunicipalities } from '../test-support.ts';
import {
  AnomalyRuleOverrides,
  AnomalyService,
  anomalyRules,
  DEFAULT_ANOMALY_RULES,
  holidaysOf,
} from './anomalies.ts';

let net: TwoMunicipalities;
let core: TestCore;

/** JST wall-clock time as the UTC instant the core records. */
const jst = (day: string, time: string) =>
  new Date(Date.parse(`${day}T${time}:00.000Z`) - 9 * 3_600_000).toISOString();

async function inquireAt(at: string, overrides: Partial<InquiryRequest> = {}): Promise<void> {
  core.clock.set(at);
  await core.call('POST', '/v1/inquiries', net.inquiry(overrides));
}

beforeAll(async () => {
  net = await startTwoMunicipalities();
  ({ core } = net);
  // The usual rate: one inquiry a day at 10:00 for the seven days before the period.
  for (let d = 2; d <= 8; d++) await inquireAt(jst(`2025-06-0${d}`, '10:00'));
  // Monday the 9th (a holiday in the rules below): four in the morning.
  for (const t of ['10:00', '10:01', '10:02', '10:03']) await inquireAt(jst('2025-06-09', t));
  // Tuesday the 10th: two in office hours, one at 23:30; 132012 refused three times between 11 and 12
  // (it presents 131016's code).
  await inquireAt(jst('2025-06-10', '10:00'));
  await inquireAt(jst('2025-06-10', '10:30'));
  await inquireAt(jst('2025-06-10', '23:30'));
  for (const t of ['11:00', '11:20', '11:59']) {
    await inquireAt(jst('2025-06-10', t), { requesterId: '132012', providerId: '131016' });
  }
  await core.core.whenIdle();
});

afterAll(async () => {
  await net?.dispose();
});

describe('anomaly rules', () => {
  it('finds a spike over the median, inquiries outside office hours and on a holiday, and repeated refusals, each with its records', async () => {
    const service = new AnomalyService({
      store: core.store,
      registry: core.core.services.registry,
      rules: anomalyRules({
        spike: { factor: 3, baselineDays: 7, minCount: 4 },
        offHours: { holidays: ['2025-06-09'] },
        repeatedRefusals: { threshold: 3 },
      }),
    });
    const found = await service.find({ from: '2025-06-09', to: '2025-06-10' });
    expect(found.map((f) => [f.kind, f.requesterId, f.bucket, f.count, f.baseline])).toEqual([
      ['repeated-refusals', '132012', '2025-06-10T11', 3, undefined],
      ['off-hours', '131016', '2025-06-10', 1, undefined],
      ['spike', '131016', '2025-06-09', 4, 1],
      ['off-hours', '131016', '2025-06-09', 4, undefined],
    ]);
    expect(found[0]?.search).toEqual({
      from: '2025-06-10',
      to: '2025-06-10',
      requesterId: '132012',
      outcome: 'refused',
    });
    // The search each links to holds the records behind it.
    const behind = await core.store.listProvisionRecords({
      from: jst('2025-06-10', '00:00'),
      to: jst('2025-06-11', '00:00'),
      requesterId: '132012',
      outcome: 'refused',
      limit: 10,
    });
    expect(behind).toHaveLength(3);
  });

  it('finds nothing under the thresholds: one refusal short, a count at the median, a weekday in office hours', async () => {
    const service = new AnomalyService({
      store: core.store,
      registry: core.core.services.registry,
      rules: anomalyRules({
        spike: { factor: 3, baselineDays: 7, minCount: 5 },
        repeatedRefusals: { threshold: 4 },
      }),
    });
    // The 9th is a weekday here (no holiday listed), its inquiries in office hours; 4 < minCount 5.
    expect(await service.find({ from: '2025-06-09', to: '2025-06-09' })).toEqual([]);
    // Hour buckets: the 9th's 10 o'clock against the 10 o'clocks before it (1 each) is a spike.
    const hourly = new AnomalyService({
      store: core.store,
      registry: core.core.services.registry,
      rules: anomalyRules({ spike: { bucket: 'hour', factor: 3, baselineDays: 7, minCount: 4 } }),
    });
    const spikes = (await hourly.find({ from: '2025-06-09', to: '2025-06-09' })).filter(
      (f) => f.kind === 'spike',
    );
    expect(spikes.map((f) => [f.bucket, f.count, f.baseline])).toEqual([['2025-06-09T10', 4, 1]]);
  });

  it('counts the weekend as outside office hours by default, takes a config’s fields over the defaults, and refuses rules that are not rules', () => {
    expect(DEFAULT_ANOMALY_RULES.offHours.weekends).toBe(true);
    expect(() => anomalyRules({ spike: { factor: -1 } })).toThrow(TypeError);
    expect(() => anomalyRules({ offHours: { holidays: ['June 9'] } })).toThrow(TypeError);
    // What a core's config file may set (`console.anomalyRules`): any field, no unknown one.
    const configured = AnomalyRuleOverrides.parse({ offHours: { startHour: 9, holidays: ['2025-07-21'] } });
    expect(anomalyRules(configured).offHours).toEqual({
      ...DEFAULT_ANOMALY_RULES.offHours,
      startHour: 9,
      holidays: ['2025-07-21'],
    });
    expect(AnomalyRuleOverrides.safeParse({ spike: { treshold: 3 } }).success).toBe(false);
  });

  it('counts Japan’s national holidays as outside office hours by default (海の日, a Monday), unless the rules say not', async () => {
    const marineDay = '2025-07-21';
    await inquireAt(jst(marineDay, '10:00'));
    await core.core.whenIdle();
    const service = new AnomalyService({ store: core.store, registry: core.core.services.registry });
    expect(DEFAULT_ANOMALY_RULES.offHours.nationalHolidays).toBe(true);
    const found = await service.find({ from: marineDay, to: marineDay });
    expect(found.map((f) => [f.kind, f.bucket, f.count])).toEqual([['off-hours', marineDay, 1]]);
    const without = new AnomalyService({
      store: core.store,
      registry: core.core.services.registry,
      rules: anomalyRules({ offHours: { nationalHolidays: false } }),
    });
    expect(await without.find({ from: marineDay, to: marineDay })).toEqual([]);
    expect(holidaysOf(DEFAULT_ANOMALY_RULES.offHours, { from: '2026-05-01', to: '2026-05-10' })).toEqual([
      '2026-05-03',
      '2026-05-04',
      '2026-05-05',
      '2026-05-06',
    ]);
  });

  it('counts the weekend by the JST calendar: Saturday and Sunday at 10:00 JST are outside office hours', async () => {
    const service = new AnomalyService({ store: core.store, registry: core.core.services.registry });
    const found = await service.find({ from: '2025-06-07', to: '2025-06-08' });
    expect(found.map((f) => [f.kind, f.bucket, f.count])).toEqual([
      ['off-hours', '2025-06-08', 1],
      ['off-hours', '2025-06-07', 1],
    ]);
  });
});
