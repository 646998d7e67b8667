/**
 * Loading `legal/`: the real files load, and a broken file fails start-up with ERR_CONFIG_INVALID
 * naming the file, the entry and the problem, so the operator knows what to fix.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { RenkeiError } from '../../shared/errors.ts';
import { DEFAULT_LEGAL_DIR, loadLegalTable } from './index.ts';

type Entry = Record<string, unknown>;
type FileName = 'clauses.yaml' | 'procedures.yaml' | 'items.yaml';

const temps: string[] = [];

afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the real `legal/` in a temp dir, removed after the test. */
function copyOfLegal(): string {
  const dir = mkdtempSync(join(tmpdir(), 'renkei-legal-'));
  temps.push(dir);
  cpSync(DEFAULT_LEGAL_DIR, dir, { recursive: true });
  return dir;
}

/** Change one file's entries in a copy of `legal/`. */
function editFile(dir: string, file: FileName, change: (entries: Entry[]) => void): void {
  const path = join(dir, file);
  const entries = parse(readFileSync(path, 'utf8')) as Entry[];
  change(entries);
  writeFileSync(path, stringify(entries));
}

/** A copy of `legal/` with one file's entries changed. */
function brokenCopy(file: FileName, change: (entries: Entry[]) => void): string {
  const dir = copyOfLegal();
  editFile(dir, file, change);
  return dir;
}

function entry(entries: Entry[], key: string, id: unknown): Entry {
  const found = entries.find((e) => e[key] === id);
  if (!found) throw new Error(`test setup: no entry ${key}=${String(id)}`);
  return found;
}

function layout(items: Entry[], itemNo: number, version: string): Entry {
  const layouts = entry(items, 'itemNo', itemNo).layouts as Entry[];
  const found = layouts.find((l) => l.version === version);
  if (!found) throw new Error(`test setup: no layout ${version}`);
  return found;
}

/** The RenkeiError loading `dir` throws (failing the test if it loads). */
function loadError(dir: string): RenkeiError {
  try {
    loadLegalTable(dir);
  } catch (error) {
    if (error instanceof RenkeiError) return error;
    throw error;
  }
  throw new Error('expected the legal table to be refused');
}

describe('loading the legal table', () => {
  it('loads the repository legal/ with clauses, procedures, items and layouts', () => {
    const table = loadLegalTable();
    expect(table.clauses.length).toBeGreaterThan(0);
    expect(table.procedures.length).toBeGreaterThan(0);
    expect(table.items.length).toBeGreaterThan(0);
    expect(table.items.every((item) => item.layouts.length > 0)).toBe(true);
    expect(table.findClause('74')?.law).toBe('児童手当法');
    expect(table.findProcedure('074-01')?.clauseNo).toBe('74');
    expect(table.findItem(2)?.name).toBe('地方税関係情報');
  });

  it('gives a sha-256 digest that is stable for the same files and changes when a file changes', () => {
    const digest = loadLegalTable().digest;
    expect(digest).toMatch(/^[0-9a-f]{64}$/);

    const dir = copyOfLegal();
    expect(loadLegalTable(dir).digest).toBe(digest);

    const path = join(dir, 'procedures.yaml');
    writeFileSync(path, `${readFileSync(path, 'utf8')}\n# an operator's comment\n`);
    const changed = loadLegalTable(dir).digest;
    expect(changed).toMatch(/^[0-9a-f]{64}$/);
    expect(changed).not.toBe(digest);
  });
});

describe('warning of what loads but cannot be used', () => {
  const unprovided64 =
    'legal/items.yaml: item 64: no provision in legal/clauses.yaml lists it, so no inquiry can ask for it; add it to a clause provision or remove it';
  const unasked = (clauseNo: string, itemNo: number) =>
    `legal/clauses.yaml: clause ${clauseNo}: a provision lists item ${itemNo}, but no procedure under clause ${clauseNo} asks for it, so no inquiry can; add it to a procedure in legal/procedures.yaml or remove it from the provision`;

  it('warns, without refusing, of item [64]: defined in legal/items.yaml but in no clause provision', () => {
    const table = loadLegalTable();
    expect(table.findItem(64)).toBeDefined();
    expect(table.warnings).toContain(unprovided64);
  });

  it('warns of an item a clause provides but no procedure under it asks for, once per item', () => {
    const table = loadLegalTable();
    // Provided twice under clause 26 (two provisions), warned of once.
    expect(table.warnings.filter((w) => w === unasked('26', 14))).toHaveLength(1);
    // Item 16 is asked for by 093-03 (住所移転後の要介護・要支援認定申請), so clause 93 is not warned of.
    expect(table.warnings.some((w) => w.includes('clause 93:'))).toBe(false);
  });

  it('stops warning of an item once a procedure under the clause asks for it', () => {
    const dir = brokenCopy('clauses.yaml', (clauses) => {
      (entry(clauses, 'clauseNo', '94').provisions as Entry[]).push({
        provider: { kinds: ['municipality'] },
        itemNos: [16],
      });
    });
    expect(loadLegalTable(dir).warnings).toContain(unasked('94', 16));

    editFile(dir, 'procedures.yaml', (procedures) => {
      const procedure = entry(procedures, 'procedureId', '094-01');
      (procedure.itemNos as number[]).push(16);
      procedure.itemNosWithoutAttachment = [16];
    });
    expect(loadLegalTable(dir).warnings).not.toContain(unasked('94', 16));
  });

  it('turns the warning of an unlisted item into one of an unasked item when a provision lists it', () => {
    const dir = brokenCopy('clauses.yaml', (clauses) => {
      const provisions = entry(clauses, 'clauseNo', '2').provisions as Entry[];
      provisions.push({ provider: { kinds: ['pension_service'] }, itemNos: [64] });
    });
    const { warnings } = loadLegalTable(dir);
    expect(warnings).not.toContain(unprovided64);
    expect(warnings).toContain(unasked('2', 64));
  });
});

describe('refusing a broken legal table', () => {
  it('names the procedure whose clause is not defined', () => {
    const dir = brokenCopy('procedures.yaml', (procedures) => {
      entry(procedures, 'procedureId', '074-01').clauseNo = '999';
    });
    const error = loadError(dir);
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toContain('legal/procedures.yaml');
    expect(error.message).toContain('procedure 074-01');
    expect(error.message).toContain('clause 999 is not defined in legal/clauses.yaml');
  });

  it('names the procedure that asks for an item that is not defined', () => {
    const dir = brokenCopy('procedures.yaml', (procedures) => {
      entry(procedures, 'procedureId', '074-01').itemNos = [1, 998];
    });
    const error = loadError(dir);
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toContain('legal/procedures.yaml: procedure 074-01: itemNos[1]');
    expect(error.message).toContain('item 998 is not defined in legal/items.yaml');
  });

  it('names the clause whose provision gives an item that is not defined', () => {
    const dir = brokenCopy('clauses.yaml', (clauses) => {
      const provisions = entry(clauses, 'clauseNo', '74').provisions as Entry[];
      provisions[0]!.itemNos = [1, 2, 997];
    });
    const error = loadError(dir);
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toContain('legal/clauses.yaml: clause 74: provisions[0].itemNos[2]');
    expect(error.message).toContain('item 997 is not defined');
  });

  it('names a procedure id defined twice', () => {
    const dir = brokenCopy('procedures.yaml', (procedures) => {
      procedures.push({ ...entry(procedures, 'procedureId', '074-01'), name: '二つ目' });
    });
    const error = loadError(dir);
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toContain('legal/procedures.yaml: procedure 074-01');
    expect(error.message).toContain('is defined twice');
  });

  it('names a procedure item that no provider of its clause gives', () => {
    const dir = brokenCopy('procedures.yaml', (procedures) => {
      entry(procedures, 'procedureId', '074-01').itemNos = [1, 2, 53];
    });
    const error = loadError(dir);
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toContain('legal/procedures.yaml: procedure 074-01: itemNos[2]');
    expect(error.message).toContain('no provider of clause 74 may give item 53');
  });

  it('names a procedure whose effectiveTo is before its effectiveFrom', () => {
    const dir = brokenCopy('procedures.yaml', (procedures) => {
      entry(procedures, 'procedureId', '074-01').effectiveTo = '2017-01-01';
    });
    const error = loadError(dir);
    expect(error.message).toContain('legal/procedures.yaml: procedure 074-01');
    expect(error.message).toContain('effectiveTo is before effectiveFrom');
  });

  it('names a procedure that takes effect before its clause does', () => {
    const dir = brokenCopy('procedures.yaml', (procedures) => {
      entry(procedures, 'procedureId', '074-01').effectiveFrom = '2010-01-01';
    });
    const error = loadError(dir);
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toContain(
      'legal/procedures.yaml: procedure 074-01: effectiveFrom 2010-01-01 is before clause 74 takes effect (2017-07-18)',
    );
  });

  it('names a procedure that stays in force after its clause ends', () => {
    const dir = copyOfLegal();
    editFile(dir, 'clauses.yaml', (clauses) => {
      entry(clauses, 'clauseNo', '74').effectiveTo = '2030-03-31';
    });
    editFile(dir, 'procedures.yaml', (procedures) => {
      entry(procedures, 'procedureId', '074-01').effectiveTo = '2031-03-31';
      entry(procedures, 'procedureId', '074-02').effectiveTo = '2030-03-31';
    });
    const error = loadError(dir);
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toContain(
      'legal/procedures.yaml: procedure 074-01: effectiveTo 2031-03-31 is after clause 74 ends (2030-03-31)',
    );
  });

  it('names an open-ended procedure under a clause that ends', () => {
    const dir = brokenCopy('clauses.yaml', (clauses) => {
      entry(clauses, 'clauseNo', '74').effectiveTo = '2030-03-31';
    });
    const error = loadError(dir);
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toContain(
      'legal/procedures.yaml: procedure 074-01: has no effectiveTo but clause 74 ends (2030-03-31)',
    );
  });

  it('accepts procedures in force exactly as long as their clause', () => {
    const dir = copyOfLegal();
    editFile(dir, 'clauses.yaml', (clauses) => {
      entry(clauses, 'clauseNo', '74').effectiveTo = '2030-03-31';
    });
    editFile(dir, 'procedures.yaml', (procedures) => {
      entry(procedures, 'procedureId', '074-01').effectiveTo = '2030-03-31';
      entry(procedures, 'procedureId', '074-02').effectiveTo = '2030-03-31';
    });
    expect(loadLegalTable(dir).findProcedure('074-01')?.effectiveTo).toBe('2030-03-31');
  });

  it('names overlapping layout versions and the date to end the older one', () => {
    const dir = brokenCopy('items.yaml', (items) => {
      layout(items, 2, '2017.07').effectiveTo = '2020-06-08';
    });
    const error = loadError(dir);
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toContain('legal/items.yaml: item 2: layout 2017.07');
    expect(error.message).toContain('overlaps layout 2020.06');
    expect(error.message).toContain('effectiveTo before 2020-06-08');
  });

  it('names an older layout version left open-ended', () => {
    const dir = brokenCopy('items.yaml', (items) => {
      delete layout(items, 2, '2017.07').effectiveTo;
    });
    const error = loadError(dir);
    expect(error.message).toContain('legal/items.yaml: item 2: layout 2017.07: overlaps layout 2020.06');
  });

  it('names a layout whose example is invalid against its own fields', () => {
    const dir = brokenCopy('items.yaml', (items) => {
      const example = layout(items, 2, '2020.06').example as Entry;
      delete example.perCapitaLevy;
    });
    const error = loadError(dir);
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toContain('legal/items.yaml: item 2: layout 2020.06');
    expect(error.message).toContain('its example is invalid: perCapitaLevy');
  });

  it('names an unknown institution kind and the kinds it may be', () => {
    const dir = brokenCopy('clauses.yaml', (clauses) => {
      entry(clauses, 'clauseNo', '74').requester = { kinds: ['town_hall'] };
    });
    const error = loadError(dir);
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toContain('legal/clauses.yaml: clause 74: requester.kinds.0');
    expect(error.message).toContain('municipality');
  });

  it('refuses a layout field named like an Individual Number', () => {
    const dir = brokenCopy('items.yaml', (items) => {
      const version = layout(items, 1, '2019.06');
      (version.fields as Entry[]).push({
        name: 'myNumber',
        label: '番号',
        labelEn: 'Number',
        type: 'string',
        required: false,
      });
    });
    const error = loadError(dir);
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toContain('legal/items.yaml: item 1: layout 2019.06');
    expect(error.message).toContain('field myNumber looks like an Individual Number');
  });

  it('refuses a layout field labelled 個人番号 whatever its name', () => {
    const dir = brokenCopy('items.yaml', (items) => {
      const version = layout(items, 1, '2019.06');
      (version.fields as Entry[]).push({
        name: 'personNo',
        label: '個人番号',
        labelEn: 'Person number',
        type: 'string',
        required: false,
      });
    });
    expect(loadError(dir).message).toContain('field personNo looks like an Individual Number');
  });

  it('refuses a layout field labelled Individual Number in English whatever its name', () => {
    const dir = brokenCopy('items.yaml', (items) => {
      const version = layout(items, 1, '2019.06');
      (version.fields as Entry[]).push({
        name: 'personNo',
        label: '番号',
        labelEn: 'Individual Number',
        type: 'string',
        required: false,
      });
    });
    expect(loadError(dir).message).toContain('field personNo looks like an Individual Number');
  });

  it('names the file that is not valid YAML', () => {
    const dir = copyOfLegal();
    writeFileSync(join(dir, 'clauses.yaml'), "- clauseNo: '74'\n  business: [unclosed\n");
    const error = loadError(dir);
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toContain('legal/clauses.yaml: is not valid YAML');
  });

  it('names the file that is missing', () => {
    const dir = copyOfLegal();
    unlinkSync(join(dir, 'items.yaml'));
    const error = loadError(dir);
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toContain('legal/items.yaml: cannot be read');
  });

  it('names an empty list entry by its position instead of crashing', () => {
    const dir = copyOfLegal();
    const path = join(dir, 'procedures.yaml');
    writeFileSync(path, `${readFileSync(path, 'utf8')}\n-\n`);
    const error = loadError(dir);
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toMatch(/legal\/procedures\.yaml: procedure #\d+: /);
  });

  it('refuses the old shape of attachmentsOmitted (bare names) and shows the new one', () => {
    const dir = brokenCopy('procedures.yaml', (procedures) => {
      entry(procedures, 'procedureId', '074-01').attachmentsOmitted = ['課税証明書', '住民票'];
    });
    const error = loadError(dir);
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toBe(
      'legal/procedures.yaml: procedure 074-01: attachmentsOmitted.0: is a bare name (the old shape); write { name: 課税証明書, nameEn: ..., itemNos: [...] } with its English name and the items that replace it',
    );
  });

  it('names an attachment replaced by an item the procedure does not ask for', () => {
    const dir = brokenCopy('procedures.yaml', (procedures) => {
      entry(procedures, 'procedureId', '074-01').attachmentsOmitted = [
        { name: '課税証明書', nameEn: 'Tax certificate', itemNos: [2] },
        { name: '住民票', nameEn: 'Certificate of residence', itemNos: [1, 11] },
      ];
    });
    expect(loadError(dir).message).toBe(
      'legal/procedures.yaml: procedure 074-01: attachmentsOmitted[1].itemNos[1]: item 11 replaces 住民票 but the procedure does not ask for it; add it to itemNos or drop it here',
    );
  });

  it('names an item that replaces no attachment unless it is marked as replacing none', () => {
    const unmapped = brokenCopy('procedures.yaml', (procedures) => {
      entry(procedures, 'procedureId', '074-01').attachmentsOmitted = [
        { name: '課税証明書', nameEn: 'Tax certificate', itemNos: [2] },
      ];
    });
    expect(loadError(unmapped).message).toBe(
      'legal/procedures.yaml: procedure 074-01: itemNos[0]: item 1 replaces no attachment in attachmentsOmitted; map it to the attachment it replaces or list it in itemNosWithoutAttachment',
    );

    const marked = brokenCopy('procedures.yaml', (procedures) => {
      const procedure = entry(procedures, 'procedureId', '074-01');
      procedure.attachmentsOmitted = [{ name: '課税証明書', nameEn: 'Tax certificate', itemNos: [2] }];
      procedure.itemNosWithoutAttachment = [1];
    });
    expect(loadLegalTable(marked).findProcedure('074-01')?.itemNosWithoutAttachment).toEqual([1]);

    const both = brokenCopy('procedures.yaml', (procedures) => {
      entry(procedures, 'procedureId', '074-01').itemNosWithoutAttachment = [2];
    });
    expect(loadError(both).message).toContain('itemNosWithoutAttachment[0]: item 2 replaces an attachment');
  });

  it('names an attachment listed twice in one procedure', () => {
    const dir = brokenCopy('procedures.yaml', (procedures) => {
      const attachments = entry(procedures, 'procedureId', '074-01').attachmentsOmitted as Entry[];
      attachments.push({ name: '住民票', nameEn: 'Certificate of residence', itemNos: [1] });
    });
    expect(loadError(dir).message).toContain(
      'procedure 074-01: attachmentsOmitted[2]: 住民票 is listed twice',
    );
  });

  it('names the entry and field of a value of the wrong type', () => {
    const dir = brokenCopy('procedures.yaml', (procedures) => {
      entry(procedures, 'procedureId', '057-01').attachmentsOmitted = '住民票';
    });
    const error = loadError(dir);
    expect(error.message).toContain('legal/procedures.yaml: procedure 057-01: attachmentsOmitted');
  });
});

/**
 * The pages shown in English (the portal, the card reader, the consoles) read the English names from
 * the table itself, so the loader requires one wherever a page shows the Japanese: a new entry without
 * its English fails start-up instead of showing Japanese on an English page.
 */
describe('English names', () => {
  const JAPANESE = /[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]/;

  const missing: [string, FileName, (entries: Entry[]) => void, string][] = [
    [
      'a clause without the English title of its law',
      'clauses.yaml',
      (clauses) => delete entry(clauses, 'clauseNo', '74').lawEn,
      'legal/clauses.yaml: clause 74: lawEn: ',
    ],
    [
      'a clause without its business in English',
      'clauses.yaml',
      (clauses) => delete entry(clauses, 'clauseNo', '74').businessEn,
      'legal/clauses.yaml: clause 74: businessEn: ',
    ],
    [
      'a procedure without its English name',
      'procedures.yaml',
      (procedures) => delete entry(procedures, 'procedureId', '074-01').nameEn,
      'legal/procedures.yaml: procedure 074-01: nameEn: ',
    ],
    [
      'a procedure without where it is applied to in English',
      'procedures.yaml',
      (procedures) => delete entry(procedures, 'procedureId', '074-01').appliedToEn,
      'legal/procedures.yaml: procedure 074-01: appliedToEn: ',
    ],
    [
      'an omitted attachment without its English name',
      'procedures.yaml',
      (procedures) => {
        const attachments = entry(procedures, 'procedureId', '074-01').attachmentsOmitted as Entry[];
        delete attachments[0]?.nameEn;
      },
      'legal/procedures.yaml: procedure 074-01: attachmentsOmitted.0',
    ],
    [
      'an item without its English name',
      'items.yaml',
      (items) => delete entry(items, 'itemNo', 2).nameEn,
      'legal/items.yaml: item 2: nameEn: ',
    ],
    [
      'a layout field without its English label',
      'items.yaml',
      (items) => {
        const fields = layout(items, 2, '2020.06').fields as Entry[];
        delete fields[1]?.labelEn;
      },
      'legal/items.yaml: item 2: layouts.1.fields.1.labelEn: ',
    ],
  ];
  for (const [name, file, change, where] of missing) {
    it(`refuses ${name}, naming the entry`, () => {
      const error = loadError(brokenCopy(file, change));
      expect(error.code).toBe('ERR_CONFIG_INVALID');
      expect(error.message).toContain(where);
    });
  }

  it('refuses two English names for one document, naming both procedures', () => {
    const dir = brokenCopy('procedures.yaml', (procedures) => {
      const attachments = entry(procedures, 'procedureId', '074-02').attachmentsOmitted as Entry[];
      const residence = attachments.find((a) => a.name === '住民票');
      if (!residence) throw new Error('test setup: 074-02 omits no 住民票');
      residence.nameEn = 'Residence record';
    });
    const message = loadError(dir).message;
    expect(message).toContain('legal/procedures.yaml: procedure 074-02: attachmentsOmitted[');
    expect(message).toContain(
      '住民票 is "Residence record" here but "Certificate of residence" in procedure',
    );
  });

  it('gives every entry of the repository legal/ an English name with no Japanese in it', () => {
    const table = loadLegalTable();
    const english: [string, string][] = [
      ...table.clauses.flatMap((c): [string, string][] => [
        [`clause ${c.clauseNo} businessEn`, c.businessEn],
        [`clause ${c.clauseNo} lawEn`, c.lawEn],
      ]),
      ...table.procedures.flatMap((p): [string, string][] => [
        [`procedure ${p.procedureId} nameEn`, p.nameEn],
        [`procedure ${p.procedureId} appliedToEn`, p.appliedToEn],
        ...p.attachmentsOmitted.map((a): [string, string] => [`${p.procedureId} ${a.name}`, a.nameEn]),
      ]),
      ...table.items.flatMap((i): [string, string][] => [
        [`item ${i.itemNo} nameEn`, i.nameEn],
        ...i.layouts.flatMap((l) =>
          l.fields.map((f): [string, string] => [`item ${i.itemNo} ${l.version} ${f.name}`, f.labelEn]),
        ),
      ]),
    ];
    expect(english.length).toBeGreaterThan(200);
    expect(english.filter(([, text]) => JAPANESE.test(text)).map(([where]) => where)).toEqual([]);
    expect(
      table
        .findItem(2)
        ?.layouts.at(-1)
        ?.fields.find((f) => f.name === 'taxYear')?.labelEn,
    ).toBe('Tax year');
    expect(table.findClause('74')?.lawEn).toBe('Child Allowance Act');
  });
});
