import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLegalTable } from '../../../domain/legal-table/index.ts';
import { ApplicationService } from './applications.ts';
import { FinderService, parseOnestop } from './finder.ts';

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
