import { describe, expect, it } from 'vitest';
import { RenkeiError } from '../../shared/errors.ts';
import {
  CorporateNumber,
  completeCorporateNumber,
  corporateNumberCheckDigit,
  formatCorporateNumber,
  generateCorporateNumber,
  isCorporateNumber,
  parseCorporateNumber,
} from './corporate-number.ts';
import { seededRandom } from './random-source.ts';

describe('Corporate Number', () => {
  it('computes the check digit of real numbers, in front of the base', () => {
    expect(corporateNumberCheckDigit('000012050002')).toBe(7); // 国税庁
    expect(completeCorporateNumber('000012050002')).toBe('7000012050002');
    expect(isCorporateNumber('4000012090001')).toBe(true); // 経済産業省
    expect(isCorporateNumber('2000012010019')).toBe(true); // 内閣官房
    // Published on the NTA's site: a registered company's number is its 会社法人等番号 with the check
    // digit in front; a local government's is 000020 and its local-government code.
    expect(isCorporateNumber('1180301018771')).toBe(true); // トヨタ自動車株式会社
    expect(isCorporateNumber('5010001008846')).toBe(true); // 株式会社三菱ＵＦＪ銀行
    expect(completeCorporateNumber('000020130001')).toBe('8000020130001'); // 東京都
    // A number quoted on the web for a real company that fails its check digit: a mistyped copy.
    expect(isCorporateNumber('7010401067252')).toBe(false);
  });

  it('accepts what a person types: full-width digits, spaces and hyphens', () => {
    for (const typed of [
      '7000012050002',
      '7 0000 1205 0002',
      '7-0000-1205-0002',
      '７０００　０１２０　５０００２',
    ]) {
      expect(parseCorporateNumber(typed)).toBe('7000012050002');
    }
  });

  it('refuses a wrong check digit without echoing the number', () => {
    let error: unknown;
    try {
      parseCorporateNumber('8000012050002');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RenkeiError);
    expect((error as RenkeiError).code).toBe('ERR_INVALID_CHECK_DIGIT');
    expect((error as RenkeiError).message).not.toContain('12050002');
  });

  it('says how many digits a Corporate Number has', () => {
    expect(() => parseCorporateNumber('700001205000')).toThrow(
      'A Corporate Number has 13 digits; this has 12.',
    );
  });

  it('formats with the check digit apart and the base in fours', () => {
    expect(formatCorporateNumber(parseCorporateNumber('7000012050002'))).toBe('7 0000 1205 0002');
  });

  it('generates valid numbers, reproducibly from a seeded source', () => {
    const numbers = Array.from({ length: 50 }, (_, i) => generateCorporateNumber(seededRandom(i + 100)));
    for (const number of numbers) expect(CorporateNumber.safeParse(number).success).toBe(true);
    expect(generateCorporateNumber(seededRandom(7))).toBe(generateCorporateNumber(seededRandom(7)));
  });
});
