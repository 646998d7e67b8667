/**
 * The download file of the corporate-number service: one row per history entry, in the order and
 * with the meaning of the NTA's resource definition (リソース定義書) for its CSV downloads, less the
 * image ids and foreign-address columns we do not keep, and with a header row naming the columns
 * (the NTA's files have none; a header makes ours self-describing). Dates are ISO 8601 (YYYY-MM-DD).
 * The README lists the columns with their Japanese names.
 */
import { csvRow } from '../../shared/csv.ts';
import type { CorporationEntry } from './corporation.ts';

/** The columns, in order: English name (the header) and the NTA's Japanese name. */
export const CORPORATION_CSV_COLUMNS = [
  ['sequenceNumber', '一連番号'],
  ['corporateNumber', '法人番号'],
  ['process', '処理区分'],
  ['correction', '訂正区分'],
  ['updateDate', '更新年月日'],
  ['changeDate', '変更年月日'],
  ['name', '商号又は名称'],
  ['kind', '法人種別'],
  ['prefecture', '国内所在地（都道府県）'],
  ['city', '国内所在地（市区町村）'],
  ['street', '国内所在地（丁目番地等）'],
  ['prefectureCode', '都道府県コード'],
  ['cityCode', '市区町村コード'],
  ['postCode', '郵便番号'],
  ['closeDate', '登記記録の閉鎖等年月日'],
  ['closeCause', '登記記録の閉鎖等の事由'],
  ['successorCorporateNumber', '承継先法人番号'],
  ['assignmentDate', '法人番号指定年月日'],
  ['latest', '最新履歴'],
  ['enName', '商号又は名称（英語表記）'],
  ['furigana', 'フリガナ'],
] as const;

export const CORPORATION_CSV_HEADER = csvRow(CORPORATION_CSV_COLUMNS.map(([name]) => name));

/** One entry as a CSV row; flags as the NTA writes them (訂正区分 and 最新履歴: 1 or 0). */
export function corporationCsvRow(entry: CorporationEntry): string {
  const { location: l } = entry;
  return csvRow([
    entry.sequenceNumber,
    entry.corporateNumber,
    entry.process,
    entry.correction ? 1 : 0,
    entry.updateDate,
    entry.changeDate,
    entry.name,
    entry.kind,
    l.prefecture,
    l.city,
    l.street,
    l.prefectureCode,
    l.cityCode,
    l.postCode,
    entry.closeDate,
    entry.closeCause,
    entry.successorCorporateNumber,
    entry.assignmentDate,
    entry.latest ? 1 : 0,
    entry.enName,
    entry.furigana,
  ]);
}
