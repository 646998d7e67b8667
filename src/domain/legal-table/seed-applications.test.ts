/**
 * Every application in the seeds' tables of omitted attachments (省略可能な書類の例) is a procedure
 * of the legal table, under the clause the seed gives, omitting at least the attachments the seed
 * lists: the brief asks that each be something a demo clerk can do.
 *
 * The list below is the seeds' own wording, copied by hand (the line breaks of the slides joined).
 * Seed 003 repeats seed 000's two tables without clause numbers; it is checked all the same.
 */
import { describe, expect, it } from 'vitest';
import { loadLegalTable, type Procedure } from './index.ts';

interface SeedApplication {
  seed: '000 p.7' | '000 p.8' | '000 p.14' | '002' | '003' | '004';
  /** 申請項目, as the seed writes it, without the law in brackets. */
  name: string;
  /** 申請先 */
  appliedTo: string;
  /** 省略可能な書類の例, as the seed writes them. */
  attachments: string[];
  /** ［別表第２ NNの項］ where the seed gives it. */
  clauseNo?: string;
  /** Where two seeds name one application differently: the other seed's name, which the YAML uses. */
  sameAs?: string;
}

const SEED_APPLICATIONS: SeedApplication[] = [
  // seed 000 p.14 (ひとり親世帯の行政手続): after moving, the former city's certificate
  {
    seed: '000 p.14',
    name: '児童扶養手当の申請',
    appliedTo: '市町村',
    clauseNo: '57',
    attachments: ['児童扶養手当証書の写し', '課税証明書'],
  },
  // seed 002 (社会保障分野における番号の利用例): examples without clause numbers
  { seed: '002', name: '高額療養費の決定', appliedTo: '医療保険者', attachments: ['所得証明書'] },
  { seed: '002', name: '未支給年金の請求', appliedTo: '日本年金機構', attachments: ['住民票'] },
  {
    seed: '002',
    name: '雇用保険における未支給の失業等給付の申請',
    appliedTo: 'ハローワーク',
    attachments: ['住民票'],
  },
  // seed 000 p.7 (年金関係手続以外)
  {
    seed: '000 p.7',
    name: '保育園や幼稚園等の利用に当たっての認定の申請',
    appliedTo: '市町村',
    clauseNo: '116',
    attachments: [
      '生活保護受給証明書',
      '児童扶養手当証書',
      '特別児童扶養手当証書',
      '課税証明書',
      '障害者手帳',
    ],
  },
  {
    seed: '000 p.7',
    name: '児童手当の申請',
    appliedTo: '市町村',
    clauseNo: '74',
    attachments: ['課税証明書', '住民票'],
  },
  {
    seed: '000 p.7',
    name: '奨学金の申請',
    appliedTo: '日本学生支援機構',
    clauseNo: '106',
    attachments: ['生活保護受給証明書', '雇用保険受給資格者証', '障害者手帳', '課税証明書'],
  },
  {
    seed: '000 p.7',
    name: '特別支援教育就学奨励費の申請',
    appliedTo: '都道府県教育委員会',
    clauseNo: '37',
    attachments: ['住民票', '課税証明書', '生活保護受給者証明書'],
  },
  {
    seed: '000 p.7',
    name: '児童扶養手当の申請',
    appliedTo: '都道府県・市町村',
    clauseNo: '57',
    attachments: ['住民票', '課税証明書', '特別児童扶養手当証書', '障害者手帳'],
  },
  {
    seed: '000 p.7',
    name: '生活保護の申請',
    appliedTo: '保護の実施機関（都道府県・市等）',
    clauseNo: '26',
    attachments: ['課税証明書', '雇用保険受給資格者証', '児童扶養手当証書', '特別児童扶養手当証書'],
  },
  {
    seed: '000 p.7',
    name: '特別児童扶養手当の支給の申請',
    appliedTo: '都道府県・市町村',
    clauseNo: '66',
    attachments: ['住民票', '課税証明書'],
  },
  {
    seed: '000 p.7',
    name: '障害福祉サービスの申請',
    appliedTo: '市町村',
    clauseNo: '108',
    attachments: ['住民票', '課税証明書', '生活保護受給証明書', '障害者手帳'],
  },
  {
    seed: '000 p.7',
    name: '障害者・児に対する医療費助成の申請',
    appliedTo: '都道府県・市町村',
    clauseNo: '108',
    attachments: ['住民票', '課税証明書', '生活保護受給証明書', '特別児童扶養手当証書', '障害者手帳'],
  },
  {
    seed: '000 p.7',
    name: '介護休業給付金の支給の申請',
    appliedTo: 'ハローワーク',
    clauseNo: '77',
    attachments: ['住民票'],
  },
  {
    seed: '000 p.7',
    name: '保険料の減免申請',
    appliedTo: '市町村',
    clauseNo: '94',
    attachments: ['住民票', '課税証明書', '生活保護受給証明書'],
  },
  {
    seed: '000 p.7',
    name: '出産育児一時金の申請',
    appliedTo: '健康保険組合等',
    clauseNo: '2', // 2の項他
    attachments: ['住民票'],
  },
  {
    seed: '000 p.7',
    name: '公営住宅の入居の申請',
    appliedTo: '都道府県・市町村',
    clauseNo: '31',
    attachments: ['住民票', '課税証明書', '生活保護受給証明書', '障害者手帳'],
  },
  // seed 000 p.8 (年金関係手続)
  {
    seed: '000 p.8',
    name: '国民年金保険料の免除・納付猶予の申請',
    appliedTo: '日本年金機構',
    clauseNo: '48',
    attachments: ['住民票', '課税証明書'],
  },
  {
    seed: '000 p.8',
    name: '国民年金保険料の学生納付特例の申請',
    appliedTo: '日本年金機構',
    clauseNo: '48',
    attachments: ['課税証明書'],
  },
  {
    seed: '000 p.8',
    name: '各種年金の裁定請求',
    appliedTo: '日本年金機構',
    clauseNo: '35', // 35の項j他
    attachments: ['住民票', '課税証明書'],
  },
  {
    seed: '000 p.8',
    name: '年金受給者の各種届出の審査（年金額改定請求書、加算額開始事由該当届、支給停止事由消滅届）',
    appliedTo: '日本年金機構',
    clauseNo: '35', // 35の項他
    attachments: ['住民票', '課税証明書'],
  },
  {
    seed: '000 p.8',
    name: '障害基礎年金（20歳前の傷病によるもの）受給者の所得確認',
    appliedTo: '日本年金機構',
    clauseNo: '117',
    attachments: ['所得状況届'],
  },
  {
    seed: '000 p.8',
    name: '児童扶養手当の申請',
    appliedTo: '都道府県・市町村',
    clauseNo: '57',
    attachments: ['年金額改定通知書', '年金証書'],
  },
  {
    seed: '000 p.8',
    name: '障害者・児に対する医療費助成の申請',
    appliedTo: '都道府県・市町村',
    clauseNo: '108',
    attachments: ['年金額改定通知書', '年金振込通知書'],
  },
  {
    seed: '000 p.8',
    name: '生活保護の申請',
    appliedTo: '保護の実施機関（都道府県・市等）',
    clauseNo: '26',
    attachments: ['年金額改定通知書', '年金振込通知書'],
  },
  {
    seed: '000 p.8',
    name: '精神障害者保健福祉手帳の交付申請',
    appliedTo: '都道府県・政令指定都市',
    clauseNo: '25',
    attachments: ['年金証書', '年金振込通知書'],
  },
  // seed 003: the same two tables as seed 000, without clause numbers
  {
    seed: '003',
    name: '国民年金保険料の免除・納付猶予の申請',
    appliedTo: '日本年金機構',
    attachments: ['住民票', '課税証明書'],
  },
  {
    seed: '003',
    name: '国民年金保険料の学生納付特例の申請',
    appliedTo: '日本年金機構',
    attachments: ['課税証明書'],
  },
  {
    seed: '003',
    name: '各種年金の裁定請求',
    appliedTo: '日本年金機構',
    attachments: ['住民票', '課税証明書'],
  },
  {
    seed: '003',
    name: '年金受給者の各種届出の審査（年金額改定請求書、加算額開始事由該当届、支給停止事由消滅届）',
    appliedTo: '日本年金機構',
    attachments: ['住民票', '課税証明書'],
  },
  {
    seed: '003',
    name: '障害基礎年金（20歳前の傷病によるもの）受給者の所得確認',
    appliedTo: '日本年金機構',
    attachments: ['所得状況届'],
  },
  {
    seed: '003',
    name: '児童扶養手当の申請',
    appliedTo: '都道府県・市町村',
    attachments: ['年金額改定通知書', '年金証書'],
  },
  {
    seed: '003',
    name: '障害者・児に対する医療費助成の申請',
    appliedTo: '都道府県・市町村',
    attachments: ['年金額改定通知書', '年金振込通知書'],
  },
  {
    seed: '003',
    name: '生活保護の申請',
    appliedTo: '保護の実施機関（都道府県・市等）',
    attachments: ['年金額改定通知書', '年金振込通知書'],
  },
  {
    seed: '003',
    name: '精神障害者保健福祉手帳の交付申請',
    appliedTo: '都道府県・政令指定都市',
    attachments: ['年金証書', '年金振込通知書'],
  },
  {
    seed: '003',
    name: '保育園や幼稚園等の利用に当たっての認定の申請',
    appliedTo: '市町村',
    attachments: [
      '生活保護受給証明書',
      '児童扶養手当証書',
      '特別児童扶養手当証書',
      '課税証明書',
      '障害者手帳',
    ],
  },
  { seed: '003', name: '児童手当の申請', appliedTo: '市町村', attachments: ['課税証明書', '住民票'] },
  {
    seed: '003',
    name: '奨学金の申請',
    appliedTo: '日本学生支援機構',
    attachments: ['生活保護受給証明書', '雇用保険受給資格者証', '障害者手帳', '課税証明書'],
  },
  {
    seed: '003',
    name: '特別支援教育就学奨励費の申請',
    appliedTo: '都道府県教育委員会',
    attachments: ['住民票', '課税証明書', '生活保護受給者証明書'],
  },
  {
    seed: '003',
    name: '児童扶養手当の申請',
    appliedTo: '都道府県・市町村',
    attachments: ['住民票', '課税証明書', '特別児童扶養手当証書', '障害者手帳'],
  },
  {
    seed: '003',
    name: '生活保護の申請',
    appliedTo: '保護の実施機関（都道府県・市等）',
    attachments: ['課税証明書', '雇用保険受給資格者証', '児童扶養手当証書', '特別児童扶養手当証書'],
  },
  {
    seed: '003',
    name: '特別児童扶養手当の支給の申請',
    appliedTo: '都道府県・市町村',
    attachments: ['住民票', '課税証明書'],
  },
  {
    seed: '003',
    name: '障害福祉サービスの申請',
    appliedTo: '市町村',
    attachments: ['住民票', '課税証明書', '生活保護受給証明書', '障害者手帳'],
  },
  {
    seed: '003',
    name: '障害者・児に対する医療費助成の申請',
    appliedTo: '都道府県・市町村',
    attachments: ['住民票', '課税証明書', '生活保護受給証明書', '特別児童扶養手当証書', '障害者手帳'],
  },
  { seed: '003', name: '介護休業給付金の支給の申請', appliedTo: 'ハローワーク', attachments: ['住民票'] },
  {
    seed: '003',
    name: '保険料の減免申請',
    appliedTo: '市町村',
    attachments: ['住民票', '課税証明書', '生活保護受給証明書'],
  },
  { seed: '003', name: '出産育児一時金の申請', appliedTo: '健康保険組合等', attachments: ['住民票'] },
  {
    seed: '003',
    name: '公営住宅の入居の申請',
    appliedTo: '都道府県・市町村',
    attachments: ['住民票', '課税証明書', '生活保護受給証明書', '障害者手帳'],
  },
  // seed 004 (H28.9 未定稿), no clause numbers
  {
    seed: '004',
    name: '里親の認定の申請',
    appliedTo: '都道府県・市町村',
    attachments: ['住民票', '課税証明書'],
  },
  {
    seed: '004',
    name: '小児慢性特定疾病児童等に対する医療費助成の申請',
    appliedTo: '都道府県・市町村',
    attachments: ['住民票', '課税証明書', '生活保護受給証明書'],
  },
  {
    seed: '004',
    name: '児童扶養手当の申請',
    appliedTo: '市町村',
    attachments: ['住民票', '課税証明書', '障害者手帳', '特別児童扶養手当証書'],
  },
  { seed: '004', name: '寡婦福祉資金貸付の申請', appliedTo: '都道府県・市町村', attachments: ['課税証明書'] },
  {
    seed: '004',
    name: 'ひとり親家庭等日常生活支援事業の申請',
    appliedTo: '都道府県・市町村',
    attachments: ['課税証明書', '児童扶養手当証書'],
  },
  {
    seed: '004',
    name: '生活保護の開始・変更の申請',
    appliedTo: '都道府県・市町村',
    attachments: ['雇用保険受給資格者証', '児童扶養手当証書', '特別児童扶養手当証書', '年金振込通知書'],
  },
  {
    seed: '004',
    name: '障害児通所支援・入所支援の申請',
    appliedTo: '都道府県・市町村',
    attachments: ['住民票', '課税証明書', '生活保護受給証明書', '障害者手帳'],
  },
  {
    seed: '004',
    name: '特別児童扶養手当・障害児福祉手当・特別障害者手当の支給の申請',
    appliedTo: '都道府県・市町村',
    attachments: ['住民票', '課税証明書'],
  },
  {
    seed: '004',
    name: '障害福祉サービスの申請',
    appliedTo: '市町村',
    attachments: ['住民票', '課税証明書', '生活保護受給証明書', '障害者手帳'],
  },
  {
    seed: '004',
    name: '障害者・児に対する医療費助成の申請',
    appliedTo: '市町村',
    attachments: ['住民票', '課税証明書', '生活保護受給証明書', '障害者手帳'],
  },
  { seed: '004', name: '被保険者証交付の申請', appliedTo: '市町村', attachments: ['医療保険被保険者証'] },
  {
    seed: '004',
    name: '保険料の減免申請',
    appliedTo: '市町村',
    attachments: ['住民票', '課税証明書', '生活保護受給証明書'],
  },
  {
    seed: '004',
    name: '高額介護サービス費の申請',
    appliedTo: '市町村',
    attachments: ['住民票', '課税証明書', '生活保護受給証明書'],
  },
  {
    seed: '004',
    name: '国民健康保険の資格取得の届出',
    appliedTo: '市町村、国保組合',
    attachments: ['資格喪失証明書'],
  },
  {
    seed: '004',
    name: '国民年金・厚生年金の裁定請求',
    appliedTo: '日本年金機構',
    attachments: ['住民票', '課税証明書'],
    sameAs: '各種年金の裁定請求',
  },
  {
    seed: '004',
    name: '難病患者に対する医療費助成の申請',
    appliedTo: '都道府県',
    attachments: ['住民票', '課税証明書', '生活保護受給証明書'],
  },
  { seed: '004', name: '介護休業給付金の支給の申請', appliedTo: 'ハローワーク', attachments: ['住民票'] },
  {
    seed: '004',
    name: '公営住宅の入居の申請',
    appliedTo: '都道府県・市町村',
    attachments: ['住民票', '課税証明書', '障害者手帳', '生活保護受給証明書'],
  },
  {
    seed: '004',
    name: '地方公共団体が行う就学援助(医療費)に関する認定の申請',
    appliedTo: '教育委員会',
    attachments: ['住民票', '課税証明書', '生活保護受給証明証'],
  },
  { seed: '004', name: '被災者生活再建支援金の支給の申請', appliedTo: '都道府県', attachments: ['住民票'] },
  {
    seed: '004',
    name: '奨学金の申請',
    appliedTo: '日本学生支援機構',
    attachments: ['課税証明書', '生活保護受給証明証', '雇用保険受給資格者証'],
  },
  {
    seed: '004',
    name: '保育園や幼稚園等の利用に当たっての認定の申請',
    appliedTo: '市町村',
    attachments: ['住民票', '課税証明書', '障害者手帳', '生活保護受給証明証', '特別児童扶養手当証書'],
  },
];

/**
 * The seeds spell one document three ways; legal/procedures.yaml uses one spelling (see its header).
 * We considered keeping each seed's spelling in the YAML, but then the portal and the CLI would list
 * one document under three names.
 */
const ATTACHMENT_SPELLING: Record<string, string> = {
  生活保護受給者証明書: '生活保護受給証明書',
  生活保護受給証明証: '生活保護受給証明書',
  児童扶養手当証書の写し: '児童扶養手当証書',
  所得証明書: '課税証明書',
};

const table = loadLegalTable();

/** Full- and half-width brackets and digits compare equal (the seeds mix them). */
function normal(text: string): string {
  return text.normalize('NFKC');
}

/**
 * The procedures a seed application names: the same name, or the same name with a qualifier in
 * brackets that tells two procedures apart (児童扶養手当の申請（年金関係）, 児童手当の申請（認定請求）).
 */
function proceduresNamed(name: string): Procedure[] {
  const wanted = normal(name);
  return table.procedures.filter((p) => {
    const actual = normal(p.name);
    return actual === wanted || actual.startsWith(`${wanted}(`);
  });
}

function label(application: SeedApplication): string {
  return `seed ${application.seed}: ${application.name}`;
}

describe("the seeds' tables of omitted attachments", () => {
  it.each(SEED_APPLICATIONS.map((a) => [label(a), a] as const))(
    'has a procedure for %s, under its clause, omitting its attachments',
    (_, application) => {
      const candidates = proceduresNamed(application.sameAs ?? application.name).filter(
        (p) => application.clauseNo === undefined || p.clauseNo === application.clauseNo,
      );
      expect(
        candidates.map((p) => p.procedureId),
        `no procedure named ${application.name}${application.clauseNo ? ` under clause ${application.clauseNo}` : ''}`,
      ).not.toEqual([]);

      const wanted = application.attachments.map((a) => ATTACHMENT_SPELLING[a] ?? a);
      const covering = candidates.filter((p) =>
        wanted.every((a) => p.attachmentsOmitted.some((omitted) => omitted.name === a)),
      );
      expect(
        covering.map((p) => p.procedureId),
        `no procedure named ${application.name} omits all of ${wanted.join('、')}; candidates: ${candidates
          .map((p) => `${p.procedureId} [${p.attachmentsOmitted.map((a) => a.name).join('、')}]`)
          .join('; ')}`,
      ).not.toEqual([]);
    },
  );

  it('names another seed application wherever one seed calls an application by another name', () => {
    const names = new Set(SEED_APPLICATIONS.map((a) => a.name));
    for (const application of SEED_APPLICATIONS) {
      if (application.sameAs !== undefined) expect(names).toContain(application.sameAs);
    }
  });

  it('spells each attachment one way in legal/procedures.yaml', () => {
    const variants = Object.keys(ATTACHMENT_SPELLING);
    for (const procedure of table.procedures) {
      for (const attachment of procedure.attachmentsOmitted) {
        expect(variants, `procedure ${procedure.procedureId}`).not.toContain(attachment.name);
      }
    }
  });
});
