/**
 * Reading business-system exports into copies (副本), before anything is sent: a JSON file (an array
 * of `{addresseeNumber, itemNo, data}`, or `{copies: [...]}`) or a CSV file.
 *
 * CSV: a header row `addresseeNumber,itemNo,<field>,<field>…`, then one row per copy. Field columns
 * are the layout's field names; one file may mix items, a row filling only the columns of its item's
 * layout (other cells empty). Cells are converted per the field types of the layout in force on the
 * import date: `integer` → number, `boolean` → `true`/`false` (also `1`/`0`), `string`, `date` and
 * `enum` → text as written. An empty cell leaves the field out. Each copy is then checked against
 * the layout, as the intermediate server will check it again.
 *
 * Problems name the row (CSV: the file's row, header = row 1; JSON: the entry, first = 1) and the
 * column or field, never the cell's value.
 */
import type { LegalTable, LayoutField } from '../../../domain/legal-table/types.ts';
import { CopyInput } from '../../../protocol/business.ts';
import { CsvSyntaxError, parseCsv } from './csv.ts';

export type ImportFormat = 'csv' | 'json';

export interface ImportProblem {
  /** CSV: the row in the file (the header is row 1). JSON: the entry's position, from 1. 0: the file as a whole. */
  row: number;
  message: string;
}

export interface ParsedCopies {
  copies: CopyInput[];
  /** The row each copy came from, index for index. */
  rows: number[];
  problems: ImportProblem[];
}

export function formatOfFile(path: string): ImportFormat | undefined {
  const lower = path.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.json')) return 'json';
  return undefined;
}

/** Parse and check a file's text; `on` is the date whose layouts apply (today, for an import). */
export function parseCopies(
  text: string,
  format: ImportFormat,
  legalTable: LegalTable,
  on: Date,
): ParsedCopies {
  const result: ParsedCopies = { copies: [], rows: [], problems: [] };
  const entries = format === 'csv' ? readCsv(text, legalTable, on, result) : readJson(text, result);
  return checkEntries(entries, legalTable, on, result);
}

/** A row of cells under the columns `addresseeNumber, itemNo, <field>…`, as a CSV body row is. */
export interface TableRow {
  row: number;
  cells: string[];
}

/**
 * Parse and check rows already cut into cells (a fixed-length file's records): `columns` must start
 * with `addresseeNumber, itemNo`; cells are converted and checked as a CSV file's are. `problems` are
 * those found before (they are kept, sorted with the rest).
 */
export function parseTable(
  columns: string[],
  rows: TableRow[],
  legalTable: LegalTable,
  on: Date,
  problems: ImportProblem[] = [],
): ParsedCopies {
  if (columns[0] !== KEY_COLUMNS[0] || columns[1] !== KEY_COLUMNS[1]) {
    throw new TypeError('the columns must start with addresseeNumber, itemNo');
  }
  const result: ParsedCopies = { copies: [], rows: [], problems: [...problems] };
  return checkEntries(readRows(columns, rows, legalTable, on, result), legalTable, on, result);
}

function checkEntries(
  entries: Entry[],
  legalTable: LegalTable,
  on: Date,
  result: ParsedCopies,
): ParsedCopies {
  for (const { row, value } of entries) {
    const parsed = CopyInput.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        result.problems.push({ row, message: `${issue.path.join('.') || '(entry)'}: ${issue.message}` });
      }
      continue;
    }
    const copy = parsed.data;
    if (!legalTable.findItem(copy.itemNo)) {
      result.problems.push({ row, message: `item ${copy.itemNo} is not in the legal table` });
      continue;
    }
    const check = legalTable.checkLayout(copy.itemNo, on, copy.data);
    if (!check.ok) {
      const version = check.version === undefined ? '' : ` version ${check.version}`;
      for (const problem of check.problems) {
        result.problems.push({ row, message: `item ${copy.itemNo} layout${version}: ${problem}` });
      }
      continue;
    }
    result.copies.push(copy);
    result.rows.push(row);
  }
  result.problems.sort((a, b) => a.row - b.row);
  return result;
}

interface Entry {
  row: number;
  value: unknown;
}

function readJson(text: string, result: ParsedCopies): Entry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.startsWith('\uFEFF') ? text.slice(1) : text);
  } catch (error) {
    result.problems.push({
      row: 0,
      message: `not valid JSON (${error instanceof Error ? error.message : 'unknown'})`,
    });
    return [];
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { copies?: unknown } | null)?.copies;
  if (!Array.isArray(list)) {
    result.problems.push({
      row: 0,
      message: 'expected a JSON array of copies, or an object with a "copies" array',
    });
    return [];
  }
  return list.map((value: unknown, index) => ({ row: index + 1, value }));
}

const KEY_COLUMNS = ['addresseeNumber', 'itemNo'] as const;

function readCsv(text: string, legalTable: LegalTable, on: Date, result: ParsedCopies): Entry[] {
  let records;
  try {
    records = parseCsv(text);
  } catch (error) {
    if (error instanceof CsvSyntaxError) {
      result.problems.push({ row: error.line, message: error.message });
      return [];
    }
    throw error;
  }
  const [header, ...body] = records;
  if (!header) {
    result.problems.push({ row: 1, message: 'the file is empty; expected a header row' });
    return [];
  }
  const columns = header.fields.map((name) => name.trim());
  if (columns[0] !== KEY_COLUMNS[0] || columns[1] !== KEY_COLUMNS[1]) {
    result.problems.push({ row: 1, message: 'the header must start with addresseeNumber,itemNo' });
    return [];
  }
  const seen = new Set<string>();
  for (const name of columns.slice(2)) {
    if (name === '' || seen.has(name)) {
      result.problems.push({ row: 1, message: `column "${name}" is empty or repeated in the header` });
      return [];
    }
    seen.add(name);
  }

  // Rows are numbered as a spreadsheet shows them: the header is row 1.
  const rows = body.map((record, index) => ({ row: index + 2, cells: record.fields }));
  return readRows(columns, rows, legalTable, on, result);
}

function readRows(
  columns: string[],
  rows: TableRow[],
  legalTable: LegalTable,
  on: Date,
  result: ParsedCopies,
): Entry[] {
  const entries: Entry[] = [];
  for (const { row, cells } of rows) {
    if (cells.length === 1 && cells[0] === '') continue; // a blank line
    if (cells.length !== columns.length) {
      result.problems.push({ row, message: `has ${cells.length} cells; the header has ${columns.length}` });
      continue;
    }
    const itemText = (cells[1] ?? '').trim();
    if (!/^[0-9]{1,3}$/.test(itemText)) {
      result.problems.push({ row, message: 'itemNo: must be an item number such as 2' });
      continue;
    }
    const itemNo = Number(itemText);
    const layout = legalTable.layoutFor(itemNo, on);
    if (!layout) {
      const known = legalTable.findItem(itemNo) !== undefined;
      result.problems.push({
        row,
        message: known ? `item ${itemNo} has no layout in force` : `item ${itemNo} is not in the legal table`,
      });
      continue;
    }
    const fields = new Map(layout.fields.map((f) => [f.name, f]));
    const data: Record<string, unknown> = {};
    let ok = true;
    for (let c = 2; c < columns.length; c++) {
      const cell = cells[c] ?? '';
      if (cell === '') continue;
      const name = columns[c]!;
      const field = fields.get(name);
      if (!field) {
        result.problems.push({
          row,
          message: `column ${name} is not a field of item ${itemNo}'s layout ${layout.version}`,
        });
        ok = false;
        continue;
      }
      const converted = convertCell(cell, field);
      if (converted.ok) {
        data[name] = converted.value;
      } else {
        result.problems.push({ row, message: `column ${name}: ${converted.message}` });
        ok = false;
      }
    }
    if (ok) entries.push({ row, value: { addresseeNumber: (cells[0] ?? '').trim(), itemNo, data } });
  }
  return entries;
}

function convertCell(
  cell: string,
  field: LayoutField,
): { ok: true; value: unknown } | { ok: false; message: string } {
  switch (field.type) {
    case 'integer': {
      const text = cell.trim();
      const value = Number(text);
      if (!/^[+-]?[0-9]+$/.test(text) || !Number.isSafeInteger(value)) {
        return { ok: false, message: 'must be a whole number' };
      }
      return { ok: true, value };
    }
    case 'boolean': {
      const text = cell.trim().toLowerCase();
      if (text === 'true' || text === '1') return { ok: true, value: true };
      if (text === 'false' || text === '0') return { ok: true, value: false };
      return { ok: false, message: 'must be true or false' };
    }
    case 'string':
    case 'date':
    case 'enum':
      return { ok: true, value: cell };
  }
}
