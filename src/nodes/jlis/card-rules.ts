/**
 * The Individual Number Card's expiry rules as dated data (`card-rules.yaml`), checked with zod when
 * loaded, and the date arithmetic they need: the age on a day under Japanese law and the holder's
 * N-th birthday after a day. Every date is a calendar day `YYYY-MM-DD` (JST); no time zone enters.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { RenkeiError } from '../../shared/errors.ts';

const IsoDate = z.iso.date();

const CardValidityRule = z.object({
  effectiveFrom: IsoDate,
  source: z.string().min(1),
  /** From this age on the day of issuance, `adultBirthdays`; under it, `minorBirthdays`. */
  adultAge: z.number().int().min(1).max(30),
  adultBirthdays: z.number().int().min(1).max(20),
  minorBirthdays: z.number().int().min(1).max(20),
});

const CertificateValidityRule = z.object({
  effectiveFrom: IsoDate,
  source: z.string().min(1),
  birthdays: z.number().int().min(1).max(20),
  /** Under this age on the day of issuance, no signing certificate. */
  signingMinimumAge: z.number().int().min(0).max(30),
  /** A signing certificate never outlives the holder's user-authentication certificate. */
  signingWithinAuthentication: z.boolean(),
});

/** Rules in order of `effectiveFrom`, each strictly after the one before. */
function dated<T extends z.ZodType<{ effectiveFrom: string }>>(rule: T) {
  return z
    .array(rule)
    .min(1)
    .refine((rules) => rules.every((r, i) => i === 0 || rules[i - 1]!.effectiveFrom < r.effectiveFrom), {
      message: 'rules must be in order of effectiveFrom, one per day',
    });
}

export const CardRules = z.object({
  cardValidity: dated(CardValidityRule),
  certificateValidity: dated(CertificateValidityRule),
});
export type CardRules = z.infer<typeof CardRules>;

const RULES_FILE = new URL('./card-rules.yaml', import.meta.url);

/** Load and check `card-rules.yaml` (or `file`). Errors: ERR_CONFIG_INVALID naming the broken path. */
export function loadCardRules(file: URL | string = RULES_FILE): CardRules {
  const parsed = CardRules.safeParse(parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RenkeiError(
      'ERR_CONFIG_INVALID',
      `The card rules are invalid at ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? ''}`,
    );
  }
  return parsed.data;
}

/** What the rules give one issuance. */
export interface CardTerms {
  /** The card's last valid day. */
  cardExpiresOn: string;
  /** The certificates' last valid day (their notAfter is the end of that day, JST). */
  certificatesExpireOn: string;
  /** Whether a signing certificate is issued (not to one under the minimum age). */
  signingCertificate: boolean;
  /** The holder's age on the day of issuance. */
  ageAtIssuance: number;
}

/**
 * The card's and the certificates' terms for a holder born on `dateOfBirth`, issued on `issuedOn`,
 * under the rules in force on that day. Errors: ERR_VALIDATION (an issuance before any rule, or
 * before birth).
 */
export function cardTerms(rules: CardRules, dateOfBirth: string, issuedOn: string): CardTerms {
  if (issuedOn < dateOfBirth) {
    throw new RenkeiError('ERR_VALIDATION', 'A card cannot be issued before the date of birth.');
  }
  const card = ruleOn(rules.cardValidity, issuedOn);
  const certificate = ruleOn(rules.certificateValidity, issuedOn);
  const age = ageOn(dateOfBirth, issuedOn);
  const cardExpiresOn = nthBirthdayAfter(
    dateOfBirth,
    issuedOn,
    age >= card.adultAge ? card.adultBirthdays : card.minorBirthdays,
  );
  const certificates = nthBirthdayAfter(dateOfBirth, issuedOn, certificate.birthdays);
  return {
    cardExpiresOn,
    certificatesExpireOn: certificates < cardExpiresOn ? certificates : cardExpiresOn,
    signingCertificate: age >= certificate.signingMinimumAge,
    ageAtIssuance: age,
  };
}

/**
 * The last valid day of a signing certificate issued alone on `issuedOn` (after a move or a name
 * change) onto a card that expires on `cardExpiresOn` and holds a user-authentication certificate
 * valid until `authenticationExpiresOn`: the holder's N-th birthday after the signing certificate's
 * own issuance, never beyond the card, nor beyond the user-authentication certificate where the rule
 * in force on `issuedOn` says so. Errors: ERR_VALIDATION (as `cardTerms`).
 */
export function signingCertificateExpiresOn(
  rules: CardRules,
  dateOfBirth: string,
  issuedOn: string,
  held: { cardExpiresOn: string; authenticationExpiresOn?: string | undefined },
): string {
  if (issuedOn < dateOfBirth) {
    throw new RenkeiError('ERR_VALIDATION', 'A certificate cannot be issued before the date of birth.');
  }
  const rule = ruleOn(rules.certificateValidity, issuedOn);
  const limits = [nthBirthdayAfter(dateOfBirth, issuedOn, rule.birthdays), held.cardExpiresOn];
  if (rule.signingWithinAuthentication && held.authenticationExpiresOn !== undefined) {
    limits.push(held.authenticationExpiresOn);
  }
  return limits.reduce((earliest, day) => (day < earliest ? day : earliest));
}

function ruleOn<T extends { effectiveFrom: string }>(rules: readonly T[], day: string): T {
  const rule = rules.filter((r) => r.effectiveFrom <= day).at(-1);
  if (!rule) throw new RenkeiError('ERR_VALIDATION', `No card rule was in force on ${day}.`);
  return rule;
}

/**
 * The age on `day` under 年齢計算ニ関スル法律 and 民法第143条: one attains age N at the end of the day
 * before the N-th anniversary of birth (so someone born on 2 April is 18 on 1 April eighteen years
 * later); born on 29 February, at the end of 28 February.
 */
export function ageOn(dateOfBirth: string, day: string): number {
  const birth = parseDay(dateOfBirth);
  const on = parseDay(day);
  let age = on.year - birth.year;
  while (age > 0 && attainedOn(birth, age) > day) age--;
  while (attainedOn(birth, age + 1) <= day) age++;
  return age;
}

/** The day on which one born on `birth` attains age `n`: the day before the anniversary. */
function attainedOn(birth: Day, n: number): string {
  const year = birth.year + n;
  if (birth.month === 2 && birth.day === 29 && !isLeap(year)) return format(year, 2, 28);
  return addDays(format(year, birth.month, birth.day), -1);
}

/**
 * The holder's `n`-th birthday after `day` (a birthday on `day` itself does not count: 発行の日後の).
 * Born on 29 February, the birthday of a common year is 28 February.
 */
export function nthBirthdayAfter(dateOfBirth: string, day: string, n: number): string {
  const birth = parseDay(dateOfBirth);
  const from = parseDay(day);
  const thisYear = birthdayIn(birth, from.year);
  const firstYear = thisYear > day ? from.year : from.year + 1;
  return birthdayIn(birth, firstYear + n - 1);
}

function birthdayIn(birth: Day, year: number): string {
  if (birth.month === 2 && birth.day === 29 && !isLeap(year)) return format(year, 2, 28);
  return format(year, birth.month, birth.day);
}

interface Day {
  year: number;
  month: number;
  day: number;
}

function parseDay(text: string): Day {
  const [year = 0, month = 0, day = 0] = text.split('-').map(Number);
  return { year, month, day };
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function format(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

function addDays(text: string, days: number): string {
  const date = new Date(`${text}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

/** The end of a JST calendar day as an instant: a certificate's notAfter for its last valid day. */
export function endOfJstDay(day: string): Date {
  return new Date(`${day}T23:59:59+09:00`);
}
