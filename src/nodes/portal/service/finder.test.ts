import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLegalTable } from '../../../domain/legal-table/index.ts';
import { ApplicationService } from './applications.ts';
import { FinderService, parseOnestop } from './finder.ts';
import { documentInEnglish } from '../onestop-router.ts';

const dir = join(import.meta.dirname, '..', 'onestop');
const legal = loadLegalTable();
const registrations = new Map(
  readdirSync(join(dir, 'registrations')).map((f) => [
    f,
    readFileSync(join(dir, 'registrations', f), 'utf8'),
  ]),
);
const catalogueText = readFileSync(join(dir, 'catalogue.yaml'), 'utf8');
const onestop = parseOnestop({ catalogue: catalogueText, registrations }, legal);
const finder = new FinderService(onestop);
/** How many procedures spare a 課税証明書: found as many by its English name. */
const spareCount = finder.search({ keyword: '課税証明書' }).length;

describe('the service finder (ぴったりサービス)', () => {
  it('registers the seeds’ one-stop lists: 子育て 15, 介護 nine, 被災者支援 ten', () => {
    const count = (event: string) => onestop.procedures.filter((p) => p.lifeEvents.includes(event)).length;
    expect(count('kosodate')).toBe(15);
    expect(count('kaigo')).toBe(9);
    expect(count('hisai')).toBe(10);
    expect(count('hikkoshi')).toBeGreaterThan(0);
  });

  it('finds 児童手当 by life event, municipality and keyword, with 添付不要 from the legal table', () => {
    const hits = finder.search({ lifeEvent: 'kosodate', municipalityId: '152048', keyword: '児童手当' });
    const allowance = hits.find((h) => h.procedure.id === 'kosodate-01');
    expect(allowance?.procedure.attachmentsOmitted).toEqual(['課税証明書', '住民票']);
    expect(hits.every((h) => h.municipality.id === '152048')).toBe(true);
    expect(finder.search({ lifeEvent: 'hisai', municipalityId: '152048' })).toEqual([]);
  });

  it('finds by an attachment the network spares, in English, and says nothing for unlinked procedures', () => {
    const spared = finder.search({ keyword: '課税証明書' });
    expect(spared.length).toBeGreaterThan(0);
    expect(spared.every((h) => h.procedure.attachmentsOmitted.includes('課税証明書'))).toBe(true);
    expect(
      finder.search({ keyword: 'DISASTER RELIEF' }).every((h) => h.procedure.lifeEvents.includes('hisai')),
    ).toBe(true);
    expect(finder.find('271004', 'hisai-01')?.procedure.attachmentsOmitted).toEqual([]);
  });

  it('gives each choice, hint and omitted attachment its English, and refuses a form without them', () => {
    const allowance = finder.find('152048', 'kosodate-01')?.procedure;
    expect(allowance?.attachmentsOmittedEn).toEqual(['Tax certificate', 'Certificate of residence']);
    const relationship = allowance?.form.find((f) => f.name === 'relationship');
    expect(relationship?.optionsEn).toEqual(['Child', 'Grandchild', 'Other']);
    expect(allowance?.form.find((f) => f.name === 'phone')?.hintEn).toBe('10 or 11 digits, without hyphens');
    expect(finder.search({ keyword: 'tax certificate' }).length).toBe(spareCount);

    const noChoices = catalogueText.replace('      optionsEn: [Child, Grandchild, Other]\n', '');
    expect(noChoices).not.toBe(catalogueText);
    expect(() => parseOnestop({ catalogue: noChoices, registrations }, legal)).toThrow(
      /field relationship: optionsEn must name each of the 3 options in English, in order/,
    );
    const shortChoices = catalogueText.replace('optionsEn: [Child, Grandchild, Other]', 'optionsEn: [Child]');
    expect(() => parseOnestop({ catalogue: shortChoices, registrations }, legal)).toThrow(/optionsEn/);
    const noHint = catalogueText.replace("hintEn: '10 digits',", '');
    expect(noHint).not.toBe(catalogueText);
    expect(() => parseOnestop({ catalogue: noHint, registrations }, legal)).toThrow(
      /field insuredNumber: a hint has its English/,
    );
  });

  it('shows a document to sign in English: names and labels translated, each value as signed', () => {
    const signed = {
      content: new Uint8Array(),
      municipalityId: '152048',
      procedureId: 'kosodate-01',
      municipalityName: '三条市',
      procedureName: '児童手当等の受給資格及び児童手当の額についての認定請求',
      lines: [
        { name: 'childName', label: '児童の氏名', value: '山田 一郎' },
        { name: 'relationship', label: '申請者から見た続柄', value: '子' },
      ],
      attachmentsOmitted: ['課税証明書', '住民票'],
      expiresAt: new Date(),
    };
    expect(documentInEnglish(finder, signed)).toEqual({
      municipalityName: 'Sanjo City',
      procedureName: 'Child allowance: application for certification',
      lines: [
        { label: "Child's name", value: '山田 一郎' },
        { label: 'Relationship to you', value: '子 (Child)' },
      ],
      attachmentsOmitted: ['Tax certificate', 'Certificate of residence'],
    });
    // A procedure the catalogue no longer lists: nothing in English (the Japanese is shown).
    expect(documentInEnglish(finder, { ...signed, procedureId: 'gone-01' })).toBeUndefined();
  });

  it('finds only what a municipality registered', () => {
    expect(finder.find('141003', 'kosodate-01')).toBeDefined();
    expect(finder.find('141003', 'hisai-01')).toBeUndefined();
    expect(finder.find('999999', 'kosodate-01')).toBeUndefined();
  });

  it('refuses a registration of an unknown procedure, an unknown legal procedure, and an Individual Number field', () => {
    const bad = new Map([
      ['x.yaml', "municipalityId: '152048'\nname: 三条市\nnameEn: Sanjo\nprocedures: [nope-01]\n"],
    ]);
    expect(() => parseOnestop({ catalogue: catalogueText, registrations: bad }, legal)).toThrow(
      /registrations\/x.yaml: procedure nope-01 is not in catalogue.yaml/,
    );
    const unknownLegal = catalogueText.replace("procedureId: '074-01'", "procedureId: '999-99'");
    expect(() => parseOnestop({ catalogue: unknownLegal, registrations }, legal)).toThrow(/999-99/);
    const number = catalogueText.replace('label: 児童の氏名', 'label: 児童の個人番号');
    expect(number).not.toBe(catalogueText);
    expect(() => parseOnestop({ catalogue: number, registrations }, legal)).toThrow(/Individual Number/);
  });
});

describe('the application form’s server-side validation', () => {
  const service = new ApplicationService({} as ConstructorParameters<typeof ApplicationService>[0]);
  const procedure = finder.find('152048', 'kosodate-01')!.procedure;
  const good = {
    childName: '山田 一郎',
    childDateOfBirth: '2024-04-01',
    relationship: '子',
    payeeAccount: '公金受取口座',
    phone: '0256345111',
  };

  it('accepts a complete form and ignores fields it does not declare', () => {
    expect(service.validate(procedure, { ...good, extra: 'x', _csrf: 't' })).toEqual({ values: good });
  });

  it('refuses a missing field, a bad date, an option not offered, a phone of the wrong shape, two lines', () => {
    const result = service.validate(procedure, {
      ...good,
      childName: '',
      childDateOfBirth: '2024-02-30',
      relationship: '他人',
      phone: '03-1234-5678',
    });
    expect('errors' in result && Object.keys(result.errors).sort()).toEqual(
      ['childDateOfBirth', 'childName', 'phone', 'relationship'].sort(),
    );
    const twoLines = service.validate(procedure, { ...good, childName: '山田\n一郎' });
    expect('errors' in twoLines && Object.keys(twoLines.errors)).toEqual(['childName']);
  });
});
