/**
 * A small RFC 4180 reader: comma-separated fields, records ended by CRLF or LF, fields optionally in
 * double quotes, where a quoted field may hold commas, line breaks and `""` for a quote. A leading
 * UTF-8 byte-order mark (which Excel writes) is dropped, and so is a final line break.
 *
 * Written here rather than adding a dependency: the format is small, and business systems' exports
 * are what it must read; what it refuses (a quote inside an unquoted field, an unclosed quote) it
 * names by line, since silently guessing would load wrong data.
 */
export interface CsvRecord {
  /** The 1-based line on which the record starts. */
  line: number;
  fields: string[];
}

export class CsvSyntaxError extends Error {
  override readonly name = 'CsvSyntaxError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

export function parseCsv(text: string): CsvRecord[] {
  const input = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let i = 0;
  let quoted = false; // the current field started with a quote
  let inQuotes = false; // inside the quotes of a quoted field
  let fieldStarted = false;

  const endField = () => {
    fields.push(field);
    field = '';
    quoted = false;
    fieldStarted = false;
  };
  const endRecord = () => {
    endField();
    records.push({ line: recordLine, fields });
    fields = [];
  };

  while (i < input.length) {
    const c = input[i]!;
    if (inQuotes) {
      if (c === '"') {
        if (input[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        inQuotes = false;
        i++;
        continue;
      }
      if (c === '\n') line++;
      field += c;
      i++;
      continue;
    }
    if (c === ',') {
      endField();
      i++;
      continue;
    }
    if (c === '\r' && input[i + 1] === '\n') i++;
    if (c === '\n' || c === '\r') {
      endRecord();
      line++;
      recordLine = line;
      i++;
      continue;
    }
    if (quoted)
      throw new CsvSyntaxError(line, 'text after a closing quote; write a quote inside quotes as "".');
    if (c === '"') {
      if (fieldStarted)
        throw new CsvSyntaxError(line, 'a quote inside an unquoted field; quote the whole field.');
      quoted = true;
      inQuotes = true;
      fieldStarted = true;
      i++;
      continue;
    }
    field += c;
    fieldStarted = true;
    i++;
  }
  if (inQuotes) throw new CsvSyntaxError(recordLine, 'a quoted field is not closed.');
  // A final line break does not start an empty record.
  if (fieldStarted || quoted || fields.length > 0) endRecord();
  return records;
}
