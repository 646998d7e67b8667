import { describe, expect, it } from 'vitest';
import {
  LocalGovernmentCode,
  completeLocalGovernmentCode,
  generateLocalGovernmentCode,
  isLocalGovernmentCode,
  localGovernmentCodeCheckDigit,
  parseLocalGovernmentCode,
} from './local-government-code.ts';
import { seededRandom } from './random-source.ts';

describe('local-government code', () => {
  it('validates real codes', () => {
    // 千代田区, 新宿区, 三条市, 横浜市, 大阪市, 東京都, 札幌市
    for (const code of ['131016', '131041', '152048', '141003', '271004', '130001', '011002']) {
      expect(isLocalGovernmentCode(code), code).toBe(true);
    }
  });

  it('completes the 5-digit form with its check digit', () => {
    expect(localGovernmentCodeCheckDigit('13101')).toBe(6);
    expect(completeLocalGovernmentCode('13104')).toBe('131041'); // (11 − 0) mod 10 = 1
  });

  it('accepts full-width digits and refuses a wrong check digit', () => {
    expect(parseLocalGovernmentCode('１３１０１６')).toBe('131016');
    expect(() => parseLocalGovernmentCode('131017')).toThrow(/check digit/);
    expect(() => parseLocalGovernmentCode('13101')).toThrow(
      'A local-government code has 6 digits; this has 5.',
    );
  });

  it('generates valid codes with a real prefecture number', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const code = generateLocalGovernmentCode(seededRandom(seed));
      expect(LocalGovernmentCode.safeParse(code).success).toBe(true);
      const prefecture = Number(code.slice(0, 2));
      expect(prefecture).toBeGreaterThanOrEqual(1);
      expect(prefecture).toBeLessThanOrEqual(47);
    }
  });
});
