/**
 * Seed 000's figures of the network's provisions, as data: what `renkei bench --statistics <n>`
 * generates a load after and prints beside the core's statistics. Source: seed 000
 * (/work/shared/seeds/000_*, 「マイナンバー制度による情報連携」令和2年5月) p.5 「情報連携の現状」:
 * 情報提供件数 from 平成29年7月18日 to 令和2年5月7日, 「情報照会している主な事務手続及び件数」 and
 * 「情報提供されている主な特定個人情報及び件数」. The seed names only its top five of each.
 *
 * Each procedure row names the clause of 別表第二 whose business it is: the seed counts by group of
 * procedures (関係手続), which is what a clause is in `legal/`, so the bench counts its load by
 * clause. `legal/` has one clause (35) for pensions under both 国民年金法 and 厚生年金保険法, so the
 * seed's first two rows are generated, and counted, together.
 */
export interface SeedProcedureRow {
  no: number;
  name: string;
  count: number;
  /** The clause of 別表第二 whose business this group of procedures is. */
  clauseNo: string;
}

export interface SeedItemRow {
  no: number;
  name: string;
  itemNo: number;
  count: number;
}

export const SEED_STATISTICS = {
  source: 'seed 000 p.5 (情報連携の現状, 平成29年7月18日～令和2年5月7日)',
  /** 情報提供件数 over the whole period: the denominator of every 割合. */
  totalProvisions: 63_645_570,
  procedures: [
    { no: 1, name: '年金給付関係手続（国民年金法）', count: 27_350_706, clauseNo: '35' },
    { no: 2, name: '年金給付関係手続（厚生年金法）', count: 6_621_809, clauseNo: '35' },
    { no: 3, name: '高等学校等就学支援金支給関係手続', count: 5_717_311, clauseNo: '113' },
    { no: 4, name: '年金生活者支援給付金支給関係手続', count: 5_058_012, clauseNo: '121' },
    { no: 5, name: '地方税の賦課徴収関係手続', count: 3_176_698, clauseNo: '28' },
  ] satisfies SeedProcedureRow[],
  items: [
    { no: 1, name: '住民基本台帳関係情報', itemNo: 1, count: 32_507_125 },
    { no: 2, name: '地方税の課税情報', itemNo: 2, count: 27_655_688 },
    { no: 3, name: '年金給付支給関係情報', itemNo: 53, count: 1_269_687 },
    { no: 4, name: '医療保険資格関係情報', itemNo: 31, count: 792_325 },
    { no: 5, name: '年金給付支給・徴収関係情報', itemNo: 64, count: 692_214 },
  ] satisfies SeedItemRow[],
} as const;
