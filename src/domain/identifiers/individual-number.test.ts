import { describe, expect, it } from 'vitest';
import { RenkeiError } from '../../shared/errors.ts';
import {
  IndividualNumber,
  completeIndividualNumber,
  formatIndividualNumber,
  generateIndividualNumber,
  individualNumberCheckDigit,
  isIndividualNumber,
  parseIndividualNumber,
} from './individual-number.ts';
import { seededRandom } from './random-source.ts';

function errorOf(run: () => unknown): RenkeiError {
  try {
    run();
  } catch (error) {
    if (error instanceof RenkeiError) return error;
    throw error;
  }
  throw new Error('expected a RenkeiError');
}

describe('Individual Number', () => {
  it('computes the check digit of the ordinance example: 12345678901 → 8', () => {
    expect(individualNumberCheckDigit('12345678901')).toBe(8);
    expect(completeIndividualNumber('12345678901')).toBe('123456789018');
  });

  it('gives check digit 0 when the remainder is 0 or 1', () => {
    // 00000000000: sum 0, r = 0. 00000000006: sum 12, r = 1.
    expect(individualNumberCheckDigit('00000000000')).toBe(0);
    expect(individualNumberCheckDigit('00000000006')).toBe(0);
  });

  it('accepts what a person types: full-width digits, spaces and hyphens of any width', () => {
    for (const typed of [
      '123456789018',
      '1234 5678 9018',
      '1234-5678-9018',
      '１２３４　５６７８　９０１８',
      '１２３４－５６７８－９０１８',
      ' 1234ー5678ー9018 ',
    ]) {
      expect(parseIndividualNumber(typed)).toBe('123456789018');
    }
  });

  it('refuses a wrong check digit without echoing the number', () => {
    const error = errorOf(() => parseIndividualNumber('123456789017'));
    expect(error.code).toBe('ERR_INVALID_CHECK_DIGIT');
    expect(error.message).not.toMatch(/[0-9]{4}/);
    expect(JSON.stringify(error.toJSON())).not.toContain('12345678901');
  });

  it('detects every single mistyped digit', () => {
    const valid = '123456789018';
    for (let i = 0; i < 12; i++) {
      for (let d = 0; d <= 9; d++) {
        if (String(d) === valid[i]) continue;
        const typo = `${valid.slice(0, i)}${d}${valid.slice(i + 1)}`;
        expect(isIndividualNumber(typo), typo).toBe(false);
      }
    }
  });

  it('says how many digits there are when the length is wrong', () => {
    const error = errorOf(() => parseIndividualNumber('12345678901'));
    expect(error.code).toBe('ERR_INVALID_LENGTH');
    expect(error.message).toBe('An Individual Number has 12 digits; this has 11.');
    expect(error.details).toEqual({ expected: 12, actual: 11 });
  });

  it('names the position of a character that is not a digit, not the character', () => {
    const error = errorOf(() => parseIndividualNumber('1234x5678901'));
    expect(error.code).toBe('ERR_INVALID_CHARACTER');
    expect(error.message).toBe('Character 5 is not a digit.');
    expect(error.details).toEqual({ position: 5 });
  });

  it('formats as printed on the card', () => {
    expect(formatIndividualNumber(parseIndividualNumber('123456789018'))).toBe('1234 5678 9018');
  });

  it('generates valid numbers, reproducibly from a seeded source', () => {
    const first = Array.from({ length: 50 }, (_, i) => generateIndividualNumber(seededRandom(i + 1)));
    const again = Array.from({ length: 50 }, (_, i) => generateIndividualNumber(seededRandom(i + 1)));
    expect(first).toEqual(again);
    expect(new Set(first).size).toBe(50);
    for (const number of first) expect(isIndividualNumber(number)).toBe(true);
    expect(isIndividualNumber(generateIndividualNumber())).toBe(true);
  });

  it('has a strict wire schema that refuses typed forms and wrong check digits', () => {
    expect(IndividualNumber.parse('123456789018')).toBe('123456789018');
    expect(IndividualNumber.safeParse('1234 5678 9018').success).toBe(false);
    const wrong = IndividualNumber.safeParse('123456789017');
    expect(wrong.success).toBe(false);
    expect(JSON.stringify(wrong.error?.issues)).not.toContain('123456789017');
  });

  it('treats a malformed base as a programming mistake', () => {
    expect(() => individualNumberCheckDigit('1234')).toThrow(TypeError);
  });
});
