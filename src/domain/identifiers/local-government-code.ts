import { z } from 'zod';
import { assertDigits, checkDigitError, readDigits, type DigitFormat } from './digit-input.ts';
import { randomDigits, secureRandom, type RandomSource } from './random-source.ts';

/**
 * A local-government code (全国地方公共団体コード): 2 digits of prefecture, 3 of the body, and a
 * check digit, e.g. `131016` 千代田区, `130001` 東京都. The 5-digit form without the check digit is
 * common too; `completeLocalGovernmentCode` turns it into this one. The brand means "check digit verified".
 */
export type LocalGovernmentCode = string & { readonly __brand: 'LocalGovernmentCode' };

/** The wire form: exactly 6 ASCII digits with a valid check digit. */
export const LocalGovernmentCode = z
  .string()
  .regex(/^[0-9]{6}$/, { message: 'must be 6 digits', abort: true })
  .refine(hasValidCheckDigit, 'has a check digit that does not match its other digits')
  .transform((value) => value as LocalGovernmentCode);

const FORMAT: DigitFormat = { label: 'A local-government code', length: 6 };
const WEIGHTS = [6, 5, 4, 3, 2] as const;

/** The check digit of a 5-digit base: (11 − (Σ dᵢ·wᵢ mod 11)) mod 10, weights 6,5,4,3,2. `13101` → 6. */
export function localGovernmentCodeCheckDigit(base: string): number {
  assertDigits(base, 5, 'a local-government code base');
  let sum = 0;
  for (let i = 0; i < 5; i++) sum += Number(base[i]) * WEIGHTS[i]!;
  return (11 - (sum % 11)) % 10;
}

function hasValidCheckDigit(digits: string): boolean {
  return localGovernmentCodeCheckDigit(digits.slice(0, 5)) === Number(digits[5]);
}

/**
 * Read a local-government code as a person types it. Throws `RenkeiError` `ERR_INVALID_CHARACTER`,
 * `ERR_INVALID_LENGTH` or `ERR_INVALID_CHECK_DIGIT`.
 */
export function parseLocalGovernmentCode(input: string): LocalGovernmentCode {
  const digits = readDigits(input, FORMAT);
  if (!hasValidCheckDigit(digits)) throw checkDigitError(FORMAT);
  return digits as LocalGovernmentCode;
}

/** True for the canonical form (6 ASCII digits, valid check digit); no normalisation. */
export function isLocalGovernmentCode(value: unknown): value is LocalGovernmentCode {
  return typeof value === 'string' && /^[0-9]{6}$/.test(value) && hasValidCheckDigit(value);
}

/** The 5-digit form with its check digit appended: `13101` → `131016`. */
export function completeLocalGovernmentCode(base: string): LocalGovernmentCode {
  return `${base}${localGovernmentCodeCheckDigit(base)}` as LocalGovernmentCode;
}

/** The code is written as its six digits; there is no customary grouping. */
export function formatLocalGovernmentCode(code: LocalGovernmentCode): string {
  return code;
}

/**
 * A random valid code, for test data: a real prefecture number (01–47) and three random digits, so it
 * looks like a code but is not necessarily an existing body.
 */
export function generateLocalGovernmentCode(random: RandomSource = secureRandom): LocalGovernmentCode {
  let prefecture = '00';
  while (prefecture < '01' || prefecture > '47') prefecture = randomDigits(2, random);
  return completeLocalGovernmentCode(`${prefecture}${randomDigits(3, random)}`);
}
