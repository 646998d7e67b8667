/**
 * One CSV row (RFC 4180): a cell is quoted when it holds a quote, a comma or a line break, and its
 * quotes doubled; rows end in CRLF as the RFC and the spreadsheet programs clerks use expect.
 */
export function csvRow(cells: readonly (string | number | boolean | undefined)[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

export function csvCell(value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * The cells of one CSV line (RFC 4180, without the line break): quoted cells may hold commas and
 * doubled quotes. Undefined when the quotes do not balance (or a cell spans lines, which one line
 * cannot hold): the caller names the line.
 */
export function splitCsvLine(line: string): string[] | undefined {
  if (!line.includes('"')) return line.split(',');
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let cell = '';
      i++;
      for (;;) {
        const end = line.indexOf('"', i);
        if (end === -1) return undefined;
        cell += line.slice(i, end);
        if (line[end + 1] === '"') {
          cell += '"';
          i = end + 2;
        } else {
          i = end + 1;
          break;
        }
      }
      cells.push(cell);
      if (i === line.length) return cells;
      if (line[i] !== ',') return undefined;
      i++;
    } else {
      const end = line.indexOf(',', i);
      const cell = end === -1 ? line.slice(i) : line.slice(i, end);
      if (cell.includes('"')) return undefined;
      cells.push(cell);
      if (end === -1) return cells;
      i = end + 1;
    }
  }
}
