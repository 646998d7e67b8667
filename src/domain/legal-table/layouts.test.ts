/**
 * Data standard layouts (データ標準レイアウト) by date: an answer is validated against the layout
 * version in force on the inquiry's date, and a problem never repeats the value it rejected.
 */
import { describe, expect, it } from 'vitest';
import { loadLegalTable } from './index.ts';

const table = loadLegalTable();
const OLD_DAY = new Date('2019-01-01T03:00:00Z');
const NOW = new Date('2026-04-01T03:00:00Z');

/** Item [2] 地方税関係情報 as layout 2017.07 has it: no 均等割額 (perCapitaLevy). */
const taxRecord2017 = {
  taxYear: 2018,
  totalIncome: 3_900_000,
  taxableIncome: 2_400_000,
  municipalTax: 144_000,
  prefecturalTax: 96_000,
  dependents: 1,
  nonTaxable: false,
};
const taxRecord2020 = { ...taxRecord2017, taxYear: 2025, perCapitaLevy: 5_000 };

describe('layout versions by date', () => {
  it('finds the version of item [2] in force on each side of 2020-06-08 (JST)', () => {
    expect(table.layoutFor(2, OLD_DAY)?.version).toBe('2017.07');
    expect(table.layoutFor(2, new Date('2020-06-07T14:59:59Z'))?.version).toBe('2017.07');
    expect(table.layoutFor(2, new Date('2020-06-07T15:00:00Z'))?.version).toBe('2020.06');
    expect(table.layoutFor(2, NOW)?.version).toBe('2020.06');
  });

  it('accepts a 2017.07 record on 2019-01-01 and refuses it today for want of perCapitaLevy', () => {
    expect(table.checkLayout(2, OLD_DAY, taxRecord2017)).toEqual({ ok: true, version: '2017.07' });
    const today = table.checkLayout(2, NOW, taxRecord2017);
    expect(today.ok).toBe(false);
    expect(today.version).toBe('2020.06');
    if (!today.ok) expect(today.problems.join('\n')).toContain('perCapitaLevy');
  });

  it('accepts a 2020.06 record today and refuses it on 2019-01-01 for its extra perCapitaLevy', () => {
    expect(table.checkLayout(2, NOW, taxRecord2020)).toEqual({ ok: true, version: '2020.06' });
    const before = table.checkLayout(2, OLD_DAY, taxRecord2020);
    expect(before.ok).toBe(false);
    if (!before.ok) expect(before.problems.join('\n')).toContain('perCapitaLevy');
  });

  it('rejects a field the layout does not define', () => {
    const check = table.checkLayout(2, NOW, { ...taxRecord2020, bankAccount: '0001234' });
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.problems.join('\n')).toContain('bankAccount');
  });

  it('says so when an item has no layout in force on the date', () => {
    const check = table.checkLayout(2, new Date('2016-01-01T03:00:00Z'), taxRecord2017);
    expect(check).toEqual({ ok: false, problems: ['item 2 has no data layout in force on 2016-01-01'] });
    expect(table.layoutFor(998, NOW)).toBeUndefined();
  });

  it('validates every layout example of legal/items.yaml against its own version', () => {
    for (const item of table.items) {
      for (const layout of item.layouts) {
        const on = new Date(`${layout.effectiveFrom}T00:00:00+09:00`);
        expect(
          table.checkLayout(item.itemNo, on, layout.example),
          `item ${item.itemNo} ${layout.version}`,
        ).toEqual({
          ok: true,
          version: layout.version,
        });
      }
    }
  });
});

describe('layout problems never repeat personal data', () => {
  const SECRET = '山田花子-ZX9-SECRET';

  it.each([
    ['a string where a number belongs', { ...taxRecord2020, totalIncome: SECRET }],
    ['a string where a boolean belongs', { ...taxRecord2020, nonTaxable: SECRET }],
    ['an unknown field holding a value', { ...taxRecord2020, note: SECRET }],
  ])('does not echo the value of %s', (_, record) => {
    const check = table.checkLayout(2, NOW, record);
    expect(check.ok).toBe(false);
    if (!check.ok) {
      expect(check.problems.length).toBeGreaterThan(0);
      expect(check.problems.join('\n')).not.toContain('SECRET');
      expect(check.problems.join('\n')).not.toContain('山田');
    }
  });

  it('does not echo a value that breaks an enum, a date or a length', () => {
    const record = {
      relationshipToHead: `${SECRET}${'x'.repeat(30)}`,
      householdMembers: 3,
      moveInDate: SECRET,
      residenceStatus: SECRET,
    };
    const check = table.checkLayout(1, NOW, record);
    expect(check.ok).toBe(false);
    if (!check.ok) {
      expect(check.problems).toHaveLength(3);
      expect(check.problems.join('\n')).not.toContain('SECRET');
    }
  });
});
