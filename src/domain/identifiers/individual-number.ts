import { z } from 'zod';
import { assertDigits, checkDigitError, groupDigits, readDigits, type DigitFormat } from './digit-input.ts';
import { randomDigits, secureRandom, type RandomSource } from './random-source.ts';

/**
 * An Individual Number (個人番号, My Number): 11 digits and a check digit, 12 in all. The brand
 * means "its check digit has been verified": only the functions here make one.
 */
export type IndividualNumber = string & { readonly __brand: 'IndividualNumber' };

/**
 * The wire form: exactly 12 ASCII digits with a valid check digit. Strict on purpose: nodes send the
 * canonical form; people's typing goes through `parseIndividualNumber`. The messages never echo the value.
 */
export const IndividualNumber = z
  .string()
  .regex(/^[0-9]{12}$/, { message: 'must be 12 digits', abort: true })
  .refine(hasValidCheckDigit, 'has a check digit that does not match its other digits')
  .transform((value) => value as IndividualNumber);

const FORMAT: DigitFormat = { label: 'An Individual Number', length: 12 };
const WEIGHTS = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2] as const;

/**
 * The check digit of an 11-digit base (総務省令第85号 第5条): weights 6,5,4,3,2,7,6,5,4,3,2 left to
 * right; r = Σ mod 11; 0 when r ≤ 1, else 11 − r. `12345678901` → 8.
 */
export function individualNumberCheckDigit(base: string): number {
  assertDigits(base, 11, 'an Individual Number base');
  let sum = 0;
  for (let i = 0; i < 11; i++) sum += Number(base[i]) * WEIGHTS[i]!;
  const r = sum % 11;
  return r <= 1 ? 0 : 11 - r;
}

function hasValidCheckDigit(digits: string): boolean {
  return individualNumberCheckDigit(digits.slice(0, 11)) === Number(digits[11]);
}

/**
 * Read an Individual Number as a person types it (full-width digits, spaces and hyphens allowed).
 * Throws `RenkeiError` `ERR_INVALID_CHARACTER`, `ERR_INVALID_LENGTH` or `ERR_INVALID_CHECK_DIGIT`,
 * none of which echoes the input.
 */
export function parseIndividualNumber(input: string): IndividualNumber {
  const digits = readDigits(input, FORMAT);
  if (!hasValidCheckDigit(digits)) throw checkDigitError(FORMAT);
  return digits as IndividualNumber;
}

/** True for the canonical form (12 ASCII digits, valid check digit); no normalisation. */
export function isIndividualNumber(value: unknown): value is IndividualNumber {
  return typeof value === 'string' && /^[0-9]{12}$/.test(value) && hasValidCheckDigit(value);
}

/** The 11-digit base with its check digit appended: how J-LIS completes a number it derived. */
export function completeIndividualNumber(base: string): IndividualNumber {
  return `${base}${individualNumberCheckDigit(base)}` as IndividualNumber;
}

/** As printed on the card: `1234 5678 9018`. */
export function formatIndividualNumber(number: IndividualNumber): string {
  return groupDigits(number, [4, 4, 4]);
}

/**
 * A random valid Individual Number, for test data. It may coincide with a real person's number:
 * never publish generated numbers as if they were nobody's.
 */
export function generateIndividualNumber(random: RandomSource = secureRandom): IndividualNumber {
  return completeIndividualNumber(randomDigits(11, random));
}
