import { describe, expect, it } from 'vitest';
import { seededRandom } from './random-source.ts';
import {
  ResidentRecordCode,
  formatResidentRecordCode,
  generateResidentRecordCode,
  isResidentRecordCode,
  parseResidentRecordCode,
  residentRecordCodeCheckDigit,
} from './resident-record-code.ts';

describe('resident record code', () => {
  it('uses modulus 11 with weights 2..7 cycling from the right', () => {
    // 1234567890: from the right 0·2 + 9·3 + 8·4 + 7·5 + 6·6 + 5·7 + 4·2 + 3·3 + 2·4 + 1·5 = 195; 195 mod 11 = 8.
    expect(residentRecordCodeCheckDigit('1234567890')).toBe(3);
    expect(isResidentRecordCode('12345678903')).toBe(true);
  });

  it('detects every single mistyped digit and every swap of adjacent digits', () => {
    const valid = '12345678903';
    for (let i = 0; i < 11; i++) {
      for (let d = 0; d <= 9; d++) {
        if (String(d) !== valid[i])
          expect(isResidentRecordCode(`${valid.slice(0, i)}${d}${valid.slice(i + 1)}`)).toBe(false);
      }
      if (i < 10 && valid[i] !== valid[i + 1]) {
        const swapped = `${valid.slice(0, i)}${valid[i + 1]}${valid[i]}${valid.slice(i + 2)}`;
        expect(isResidentRecordCode(swapped)).toBe(false);
      }
    }
  });

  it('accepts typed forms and refuses a wrong length without echoing the code', () => {
    expect(parseResidentRecordCode('１２３４ ５６７８ ９０３')).toBe('12345678903');
    expect(() => parseResidentRecordCode('1234567890')).toThrow(
      'A resident record code has 11 digits; this has 10.',
    );
    expect(() => parseResidentRecordCode('12345678904')).toThrow(/check digit/);
  });

  it('formats in fours', () => {
    expect(formatResidentRecordCode(parseResidentRecordCode('12345678903'))).toBe('1234 5678 903');
  });

  it('generates valid codes, reproducibly from a seeded source', () => {
    const codes = Array.from({ length: 50 }, (_, i) => generateResidentRecordCode(seededRandom(i + 1)));
    for (const code of codes) expect(ResidentRecordCode.safeParse(code).success).toBe(true);
    expect(generateResidentRecordCode(seededRandom(3))).toBe(generateResidentRecordCode(seededRandom(3)));
  });
});
