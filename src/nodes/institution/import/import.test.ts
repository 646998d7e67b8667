import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import Database from 'better-sqlite3';
import iconv from 'iconv-lite';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProvisionAnswer } from '../../../protocol/messages.ts';
import { fixedClock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import { provisionRequest, startHarness, testLegalTable, type Harness } from '../test-support.ts';
import { CsvSyntaxError, parseCsv } from './csv.ts';
import { loadFixedLengthLayout } from './fixed-length.ts';
import { parseCopies } from './parse-copies.ts';
import { readCopies, type CopiesFile } from './read-copies.ts';
import { sendCopies } from './send-copies.ts';

const ON = new Date('2025-06-02T01:00:00Z');

describe('the CSV reader', () => {
  it('reads quoted fields with commas, line breaks and doubled quotes', () => {
    const text = '\uFEFFa,b,c\r\n"1,5","say ""hi""","two\nlines"\r\n,"",x\n';
    expect(parseCsv(text)).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['1,5', 'say "hi"', 'two\nlines'] },
      { line: 4, fields: ['', '', 'x'] },
    ]);
  });

  it('refuses an unclosed quote and a quote inside an unquoted field, naming the line', () => {
    expect(() => parseCsv('a\n"open')).toThrow(CsvSyntaxError);
    expect(() => parseCsv('a\nb"c')).toThrow(/line 2/);
    expect(() => parseCsv('"a"b')).toThrow(/closing quote/);
  });
});

describe('parsing copies', () => {
  it('converts cells by the field types of the layout in force', () => {
    const csv = [
      'addresseeNumber,itemNo,fiscalYear,taxableIncome,dependants,municipality,householdHead,note',
      '100000000000001,2,2025,3200000,1,"新宿区, 東京都",,',
      '100000000000002,1,,,,,true,"a ""quoted"" note"',
    ].join('\n');
    const parsed = parseCopies(csv, 'csv', testLegalTable, ON);
    expect(parsed.problems).toEqual([]);
    expect(parsed.rows).toEqual([2, 3]);
    expect(parsed.copies).toEqual([
      {
        addresseeNumber: '100000000000001',
        itemNo: 2,
        data: { fiscalYear: 2025, taxableIncome: 3_200_000, dependants: 1, municipality: '新宿区, 東京都' },
      },
      {
        addresseeNumber: '100000000000002',
        itemNo: 1,
        data: { householdHead: true, note: 'a "quoted" note' },
      },
    ]);
  });

  it('reports every bad row by its row number, without the cell values', () => {
    const csv = [
      'addresseeNumber,itemNo,fiscalYear,taxableIncome,dependants,householdHead',
      '100000000000001,2,2025,lots,1,', // not a number
      '100000000000002,2,2025,100,1,', // fine
      '100000000000003,1,,,,maybe', // not a boolean
      '100000000000004,2,2025,100', // too few cells
      '100000000000005,9,,,,', // unknown item
      '100000000000006,2,2025,100,,', // dependants required by the layout
    ].join('\n');
    const parsed = parseCopies(csv, 'csv', testLegalTable, ON);
    expect(parsed.problems.map((p) => p.row)).toEqual([2, 4, 5, 6, 7]);
    expect(parsed.problems.map((p) => p.message).join('\n')).not.toMatch(/lots|maybe/);
    expect(parsed.copies).toHaveLength(1);
  });

  it('reads a JSON file and numbers its entries from 1', () => {
    const json = JSON.stringify([
      { addresseeNumber: 'A1', itemNo: 1, data: { householdHead: false } },
      { addresseeNumber: 'A2', itemNo: 1, data: { householdHead: 'no' } },
    ]);
    const parsed = parseCopies(json, 'json', testLegalTable, ON);
    expect(parsed.copies).toHaveLength(1);
    expect(parsed.problems).toEqual([
      {
        row: 2,
        message:
          'item 1 layout version 2020.1: householdHead: Invalid input: expected boolean, received string',
      },
    ]);
  });
});

describe('importing into an institution', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('imports copies from a CSV file', async () => {
    h = await startHarness({ clock: fixedClock(ON) });
    const persons: { addresseeNumber: string; personCode: string }[] = [];
    for (let i = 0; i < 5; i++) {
      const resident = h.newResident();
      const { addresseeNumber } = await h.client.post<{ addresseeNumber: string }>('/business/v1/persons', {
        individualNumber: resident.individualNumber,
      });
      persons.push({ addresseeNumber, personCode: resident.personCode });
    }
    const file = join(h.dir, 'tax.csv');
    writeFileSync(
      file,
      [
        'addresseeNumber,itemNo,fiscalYear,taxableIncome,dependants,municipality',
        ...persons.map((p, i) => `${p.addresseeNumber},2,2025,${1_000_000 * (i + 1)},${i},"新宿区"`),
      ].join('\r\n'),
    );
    const parsed = parseCopies(readFileSync(file, 'utf8'), 'csv', testLegalTable, ON);
    expect(parsed.problems).toEqual([]);
    let progress = 0;
    const result = await sendCopies(h.business, parsed, { batchSize: 2, onBatch: (n) => (progress += n) });
    expect(result).toEqual({ written: 5, batches: 3 });
    expect(progress).toBe(5);

    const last = persons[4]!;
    const answer = await h.client.post<ProvisionAnswer>(
      '/network/v1/provision-requests',
      provisionRequest(last.personCode, { requestedAt: ON.toISOString() }),
    );
    expect(answer.items[0]?.data).toEqual({
      fiscalYear: 2025,
      taxableIncome: 5_000_000,
      dependants: 4,
      municipality: '新宿区',
    });
  });

  it('maps a refused batch back to the rows of the file', async () => {
    h = await startHarness({ clock: fixedClock(ON) });
    const parsed = parseCopies(
      'addresseeNumber,itemNo,householdHead\nnobody,1,true\n',
      'csv',
      testLegalTable,
      ON,
    );
    const error = await sendCopies(h.business, parsed).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RenkeiError);
    expect((error as RenkeiError).details).toMatchObject({
      rows: [{ row: 2, code: 'ERR_UNKNOWN_ADDRESSEE_NUMBER' }],
      written: 0,
    });
  });
});

describe("importing business systems' files in their encodings", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  /** What the intended copies hold: kanji, kana, a full-width digit, a circled number, 髙. */
  const PLACES = ['新宿区', '三条市', '髙橋ハイツ①号', 'ｶﾅ町１丁目'];

  async function registered(count: number): Promise<string[]> {
    const numbers: string[] = [];
    for (let i = 0; i < count; i++) {
      const resident = h!.newResident();
      const { addresseeNumber } = await h!.client.post<{ addresseeNumber: string }>('/business/v1/persons', {
        individualNumber: resident.individualNumber,
      });
      numbers.push(addresseeNumber);
    }
    return numbers;
  }

  function csv(addressees: string[]): string {
    return [
      'addresseeNumber,itemNo,fiscalYear,taxableIncome,dependants,municipality',
      ...addressees.map((a, i) => `${a},2,2025,${100_000 * (i + 1)},${i},${PLACES[i % PLACES.length]}`),
    ].join('\r\n');
  }

  /** The copies the intermediate server holds, read from its database: addressee number → data. */
  function stored(): Map<string, Record<string, unknown>> {
    const db = new Database(join(h!.dir, 'institutions', '131041', 'intermediate.sqlite'), {
      readonly: true,
    });
    try {
      const rows = db.prepare('SELECT addressee_number, data FROM copies').all() as {
        addressee_number: string;
        data: string;
      }[];
      return new Map(rows.map((r) => [r.addressee_number, JSON.parse(r.data) as Record<string, unknown>]));
    } finally {
      db.close();
    }
  }

  /** The command's path: read and check the whole file, send only if nothing is wrong. */
  async function importFile(path: string, file: CopiesFile) {
    const parsed = readCopies(readFileSync(path), file, testLegalTable, ON);
    expect(parsed.problems).toEqual([]);
    await sendCopies(h!.business, parsed);
    return parsed.decoding;
  }

  function refused(path: string, file: CopiesFile): RenkeiError {
    try {
      readCopies(readFileSync(path), file, testLegalTable, ON);
    } catch (error) {
      if (error instanceof RenkeiError) return error;
      throw error;
    }
    throw new Error('expected the file to be refused');
  }

  it('imports a Shift_JIS CSV with kanji, and the stored copy is the intended text', async () => {
    h = await startHarness({ clock: fixedClock(ON) });
    const addressees = await registered(4);
    const path = join(h.dir, 'tax-sjis.csv');
    writeFileSync(path, iconv.encode(csv(addressees), 'cp932'));
    expect(await importFile(path, { format: 'csv', encoding: 'auto' })).toEqual({
      encoding: 'shift_jis',
      bom: false,
      detected: true,
    });
    const copies = stored();
    addressees.forEach((a, i) => expect(copies.get(a)?.municipality).toBe(PLACES[i]));
  });

  it('reads the same file as UTF-8 and as UTF-8 with BOM to the same copies as Shift_JIS', async () => {
    h = await startHarness({ clock: fixedClock(ON) });
    const addressees = await registered(4);
    const text = csv(addressees);
    const files = {
      'shift_jis.csv': iconv.encode(text, 'cp932'),
      'utf-8.csv': Buffer.from(text, 'utf8'),
      'utf-8-bom.csv': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]),
    };
    const results = Object.entries(files).map(([name, bytes]) => {
      writeFileSync(join(h!.dir, name), bytes);
      return readCopies(
        readFileSync(join(h!.dir, name)),
        { format: 'csv', encoding: 'auto' },
        testLegalTable,
        ON,
      );
    });
    expect(results.map((r) => r.problems)).toEqual([[], [], []]);
    expect(results[1]!.copies).toEqual(results[0]!.copies);
    expect(results[2]!.copies).toEqual(results[0]!.copies);
    expect(results.map((r) => r.copies[2]?.data.municipality)).toEqual(Array(3).fill(PLACES[2]));
    await importFile(join(h.dir, 'utf-8-bom.csv'), { format: 'csv', encoding: 'utf-8-bom' });
    expect(stored().get(addressees[3]!)?.municipality).toBe(PLACES[3]);
  });

  it('refuses a Shift_JIS file declared UTF-8, naming the first row with kanji, and stores nothing', async () => {
    h = await startHarness({ clock: fixedClock(ON) });
    const addressees = await registered(3);
    const text = [
      'addresseeNumber,itemNo,fiscalYear,taxableIncome,dependants,municipality',
      `${addressees[0]},2,2025,100,0,`, // ASCII only: the same in both encodings
      `${addressees[1]},2,2025,200,1,三条市`,
      `${addressees[2]},2,2025,300,2,新宿区`,
    ].join('\n');
    const path = join(h.dir, 'declared-wrong.csv');
    writeFileSync(path, iconv.encode(text, 'cp932'));
    const error = refused(path, { format: 'csv', encoding: 'utf-8' });
    expect(error.code).toBe('ERR_ENCODING');
    expect(error.details.line).toBe(3);
    expect(error.message).toMatch(/^Line 3 is not valid UTF-8\. .*--encoding shift_jis/);
    expect(error.message).not.toContain(addressees[1]);
    expect(stored().size).toBe(0);
  });

  it('refuses a file with an invalid byte sequence on row 4, naming it, and stores none of its rows', async () => {
    h = await startHarness({ clock: fixedClock(ON) });
    const addressees = await registered(4);
    const lines = csv(addressees).split('\r\n');
    const bytes = Buffer.concat([
      iconv.encode(lines.slice(0, 3).join('\r\n') + '\r\n', 'cp932'),
      // Row 4: a Shift_JIS lead byte followed by a byte that cannot trail it.
      iconv.encode(lines[3]!.replace(/,[^,]*$/, ','), 'cp932'),
      Buffer.from([0x88, 0x20]),
      iconv.encode('\r\n' + lines.slice(4).join('\r\n'), 'cp932'),
    ]);
    const path = join(h.dir, 'broken-row-4.csv');
    writeFileSync(path, bytes);
    for (const encoding of ['auto', 'shift_jis'] as const) {
      const error = refused(path, { format: 'csv', encoding });
      expect(error.code).toBe('ERR_ENCODING');
      expect(error.details.line).toBe(4);
      expect(error.message).toMatch(/line 4|Line 4/);
    }
    expect(stored().size).toBe(0);
  });

  it('imports a fixed-length Shift_JIS file whose fields count full-width characters as 2 bytes', async () => {
    h = await startHarness({ clock: fixedClock(ON) });
    const addressees = await registered(3);
    const layoutPath = join(h.dir, 'tax.layout.yaml');
    writeFileSync(
      layoutPath,
      [
        'recordLength: 55',
        'encoding: shift_jis',
        'itemNo: 2',
        'fields:',
        '  - { name: addresseeNumber, offset: 0, length: 15 }',
        '  - { name: fiscalYear, offset: 15, length: 4 }',
        '  - { name: taxableIncome, offset: 19, length: 10 }',
        '  - { name: dependants, offset: 29, length: 2 }',
        '  - { name: municipality, offset: 31, length: 24 }',
      ].join('\n'),
    );
    /** A Shift_JIS field of `bytes` bytes, padded on the right with half-width spaces. */
    const field = (text: string, bytes: number) => {
      const encoded = iconv.encode(text, 'cp932');
      expect(encoded.length).toBeLessThanOrEqual(bytes);
      return Buffer.concat([encoded, Buffer.alloc(bytes - encoded.length, 0x20)]);
    };
    const places = ['新宿区西新宿二丁目　', '髙橋ハイツ①号', 'ｶﾅ町１'];
    const records = addressees.map((a, i) =>
      Buffer.concat([
        field(a.padEnd(15), 15),
        field('2025', 4),
        field(String(1_000_000 * (i + 1)).padStart(10, '0'), 10),
        field(String(i), 2),
        field(places[i]!, 24),
      ]),
    );
    // Records end with CRLF here; the same records back to back (no separator) read the same.
    const path = join(h.dir, 'tax.dat');
    writeFileSync(path, Buffer.concat(records.flatMap((r) => [r, Buffer.from('\r\n')])));
    const joined = join(h.dir, 'tax-joined.dat');
    writeFileSync(joined, Buffer.concat(records));
    const layout = loadFixedLengthLayout(layoutPath);
    const fromJoined = readCopies(
      readFileSync(joined),
      { format: 'fixed-length', encoding: 'auto', layout },
      testLegalTable,
      ON,
    );
    expect(fromJoined.problems).toEqual([]);

    const decoding = await importFile(path, { format: 'fixed-length', encoding: 'auto', layout });
    expect(decoding.encoding).toBe('shift_jis');
    const copies = stored();
    expect(copies.get(addressees[0]!)).toEqual({
      fiscalYear: 2025,
      taxableIncome: 1_000_000,
      dependants: 0,
      municipality: '新宿区西新宿二丁目', // the full-width space of padding is trimmed
    });
    expect(copies.get(addressees[1]!)?.municipality).toBe('髙橋ハイツ①号');
    expect(copies.get(addressees[2]!)).toMatchObject({ taxableIncome: 3_000_000, municipality: 'ｶﾅ町１' });
    expect(fromJoined.copies).toEqual(
      addressees.map((a) => ({ addresseeNumber: a, itemNo: 2, data: copies.get(a) })),
    );
  });

  it('refuses a layout file with overlapping fields, a field past the record, or no addressee number', () => {
    const dir = mkdtempSync(join(tmpdir(), 'renkei-layout-'));
    try {
      const load = (text: string) => {
        writeFileSync(join(dir, 'layout.yaml'), text);
        return () => loadFixedLengthLayout(join(dir, 'layout.yaml'));
      };
      const fields = (...lines: string[]) =>
        ['recordLength: 10', 'itemNo: 1', 'fields:', ...lines].join('\n');
      expect(
        load(
          fields(
            '  - { name: addresseeNumber, offset: 0, length: 5 }',
            '  - { name: note, offset: 4, length: 3 }',
          ),
        ),
      ).toThrow(/note overlaps addresseeNumber/);
      expect(
        load(
          fields(
            '  - { name: addresseeNumber, offset: 0, length: 5 }',
            '  - { name: note, offset: 5, length: 6 }',
          ),
        ),
      ).toThrow(/ends at byte 11, past recordLength 10/);
      expect(load(fields('  - { name: note, offset: 0, length: 5 }'))).toThrow(
        /needs a field named addresseeNumber/,
      );
      expect(
        load(
          fields(
            '  - { name: addresseeNumber, offset: 0, length: 5 }',
            '  - { name: itemNo, offset: 5, length: 1 }',
          ),
        ),
      ).toThrow(/either itemNo .* not both/);
      expect(load('recordLength: [')).toThrow(/^--layout .*layout\.yaml: not valid YAML/);
      expect(() => loadFixedLengthLayout(join(dir, 'missing.yaml'))).toThrow(/missing\.yaml: no such file$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a fixed-length layout that cuts a full-width character in two, naming the record and field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'renkei-fixed-'));
    try {
      const layoutPath = join(dir, 'cut.layout.yaml');
      writeFileSync(
        layoutPath,
        [
          'recordLength: 9',
          'itemNo: 1',
          'fields:',
          '  - { name: addresseeNumber, offset: 0, length: 3 }',
          '  - { name: note, offset: 3, length: 5 }',
          '  - { name: householdHead, offset: 8, length: 1 }',
        ].join('\n'),
      );
      const layout = loadFixedLengthLayout(layoutPath);
      const read = (name: string, text: string) => {
        writeFileSync(join(dir, name), iconv.encode(text, 'cp932'));
        return () =>
          readCopies(
            readFileSync(join(dir, name)),
            { format: 'fixed-length', encoding: 'auto', layout },
            testLegalTable,
            ON,
          );
      };
      // Record 2 decodes as a whole, but its addresseeNumber field ends with the first byte of あ.
      const cut = read('cut.dat', 'A12abcde1\nA2あいう0\n');
      expect(cut).toThrow(RenkeiError);
      expect(cut).toThrow(/^Record 2, field addresseeNumber: .*check the layout/);
      // A record of the wrong length is a problem of that record, never re-aligned.
      const short = read('short.dat', 'A12abcde1\r\nA13abcd1\r\n')();
      expect(short.problems).toEqual([
        { row: 2, message: "is 8 bytes long; the layout's recordLength is 9" },
      ]);
      expect(short.copies).toEqual([
        { addresseeNumber: 'A12', itemNo: 1, data: { note: 'abcde', householdHead: true } },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
