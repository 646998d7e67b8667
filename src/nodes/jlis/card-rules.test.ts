import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ageOn,
  cardTerms,
  loadCardRules,
  nthBirthdayAfter,
  signingCertificateExpiresOn,
} from './card-rules.ts';

const rules = loadCardRules();

describe('the card rules file', () => {
  it('loads, with the 2022-04-01 rule of majority at 18 after the older rule at 20', () => {
    expect(rules.cardValidity.map((r) => [r.effectiveFrom, r.adultAge])).toEqual([
      ['2015-10-05', 20],
      ['2022-04-01', 18],
    ]);
  });

  it('refuses a file whose rules are out of order, naming where', () => {
    const dir = mkdtempSync(join(tmpdir(), 'renkei-card-rules-'));
    try {
      const file = join(dir, 'rules.yaml');
      writeFileSync(
        file,
        [
          'cardValidity:',
          '  - { effectiveFrom: 2022-04-01, source: a, adultAge: 18, adultBirthdays: 10, minorBirthdays: 5 }',
          '  - { effectiveFrom: 2015-10-05, source: b, adultAge: 20, adultBirthdays: 10, minorBirthdays: 5 }',
          'certificateValidity:',
          '  - { effectiveFrom: 2016-01-01, source: c, birthdays: 5, signingMinimumAge: 15, signingWithinAuthentication: true }',
        ].join('\n'),
      );
      expect(() => loadCardRules(file)).toThrow(/cardValidity/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the age on a day (年齢計算ニ関スル法律)', () => {
  it('is attained the day before the birthday', () => {
    expect(ageOn('2004-04-02', '2022-03-31')).toBe(17);
    expect(ageOn('2004-04-02', '2022-04-01')).toBe(18);
    expect(ageOn('1988-05-14', '2024-06-01')).toBe(36);
  });

  it('is attained on 28 February by one born on 29 February, leap year or not', () => {
    expect(ageOn('2004-02-29', '2022-02-27')).toBe(17);
    expect(ageOn('2004-02-29', '2022-02-28')).toBe(18);
    expect(ageOn('2004-02-29', '2024-02-28')).toBe(20);
  });
});

describe('the card validity by age at issuance', () => {
  it('gives an adult the 10th birthday after issuance', () => {
    // Born 14 May 1988, issued 1 June 2024: the birthdays after are 2025…, the 10th is 2034-05-14.
    expect(cardTerms(rules, '1988-05-14', '2024-06-01')).toMatchObject({
      cardExpiresOn: '2034-05-14',
      certificatesExpireOn: '2029-05-14',
      signingCertificate: true,
    });
  });

  it('does not count a birthday on the day of issuance itself', () => {
    expect(nthBirthdayAfter('1988-06-01', '2024-06-01', 10)).toBe('2034-06-01');
    expect(nthBirthdayAfter('1988-06-02', '2024-06-01', 10)).toBe('2033-06-02');
  });

  it('gives a 19-year-old the 10th birthday from 2022-04-01 and the 5th the day before', () => {
    // Born 2002-07-01: 19 on both days; an adult under the new rule only.
    expect(cardTerms(rules, '2002-07-01', '2022-03-31').cardExpiresOn).toBe('2026-07-01');
    expect(cardTerms(rules, '2002-07-01', '2022-04-01').cardExpiresOn).toBe('2031-07-01');
  });

  it('gives a 17-year-old the 5th birthday under either rule', () => {
    expect(cardTerms(rules, '2005-01-10', '2022-04-01').cardExpiresOn).toBe('2027-01-10');
    expect(cardTerms(rules, '2005-01-10', '2022-03-31').cardExpiresOn).toBe('2027-01-10');
  });

  it('gives a 20-year-old the 10th birthday under the older rule', () => {
    expect(cardTerms(rules, '2001-12-01', '2022-03-31').cardExpiresOn).toBe('2031-12-01');
  });

  it('ends on 28 February in a common year for one born on 29 February', () => {
    // Born 2000-02-29, issued 2024-03-01 (24): birthdays after are 2025-02-28 … 10th 2034-02-28,
    // 5th 2029-02-28; issued 2023-03-01, the 5th is 2028-02-29, a leap year.
    expect(cardTerms(rules, '2000-02-29', '2024-03-01')).toMatchObject({
      cardExpiresOn: '2034-02-28',
      certificatesExpireOn: '2029-02-28',
    });
    expect(cardTerms(rules, '2000-02-29', '2023-03-01').certificatesExpireOn).toBe('2028-02-29');
  });

  it('counts 28 February of a common year as the birthday of one born on 29 February', () => {
    // Issued on 2023-02-28: that is the 2023 birthday, so it does not count; the 1st is 2024-02-29.
    expect(nthBirthdayAfter('2000-02-29', '2023-02-28', 1)).toBe('2024-02-29');
    expect(nthBirthdayAfter('2000-02-29', '2023-02-27', 1)).toBe('2023-02-28');
  });
});

describe('the certificates', () => {
  it('run to the 5th birthday after issuance, never beyond the card', () => {
    expect(cardTerms(rules, '2010-08-20', '2024-06-01')).toMatchObject({
      // 13 at issuance: the card's 5th birthday is the certificates' too (2024-08-20 is the 1st).
      cardExpiresOn: '2028-08-20',
      certificatesExpireOn: '2028-08-20',
    });
  });

  it('include no signing certificate for one under 15 on the day of issuance', () => {
    // Born 2009-06-02: 14 on 2024-05-31, 15 on 2024-06-01 (the day before the birthday).
    expect(cardTerms(rules, '2009-06-02', '2024-05-31').signingCertificate).toBe(false);
    expect(cardTerms(rules, '2009-06-02', '2024-06-01').signingCertificate).toBe(true);
  });

  it('refuses an issuance dated before any rule was in force', () => {
    expect(() => cardTerms(rules, '1980-01-01', '2015-01-01')).toThrow(/No card rule/);
  });
});

describe('a signing certificate issued alone onto a card (after a move)', () => {
  // Born 1988-05-14, card and pair issued 2024-06-01: card to 2034-05-14, the pair to 2029-05-14.
  const held = { cardExpiresOn: '2034-05-14', authenticationExpiresOn: '2029-05-14' };
  const uncapped: typeof rules = {
    ...rules,
    certificateValidity: rules.certificateValidity.map((r) => ({ ...r, signingWithinAuthentication: false })),
  };

  it('ends with the user-authentication certificate under the rule in force, though its own 5th birthday is later', () => {
    expect(signingCertificateExpiresOn(rules, '1988-05-14', '2027-06-01', held)).toBe('2029-05-14');
  });

  it('runs to the 5th birthday after its own issuance where no rule ties it to the other certificate', () => {
    expect(signingCertificateExpiresOn(uncapped, '1988-05-14', '2027-06-01', held)).toBe('2032-05-14');
  });

  it('never outlives the card', () => {
    expect(signingCertificateExpiresOn(uncapped, '1988-05-14', '2031-06-01', held)).toBe('2034-05-14');
    // A minor's card: its 5th birthday is the limit whatever the certificate's own.
    expect(
      signingCertificateExpiresOn(uncapped, '2008-08-20', '2026-06-01', { cardExpiresOn: '2028-08-20' }),
    ).toBe('2028-08-20');
  });
});
