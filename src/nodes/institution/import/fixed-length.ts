/**
 * Fixed-length records (固定長), as business systems on mainframes and older servers export them: each
 * record is the same number of bytes, each field at a fixed byte offset. Offsets and lengths count
 * bytes of the encoded file, not characters: in Shift_JIS a full-width character (漢字, かな) is 2 bytes,
 * so a 20-byte name field holds 10 of them. A layout file (YAML, as `legal/` is) says where each field
 * is and which of the import's columns it fills:
 *
 * ```yaml
 * recordLength: 60          # bytes of one record, not counting a line ending
 * encoding: shift_jis       # optional: the file's encoding, as --encoding takes it (--encoding wins)
 * itemNo: 1                 # optional: every record is this item; otherwise a field named itemNo
 * fields:
 *   - { name: addresseeNumber, offset: 0, length: 15 }
 *   - { name: relationshipToHead, offset: 15, length: 20 }
 * ```
 *
 * `addresseeNumber`, `itemNo` and the item's layout field names are the CSV import's columns; a field's
 * cell is its bytes decoded, with padding — half-width and full-width (U+3000) spaces — trimmed at
 * both ends; a field of only spaces is empty and leaves the copy's field out, as an empty CSV cell
 * does. Numbers may be zero-padded (`0003200000`).
 *
 * Records end with LF or CRLF, or with nothing (the file is then cut every `recordLength` bytes): a
 * file with any 0x0A byte is read as lines, one record each (blank lines skipped), otherwise as
 * back-to-back records. A final DOS end-of-file byte (0x1A) and a UTF-8 byte-order mark are dropped.
 * A record of the wrong length is a problem of that record; it is never re-aligned.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import type { LegalTable } from '../../../domain/legal-table/types.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import {
  chooseEncoding,
  decodeClean,
  describeEncoding,
  ENCODING_OPTIONS,
  hasUtf8Bom,
  splitLines,
  type Decoding,
  type EncodingOption,
} from './decode.ts';
import { parseTable, type ImportProblem, type ParsedCopies, type TableRow } from './parse-copies.ts';

const RecordField = z.object({
  name: z.string().min(1),
  offset: z.number().int().min(0),
  length: z.number().int().min(1),
});

export const FixedLengthLayout = z
  .object({
    recordLength: z.number().int().min(1),
    encoding: z.enum(ENCODING_OPTIONS).optional(),
    itemNo: z.number().int().min(1).max(999).optional(),
    fields: z.array(RecordField).min(1),
  })
  .strict()
  .superRefine((layout, context) => {
    const names = new Set<string>();
    const spans = [...layout.fields].sort((a, b) => a.offset - b.offset);
    layout.fields.forEach((field, index) => {
      if (names.has(field.name)) {
        context.addIssue({ code: 'custom', path: ['fields', index, 'name'], message: 'is repeated' });
      }
      names.add(field.name);
      if (field.offset + field.length > layout.recordLength) {
        context.addIssue({
          code: 'custom',
          path: ['fields', index],
          message: `ends at byte ${field.offset + field.length}, past recordLength ${layout.recordLength}`,
        });
      }
    });
    for (let i = 1; i < spans.length; i++) {
      const before = spans[i - 1]!;
      const field = spans[i]!;
      if (field.offset < before.offset + before.length) {
        context.addIssue({
          code: 'custom',
          path: ['fields'],
          message: `${field.name} overlaps ${before.name}`,
        });
      }
    }
    if (!names.has('addresseeNumber')) {
      context.addIssue({ code: 'custom', path: ['fields'], message: 'needs a field named addresseeNumber' });
    }
    if (names.has('itemNo') === (layout.itemNo !== undefined)) {
      context.addIssue({
        code: 'custom',
        path: ['itemNo'],
        message: 'give either itemNo (every record is that item) or a field named itemNo, not both',
      });
    }
  });
export type FixedLengthLayout = z.infer<typeof FixedLengthLayout>;

/**
 * The layout file given to `--layout`. Errors: `ERR_VALIDATION` naming the path and each mistake
 * (missing file, not YAML, a field past the record's end, overlapping fields…).
 */
export function loadFixedLengthLayout(path: string): FixedLengthLayout {
  const refuse = (why: string) => new RenkeiError('ERR_VALIDATION', `--layout ${path}: ${why}`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT') throw refuse('no such file');
    if (code === 'EISDIR') throw refuse('is a directory, not a file');
    throw refuse(`cannot be read (${code ?? 'unknown error'})`);
  }
  let value: unknown;
  try {
    value = parse(text);
  } catch (error) {
    throw refuse(`not valid YAML (${error instanceof Error ? error.message.split('\n')[0] : 'unknown'})`);
  }
  const parsed = FixedLengthLayout.safeParse(value);
  if (!parsed.success) {
    throw refuse(
      parsed.error.issues
        .map((issue) => `${issue.path.join('.') || '(layout)'}: ${issue.message}`)
        .join('; '),
    );
  }
  return parsed.data;
}

/** Half-width and full-width spaces: the padding of fixed-length fields. */
const PADDING = /^[ \u3000]+|[ \u3000]+$/g;

/**
 * Cut a fixed-length file into records and fields, decode them and check them as CSV rows are.
 * Records are numbered from 1 (`row` in the result is the record's number). `option` is `--encoding`;
 * when it is `auto` the layout's `encoding`, if any, applies.
 *
 * Errors: `ERR_ENCODING` with `details.line` (the record): a record that does not decode cleanly (see
 * `decode.ts`), or a field whose bytes do not decode on their own — the layout cuts a character in
 * two, so its offsets are wrong for this file.
 */
export function parseFixedLength(
  bytes: Uint8Array,
  layout: FixedLengthLayout,
  option: EncodingOption,
  legalTable: LegalTable,
  on: Date,
): ParsedCopies & { decoding: Decoding } {
  const bom = hasUtf8Bom(bytes);
  let body = bom ? bytes.subarray(3) : bytes;
  if (body[body.length - 1] === 0x1a) body = body.subarray(0, body.length - 1);

  const problems: ImportProblem[] = [];
  const records: { number: number; bytes: Uint8Array }[] = [];
  if (body.includes(0x0a)) {
    splitLines(body).forEach((line, index) => {
      const record = line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line;
      if (record.length === 0) return; // a blank line
      if (record.length !== layout.recordLength) {
        problems.push({
          row: index + 1,
          message: `is ${record.length} bytes long; the layout's recordLength is ${layout.recordLength}`,
        });
        return;
      }
      records.push({ number: index + 1, bytes: record });
    });
  } else if (body.length % layout.recordLength !== 0) {
    problems.push({
      row: 0,
      message:
        `has no line breaks and is ${body.length} bytes long, not a whole number of ` +
        `${layout.recordLength}-byte records; check the layout's recordLength`,
    });
  } else {
    for (let start = 0; start < body.length; start += layout.recordLength) {
      records.push({
        number: start / layout.recordLength + 1,
        bytes: body.subarray(start, start + layout.recordLength),
      });
    }
  }

  const declared = option === 'auto' ? (layout.encoding ?? 'auto') : option;
  const decoding = chooseEncoding(
    () => records.map((r) => r.bytes),
    declared,
    bom,
    'record',
    (position) => records[position - 1]?.number ?? position,
  );

  const fields = layout.fields.filter((f) => f.name !== 'addresseeNumber' && f.name !== 'itemNo');
  const byName = new Map(layout.fields.map((f) => [f.name, f]));
  const columns = ['addresseeNumber', 'itemNo', ...fields.map((f) => f.name)];
  const rows: TableRow[] = records.map((record) => {
    const cell = (name: string): string => {
      const field = byName.get(name)!;
      const text = decodeClean(
        record.bytes.subarray(field.offset, field.offset + field.length),
        decoding.encoding,
      );
      if (text === undefined) {
        throw new RenkeiError(
          'ERR_ENCODING',
          `Record ${record.number}, field ${name}: its bytes are not whole ${describeEncoding(decoding)} ` +
            "characters, so the layout's offset or length cuts a character in two; check the layout " +
            '(offsets and lengths count bytes: a full-width character is 2 bytes in Shift_JIS, 3 in UTF-8).',
          { line: record.number, encoding: declared, field: name },
        );
      }
      return text.replace(PADDING, '');
    };
    return {
      row: record.number,
      cells: [
        cell('addresseeNumber'),
        layout.itemNo === undefined ? cell('itemNo') : String(layout.itemNo),
        ...fields.map((f) => cell(f.name)),
      ],
    };
  });
  return { ...parseTable(columns, rows, legalTable, on, problems), decoding };
}
