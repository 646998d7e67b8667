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
