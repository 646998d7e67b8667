import { readFileSync } from 'node:fs';
import { describePostgres, type PostgresOption } from '../shared/db.ts';
import { RenkeiError } from '../shared/errors.ts';
import Table from 'cli-table3';
import stringWidth from 'string-width';

/**
 * A readable table for a person at a terminal (never a JSON dump). On a terminal it is fitted to the
 * terminal's width: the widest columns are narrowed first and their cells wrapped. Piped into a file
 * or another program, it keeps its natural width.
 */
export function table(head: string[], rows: (string | number)[][]): string {
  // Colour only on a terminal: piped into a file or another program, escape codes are noise.
  const colour = process.stdout.isTTY;
  const cells = rows.map((row) => row.map(String));
  const colWidths = colour ? fitColumns([head, ...cells], process.stdout.columns) : undefined;
  const t = new Table({
    head: colWidths ? head.map((h, i) => wrapText(h, (colWidths[i] ?? 0) - PADDING)) : head,
    style: colour ? { head: ['cyan'], border: ['grey'] } : { head: [], border: [] },
    wordWrap: true,
    ...(colWidths ? { colWidths } : {}),
  });
  for (const row of cells) {
    t.push(colWidths ? row.map((cell, i) => wrapText(cell, (colWidths[i] ?? 0) - PADDING)) : row);
  }
  return t.toString();
}

/** cli-table3's default padding: one space either side of a cell. */
const PADDING = 2;
/** No column is narrowed below this many characters of text (or its natural width, if smaller). */
const MIN_TEXT_WIDTH = 6;

/**
 * Column widths (padding included, as cli-table3's `colWidths` counts them) that fit `columns`
 * terminal columns, narrowing the widest column one character at a time; `undefined` when the table
 * fits as it is (or the width is unknown). Columns never go below a readable minimum, so a very
 * narrow terminal still gets a table wider than itself rather than one character per line.
 */
export function fitColumns(rows: string[][], columns: number | undefined): number[] | undefined {
  if (!columns || columns <= 0) return undefined;
  const count = Math.max(0, ...rows.map((r) => r.length));
  const natural = Array.from(
    { length: count },
    (_, i) =>
      Math.max(0, ...rows.map((r) => Math.max(0, ...(r[i] ?? '').split('\n').map(textWidth)))) + PADDING,
  );
  const borders = count + 1;
  const total = (widths: number[]) => widths.reduce((a, b) => a + b, borders);
  if (total(natural) <= columns) return undefined;
  const floor = natural.map((w) => Math.min(w, MIN_TEXT_WIDTH + PADDING));
  const widths = [...natural];
  while (total(widths) > columns) {
    let widest = -1;
    for (let i = 0; i < count; i++) {
      if (widths[i]! > floor[i]! && (widest < 0 || widths[i]! > widths[widest]!)) widest = i;
    }
    if (widest < 0) break;
    widths[widest]!--;
  }
  return widths;
}

/**
 * `text` wrapped to lines of at most `width` terminal columns: at spaces where it can, and inside a
 * word (as Japanese, written without spaces, needs) where it must. cli-table3's own wrapping counts
 * a full-width character as one column and cuts a long word short with `…`.
 */
export function wrapText(text: string, width: number): string {
  if (width <= 0) return text;
  const out: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    let lineWidth = 0;
    for (const token of paragraph.split(/(\s+)/)) {
      if (token === '') continue;
      const tokenWidth = textWidth(token);
      if (/^\s+$/.test(token)) {
        // A space at the end of a line becomes the line break.
        if (lineWidth > 0 && lineWidth + tokenWidth < width) {
          line += token;
          lineWidth += tokenWidth;
        } else if (lineWidth > 0) {
          out.push(line);
          line = '';
          lineWidth = 0;
        }
        continue;
      }
      if (lineWidth + tokenWidth <= width) {
        line += token;
        lineWidth += tokenWidth;
        continue;
      }
      if (lineWidth > 0 && tokenWidth <= width) {
        out.push(line.trimEnd());
        line = token;
        lineWidth = tokenWidth;
        continue;
      }
      for (const char of token) {
        const w = textWidth(char);
        if (lineWidth + w > width && lineWidth > 0) {
          out.push(line.trimEnd());
          line = '';
          lineWidth = 0;
        }
        line += char;
        lineWidth += w;
      }
    }
    out.push(line.trimEnd());
  }
  return out.join('\n');
}

/**
 * Terminal columns `text` takes: two for each East Asian wide or full-width character, none for
 * escape codes or combining marks (string-width, the measure cli-table3 itself uses).
 */
export const textWidth: (text: string) => number = stringWidth;

/** The options every command shares, read from the root program. */
export interface GlobalOptions {
  dataDir: string;
}

/**
 * A command-line option that must be a whole number in [min, max], written in plain decimal digits
 * (not `1e2`, `0x10`, ` 12` or `12.0`): its value, or ERR_VALIDATION naming the flag and the range
 * (the CLI prints it and exits 1).
 */
export function wholeNumberOption(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    const range = Number.isFinite(max) ? `from ${min} to ${max}` : `of at least ${min}`;
    throw new RenkeiError('ERR_VALIDATION', `${flag} must be a whole number ${range}.`);
  }
  return n;
}

/** A command-line option checked by a schema of the protocol: its value, or ERR_VALIDATION naming the flag. */
export function schemaOption<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
  value: string,
  flag: string,
): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new RenkeiError('ERR_VALIDATION', `${flag} ${value} is not valid.`);
  return result.data;
}

/** `--items 1,2`: item numbers, each checked by `itemNo`; ERR_VALIDATION naming the token as typed. */
export function itemNosOption(
  list: string,
  itemNo: { safeParse(v: unknown): { success: true; data: number } | { success: false } },
): number[] {
  return list.split(',').map((token) => {
    const result = itemNo.safeParse(/^\s*\d+\s*$/.test(token) ? Number(token) : undefined);
    if (!result.success) {
      throw new RenkeiError(
        'ERR_VALIDATION',
        `--items ${list}: "${token.trim()}" is not an item number (e.g. 2 or 1,2).`,
      );
    }
    return result.data;
  });
}

/** `1 resident`, `2 residents`: a count and its noun, plural when the count is not 1. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

/**
 * `--database <url>`: a PostgreSQL connection for the network's databases (SQLite files under the
 * data directory without it). ERR_CONFIG_INVALID for anything but a postgres:// URL.
 */
export function databaseOption(url: string | undefined): { postgres?: PostgresOption } {
  if (url === undefined) return {};
  describePostgres(url); // throws ERR_CONFIG_INVALID for a URL that is not PostgreSQL's
  return { postgres: { url } };
}

export const DATABASE_HELP =
  'keep the databases in this PostgreSQL database (postgres://user@host:5432/db), one schema each; SQLite files otherwise';

/**
 * The bytes of the file given to `flag` (decoded later, in its declared or detected encoding), read before anything else is checked: ERR_VALIDATION naming
 * the flag and the path when there is no such file, it is a directory, or it cannot be read.
 */
export function readFileArgument(path: string, flag: string): Buffer {
  const refuse = (why: string) => new RenkeiError('ERR_VALIDATION', `${flag} ${path}: ${why}`);
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EISDIR') throw refuse('is a directory, not a file');
    if (code === 'ENOENT') throw refuse('no such file');
    throw refuse(`cannot be read (${code ?? 'unknown error'})`);
  }
}
