import { RenkeiError } from '../../shared/errors.ts';

/**
 * Reading a number as a person types it. Separators are dropped (ASCII and full-width spaces, tabs,
 * hyphens of every width, and the katakana prolonged sound mark `ー`, which Japanese input methods
 * produce when a hyphen is typed in kana mode); full-width digits `０`–`９` become ASCII digits.
 * Anything else is an error naming its position, never the character or the number.
 */
const SEPARATORS = new Set([
  ' ',
  '\t',
  '\u3000', // full-width space
  '-',
  '\u2010', // hyphen
  '\u2011', // non-breaking hyphen
  '\u2012', // figure dash
  '\u2013', // en dash
  '\u2014', // em dash
  '\u2015', // horizontal bar
  '\u2212', // minus sign
  '\uff0d', // full-width hyphen-minus
  '\u30fc', // katakana prolonged sound mark
  '\uff70', // half-width katakana prolonged sound mark
]);

const FULL_WIDTH_ZERO = 0xff10;

/** What a reader needs to know about one kind of identifier to phrase its errors. */
export interface DigitFormat {
  /** With its article, as a sentence starts: `An Individual Number`, `A Corporate Number`. */
  readonly label: string;
  readonly length: number;
}

/**
 * The ASCII digits of `input` with separators removed, or a `RenkeiError`:
 * `ERR_INVALID_CHARACTER` for anything that is neither a digit nor a separator (checked first, with
 * its 1-based position in the input as typed), then `ERR_INVALID_LENGTH`.
 */
export function readDigits(input: string, format: DigitFormat): string {
  const digits = normalizeDigits(input);
  if (digits.length !== format.length) {
    throw new RenkeiError(
      'ERR_INVALID_LENGTH',
      `${format.label} has ${format.length} digits; this has ${digits.length}.`,
      { expected: format.length, actual: digits.length },
    );
  }
  return digits;
}

/**
 * The ASCII digits of `input` with separators removed, whatever their number; `ERR_INVALID_CHARACTER`
 * for anything else. For callers that decide what the input is by its length.
 */
export function normalizeDigits(input: string): string {
  let digits = '';
  let position = 0;
  for (const char of input) {
    position++;
    if (SEPARATORS.has(char)) continue;
    const code = char.codePointAt(0) ?? 0;
    if (code >= 0x30 && code <= 0x39) {
      digits += char;
    } else if (code >= FULL_WIDTH_ZERO && code <= FULL_WIDTH_ZERO + 9) {
      digits += String(code - FULL_WIDTH_ZERO);
    } else {
      throw new RenkeiError('ERR_INVALID_CHARACTER', `Character ${position} is not a digit.`, { position });
    }
  }
  return digits;
}

/** The error for digits that do not agree with their check digit. */
export function checkDigitError(format: DigitFormat): RenkeiError {
  const noun = format.label.replace(/^an? /i, '');
  return new RenkeiError(
    'ERR_INVALID_CHECK_DIGIT',
    `The check digit does not match the other digits of this ${noun}; a digit is probably mistyped.`,
  );
}

/** Digits only, of exactly `length`: for checking a caller's argument (a programming mistake is a TypeError). */
export function assertDigits(value: string, length: number, what: string): void {
  if (value.length !== length || !/^[0-9]+$/.test(value)) {
    throw new TypeError(`${what} must be ${length} ASCII digits`);
  }
}

/** `digits` in groups of the given sizes, separated by spaces. */
export function groupDigits(digits: string, sizes: readonly number[]): string {
  const groups: string[] = [];
  let at = 0;
  for (const size of sizes) {
    groups.push(digits.slice(at, at + size));
    at += size;
  }
  return groups.join(' ');
}
