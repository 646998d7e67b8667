import { Option, type Command } from 'commander';
import { generateCorporateNumber, parseCorporateNumber } from '../domain/identifiers/corporate-number.ts';
import { normalizeDigits } from '../domain/identifiers/digit-input.ts';
import { generateIndividualNumber, parseIndividualNumber } from '../domain/identifiers/individual-number.ts';
import { RenkeiError } from '../shared/errors.ts';
import { wholeNumberOption } from './output.ts';

type NumberKind = 'individual' | 'corporate';

const KIND_NAMES: Record<NumberKind, string> = {
  individual: 'Individual Number (個人番号)',
  corporate: 'Corporate Number (法人番号)',
};

/**
 * `renkei number check <digits...>` and `renkei number generate`.
 *
 * `check` joins its arguments, so `1234 5678 9018` works unquoted; full-width digits, spaces and
 * hyphens are accepted. 12 digits are read as an Individual Number, 13 as a Corporate Number. It
 * prints the verdict and, when invalid, the reason and its code (ERR_INVALID_CHARACTER,
 * ERR_INVALID_LENGTH, ERR_INVALID_CHECK_DIGIT); exit code 0 when valid, 1 when not. It never prints
 * the number back: terminals are scrolled past, recorded and shared.
 *
 * `generate` prints random valid numbers, one a line, for test data. A generated Individual Number
 * may be a real person's: never present one as nobody's.
 */
export function registerNumberCommand(program: Command): void {
  const number = program
    .command('number')
    .description('check or generate Individual Numbers (個人番号) and Corporate Numbers (法人番号)');

  number
    .command('check')
    .description('say whether the digits are a valid Individual Number or Corporate Number, and why not')
    .argument('<digits...>', 'the number, as typed (spaces, hyphens and full-width digits are fine)')
    .action((parts: string[]) => {
      const verdict = checkNumber(parts.join(' '));
      if (verdict.valid) {
        console.log(`Valid ${KIND_NAMES[verdict.kind]}.`);
      } else {
        const what = verdict.kind ? `a valid ${KIND_NAMES[verdict.kind]}` : 'a valid number';
        console.error(`Not ${what}: ${verdict.error.message} (${verdict.error.code})`);
        process.exitCode = 1;
      }
    });

  number
    .command('generate')
    .description('print random valid numbers for test data (an Individual Number may be a real one)')
    .addOption(
      new Option('--kind <kind>', 'which kind of number')
        .choices(['individual', 'corporate'])
        .default('individual'),
    )
    .option('--count <n>', 'how many (1-10000)', '1')
    .action((options: { kind: NumberKind; count: string }) => {
      const count = wholeNumberOption(options.count, '--count', 1, 10_000);
      const generate = options.kind === 'corporate' ? generateCorporateNumber : generateIndividualNumber;
      const lines = Array.from({ length: count }, () => generate());
      console.log(lines.join('\n'));
    });
}

export type NumberVerdict =
  { valid: true; kind: NumberKind } | { valid: false; kind: NumberKind | undefined; error: RenkeiError };

/** Decide the kind by the number of digits once separators are gone, then check it. */
export function checkNumber(input: string): NumberVerdict {
  let kind: NumberKind | undefined;
  try {
    const digits = normalizeDigits(input);
    if (digits.length === 12) kind = 'individual';
    else if (digits.length === 13) kind = 'corporate';
    else {
      throw new RenkeiError(
        'ERR_INVALID_LENGTH',
        `An Individual Number has 12 digits and a Corporate Number 13; this has ${digits.length}.`,
        { actual: digits.length },
      );
    }
    if (kind === 'individual') parseIndividualNumber(digits);
    else parseCorporateNumber(digits);
    return { valid: true, kind };
  } catch (error) {
    if (error instanceof RenkeiError) return { valid: false, kind, error };
    throw error;
  }
}
