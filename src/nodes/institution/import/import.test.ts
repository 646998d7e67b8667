import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProvisionAnswer } from '../../../protocol/messages.ts';
import { fixedClock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import { startHarness, testLegalTable, type Harness } from '../test-support.ts';
import { CsvSyntaxError, parseCsv } from './csv.ts';
import { parseCopies } from './parse-copies.ts';
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
    const answer = await h.client.post<ProvisionAnswer>('/network/v1/provision-requests', {
      processingNumber: uuidv7(),
      requesterId: '152048',
      personCode: last.personCode,
      clauseNo: '74',
      procedureId: '074-01',
      itemNos: [2],
      requestedAt: ON.toISOString(),
      nonDisclosure: false,
    });
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
