import { z } from 'zod';
import { assertDigits, checkDigitError, groupDigits, readDigits, type DigitFormat } from './digit-input.ts';
import { randomDigits, secureRandom, type RandomSource } from './random-source.ts';

/**
 * A resident record code (住民票コード): 10 random digits and a check digit, 11 in all, kept by J-LIS;
 * the Individual Number is derived from it. The brand means "check digit verified".
 *
 * The official check-digit formula is not published. We chose the Individual Number's own scheme,
 * modulus 11 with weights 2,3,4,5,6,7 cycling from the rightmost base digit (the Individual Number's
 * weights 6,5,4,3,2,7,6,5,4,3,2 are exactly that cycle read from the left): r = Σ mod 11, check 0
 * when r ≤ 1, else 11 − r. It catches every single-digit error and every swap of adjacent digits. We
 * considered the Luhn scheme, but it misses the 09↔90 swap, and one family of rules for both numbers
 * is simpler to explain. Codes from a real 住基ネット would need the real formula here.
 */
export type ResidentRecordCode = string & { readonly __brand: 'ResidentRecordCode' };

/** The wire form: exactly 11 ASCII digits with a valid check digit. */
export const ResidentRecordCode = z
  .string()
  .regex(/^[0-9]{11}$/, { message: 'must be 11 digits', abort: true })
  .refine(hasValidCheckDigit, 'has a check digit that does not match its other digits')
  .transform((value) => value as ResidentRecordCode);

const FORMAT: DigitFormat = { label: 'A resident record code', length: 11 };

/** The check digit of a 10-digit base, by the scheme chosen above. */
export function residentRecordCodeCheckDigit(base: string): number {
  assertDigits(base, 10, 'a resident record code base');
  let sum = 0;
  for (let n = 1; n <= 10; n++) sum += Number(base[10 - n]) * (((n - 1) % 6) + 2);
  const r = sum % 11;
  return r <= 1 ? 0 : 11 - r;
}

function hasValidCheckDigit(digits: string): boolean {
  return residentRecordCodeCheckDigit(digits.slice(0, 10)) === Number(digits[10]);
}

/**
 * Read a resident record code as a person types it. Throws `RenkeiError` `ERR_INVALID_CHARACTER`,
 * `ERR_INVALID_LENGTH` or `ERR_INVALID_CHECK_DIGIT`.
 */
export function parseResidentRecordCode(input: string): ResidentRecordCode {
  const digits = readDigits(input, FORMAT);
  if (!hasValidCheckDigit(digits)) throw checkDigitError(FORMAT);
  return digits as ResidentRecordCode;
}

/** True for the canonical form (11 ASCII digits, valid check digit); no normalisation. */
export function isResidentRecordCode(value: unknown): value is ResidentRecordCode {
  return typeof value === 'string' && /^[0-9]{11}$/.test(value) && hasValidCheckDigit(value);
}

/** `1234 5678 901`: fours, as the Individual Number is printed, for reading aloud over the phone. */
export function formatResidentRecordCode(code: ResidentRecordCode): string {
  return groupDigits(code, [4, 4, 3]);
}

/** A fresh code: 10 random digits and the check digit. J-LIS checks it is unused before assigning it. */
export function generateResidentRecordCode(random: RandomSource = secureRandom): ResidentRecordCode {
  const base = randomDigits(10, random);
  return `${base}${residentRecordCodeCheckDigit(base)}` as ResidentRecordCode;
}
