import { z } from 'zod';
import { assertDigits, checkDigitError, groupDigits, readDigits, type DigitFormat } from './digit-input.ts';
import { randomDigits, secureRandom, type RandomSource } from './random-source.ts';

/**
 * A Corporate Number (法人番号): a check digit FIRST, then a 12-digit base, 13 digits in all. Public
 * by law (anyone may use it), unlike the Individual Number. The brand means "check digit verified".
 */
export type CorporateNumber = string & { readonly __brand: 'CorporateNumber' };

/** The wire form: exactly 13 ASCII digits with a valid check digit. */
export const CorporateNumber = z
  .string()
  .regex(/^[0-9]{13}$/, { message: 'must be 13 digits', abort: true })
  .refine(hasValidCheckDigit, 'has a check digit that does not match its other digits')
  .transform((value) => value as CorporateNumber);

const FORMAT: DigitFormat = { label: 'A Corporate Number', length: 13 };

/**
 * The check digit of a 12-digit base: 9 − (Σ Pn·Qn mod 9), Pn the
 * n-th digit counted from the right, Qn 1 for odd n and 2 for even n. 国税庁's base `000012050002` → 7.
 */
export function corporateNumberCheckDigit(base: string): number {
  assertDigits(base, 12, 'a Corporate Number base');
  let sum = 0;
  for (let n = 1; n <= 12; n++) sum += Number(base[12 - n]) * (n % 2 === 1 ? 1 : 2);
  return 9 - (sum % 9);
}

function hasValidCheckDigit(digits: string): boolean {
  return corporateNumberCheckDigit(digits.slice(1)) === Number(digits[0]);
}

/**
 * Read a Corporate Number as a person types it (full-width digits, spaces and hyphens allowed).
 * Throws `RenkeiError` `ERR_INVALID_CHARACTER`, `ERR_INVALID_LENGTH` or `ERR_INVALID_CHECK_DIGIT`.
 */
export function parseCorporateNumber(input: string): CorporateNumber {
  const digits = readDigits(input, FORMAT);
  if (!hasValidCheckDigit(digits)) throw checkDigitError(FORMAT);
  return digits as CorporateNumber;
}

/** True for the canonical form (13 ASCII digits, valid check digit); no normalisation. */
export function isCorporateNumber(value: unknown): value is CorporateNumber {
  return typeof value === 'string' && /^[0-9]{13}$/.test(value) && hasValidCheckDigit(value);
}

/** The 12-digit base with its check digit put in front. */
export function completeCorporateNumber(base: string): CorporateNumber {
  return `${corporateNumberCheckDigit(base)}${base}` as CorporateNumber;
}

/** The check digit apart, then the base in fours: `7 0000 1205 0002`. */
export function formatCorporateNumber(number: CorporateNumber): string {
  return groupDigits(number, [1, 4, 4, 4]);
}

/** A random valid Corporate Number, for test data (it may be a real corporation's number). */
export function generateCorporateNumber(random: RandomSource = secureRandom): CorporateNumber {
  return completeCorporateNumber(randomDigits(12, random));
}
