/**
 * The statistics as CSV: what `GET /admin/v1/statistics` answers with `Accept: text/csv` or
 * `format=csv`, and what `renkei stats --csv` prints (one function, so the two cannot differ).
 *
 * Columns, one row per breakdown row, the breakdowns in the order asked, after one `total` row:
 *
 * | column       | what                                                                        |
 * | ------------ | --------------------------------------------------------------------------- |
 * | `breakdown`  | `total`, `week`, `procedure`, `item`, `clause`, `requester-kind`, `provider-kind` |
 * | `key`        | the week's Monday (JST), procedure id, item number, clause number or kind   |
 * | `name`       | the legal table's name, the week's days (月〜日), the kind in Japanese always  |
 * | `provisions` | provided (提供件数)                                                          |
 * | `not_held`, `refused`, `failed`, `pending` | the other outcomes                            |
 * | `total`      | every inquiry recorded                                                       |
 * | `from`, `to` | the period (JST days, inclusive), empty where open                           |
 *
 * UTF-8 with a byte-order mark and CRLF line ends (RFC 4180): Excel on a Japanese Windows reads a
 * CSV without the mark as Shift_JIS and garbles the names. We considered answering Shift_JIS
 * (iconv-lite is a dependency already), but the names may hold characters Shift_JIS lacks, and every
 * other tool reads UTF-8.
 */
import type { Statistics, StatisticsRow } from './admin.ts';

export const STATISTICS_CSV_COLUMNS = [
  'breakdown',
  'key',
  'name',
  'provisions',
  'not_held',
  'refused',
  'failed',
  'pending',
  'total',
  'from',
  'to',
] as const;

export const CSV_BOM = '\uFEFF';

export function statisticsCsv(statistics: Statistics): string {
  const { from, to } = statistics.period;
  const line = (breakdown: string, row: StatisticsRow) =>
    [
      breakdown,
      row.key,
      row.name ?? '',
      row.provisions,
      row.notHeld,
      row.refused,
      row.failed,
      row.pending,
      row.total,
      from ?? '',
      to ?? '',
    ]
      .map(cell)
      .join(',');
  const { byOutcome } = statistics;
  const lines = [
    STATISTICS_CSV_COLUMNS.join(','),
    line('total', {
      key: '',
      name: null,
      provisions: byOutcome.provided ?? 0,
      notHeld: byOutcome.not_held ?? 0,
      refused: byOutcome.refused ?? 0,
      failed: byOutcome.failed ?? 0,
      pending: byOutcome.pending ?? 0,
      total: statistics.total,
    }),
    ...statistics.breakdowns.flatMap(({ by, rows }) => rows.map((row) => line(by, row))),
  ];
  return `${CSV_BOM}${lines.join('\r\n')}\r\n`;
}

/**
 * A cell quoted when it must be (RFC 4180), and a text starting with `=`, `+`, `-` or `@` prefixed with
 * `'` so that a spreadsheet never runs it as a formula (the names come from the legal table, which an
 * operator loads: CSV injection is the threat).
 */
function cell(value: string | number): string {
  if (typeof value === 'number') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
