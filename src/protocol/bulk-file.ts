/**
 * The file of a bulk inquiry (一括照会) as a business system or a clerk hands it over: one addressee
 * number per line (a CSV column of them, with or without the header `addresseeNumber`), or JSON lines
 * (`{"addresseeNumber": "…"}`). Every line is checked before anything is sent; a bad line is named and
 * nothing is sent. The results go back as JSON lines or CSV, one row per person in the file's order.
 * `renkei bulk submit` and the clerk console's 一括照会 page read and write the same formats.
 */
import { RenkeiError } from '../shared/errors.ts';
import { csvCell } from '../shared/csv.ts';
import { MAX_BULK_PERSONS, type BulkResult } from './business.ts';
import { AddresseeNumber } from './identifiers.ts';

/** The file's addressee numbers. Errors: ERR_VALIDATION naming `source` and the first bad lines. */
export function parseAddresseeNumbers(
  text: string,
  options: { jsonLines: boolean; source: string },
): string[] {
  const { source } = options;
  const numbers: string[] = [];
  const bad: number[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    let value: unknown;
    if (options.jsonLines) {
      try {
        value = (JSON.parse(line) as { addresseeNumber?: unknown }).addresseeNumber;
      } catch {
        value = undefined;
      }
    } else {
      value = line
        .split(',')[0]
        ?.trim()
        .replace(/^"(.*)"$/, '$1');
      if (index === 0 && value === 'addresseeNumber') return; // the CSV header
    }
    const checked = AddresseeNumber.safeParse(value);
    if (checked.success) numbers.push(checked.data);
    else bad.push(index + 1);
  });
  if (bad.length > 0) {
    const lineWord = bad.length === 1 ? 'line' : 'lines';
    throw new RenkeiError(
      'ERR_VALIDATION',
      `${source}: ${bad.length} ${lineWord} without a valid addressee number (line ${bad
        .slice(0, 10)
        .join(', ')}${bad.length > 10 ? ', …' : ''}); nothing was sent.`,
      { lines: bad.slice(0, 10) },
    );
  }
  if (numbers.length === 0) {
    throw new RenkeiError('ERR_VALIDATION', `${source} names no addressee number; nothing was sent.`);
  }
  if (numbers.length > MAX_BULK_PERSONS) {
    throw new RenkeiError(
      'ERR_VALIDATION',
      `${source} names ${numbers.length} persons; a bulk inquiry takes at most ${MAX_BULK_PERSONS}.`,
    );
  }
  return numbers;
}

export const BULK_RESULTS_CSV_HEADER = 'position,addresseeNumber,processingNumber,outcome,reason,items\n';

/** One result as a CSV line (the items as JSON in one cell). */
export function bulkResultCsvRow(r: BulkResult): string {
  return `${[
    String(r.position),
    r.addresseeNumber,
    r.processingNumber ?? '',
    r.outcome,
    r.reason ?? '',
    r.items === undefined ? '' : JSON.stringify(r.items),
  ]
    .map(csvCell)
    .join(',')}\n`;
}
