/**
 * The demo's corporations: real public bodies and companies whose Corporate Numbers are public facts
 * (published on the NTA's site; each passes the check digit, see corporate-number.test.ts), the demo
 * world's local governments (numbered by the NTA's rule for local governments), and synthetic
 * companies with plainly invented names, numbered in registry-number form from a registry-office code
 * no real office uses (9900), so that none can be mistaken for a real one.
 */
import type { Designation, Location } from '../../domain/corporations/corporation.ts';
import { seededRandom } from '../../domain/identifiers/random-source.ts';
import type { CorporateNumberService } from './service/corporations.ts';

const loc = (
  prefecture: string,
  prefectureCode: string,
  city: string,
  cityCode: string,
  street: string,
  postCode?: string,
): Location => ({ prefecture, prefectureCode, city, cityCode, street, ...(postCode ? { postCode } : {}) });

/** Real bodies, as the NTA publishes them (name, head office, number). */
export const REAL_CORPORATIONS: readonly Designation[] = [
  {
    kind: '101',
    name: '国税庁',
    furigana: 'コクゼイチョウ',
    enName: 'National Tax Agency',
    location: loc('東京都', '13', '千代田区', '101', '霞が関3丁目1番1号', '1008978'),
    base: '000012050002',
  },
  {
    kind: '101',
    name: '内閣官房',
    furigana: 'ナイカクカンボウ',
    enName: 'Cabinet Secretariat',
    location: loc('東京都', '13', '千代田区', '101', '永田町1丁目6番1号'),
    base: '000012010019',
  },
  {
    kind: '101',
    name: '経済産業省',
    furigana: 'ケイザイサンギョウショウ',
    enName: 'Ministry of Economy, Trade and Industry',
    location: loc('東京都', '13', '千代田区', '101', '霞が関1丁目3番1号'),
    base: '000012090001',
  },
  {
    kind: '301',
    name: 'トヨタ自動車株式会社',
    furigana: 'トヨタジドウシャ',
    enName: 'TOYOTA MOTOR CORPORATION',
    location: loc('愛知県', '23', '豊田市', '211', 'トヨタ町1番地', '4718571'),
    base: '180301018771',
  },
  {
    kind: '301',
    name: '株式会社三菱ＵＦＪ銀行',
    furigana: 'ミツビシユーエフジェイギンコウ',
    enName: 'MUFG Bank, Ltd.',
    location: loc('東京都', '13', '千代田区', '101', '丸の内1丁目4番5号'),
    base: '010001008846',
  },
];

/** The demo world's local governments (their Corporate Number is 000020 + local-government code). */
export const DEMO_LOCAL_GOVERNMENTS: readonly Designation[] = [
  ['130001', '東京都', 'トウキョウト', loc('東京都', '13', '新宿区', '104', '西新宿2丁目8番1号')],
  ['131041', '新宿区', 'シンジュクク', loc('東京都', '13', '新宿区', '104', '歌舞伎町1丁目4番1号')],
  ['152048', '三条市', 'サンジョウシ', loc('新潟県', '15', '三条市', '204', '旭町2丁目3番1号')],
  ['141003', '横浜市', 'ヨコハマシ', loc('神奈川県', '14', '横浜市中区', '104', '本町6丁目50番地の10')],
  ['271004', '大阪市', 'オオサカシ', loc('大阪府', '27', '大阪市北区', '127', '中之島1丁目3番20号')],
  ['011002', '札幌市', 'サッポロシ', loc('北海道', '01', '札幌市中央区', '101', '北1条西2丁目')],
].map(([code, name, furigana, location]) => ({
  kind: '201' as const,
  name: name as string,
  furigana: furigana as string,
  location: location as Location,
  localGovernmentCode: code as string,
}));

const STEMS: readonly [string, string][] = [
  ['あおば', 'アオバ'],
  ['さくら', 'サクラ'],
  ['みどり', 'ミドリ'],
  ['ひかり', 'ヒカリ'],
  ['つばさ', 'ツバサ'],
  ['みらい', 'ミライ'],
  ['やまと', 'ヤマト'],
  ['はやて', 'ハヤテ'],
  ['東山', 'ヒガシヤマ'],
  ['西浜', 'ニシハマ'],
  ['北斗', 'ホクト'],
  ['南風', 'ナンプウ'],
  ['若葉', 'ワカバ'],
  ['朝日', 'アサヒ'],
  ['大樹', 'タイジュ'],
  ['清流', 'セイリュウ'],
];

const TRADES: readonly [string, string][] = [
  ['商事', 'ショウジ'],
  ['建設', 'ケンセツ'],
  ['食品', 'ショクヒン'],
  ['運輸', 'ウンユ'],
  ['電機', 'デンキ'],
  ['不動産', 'フドウサン'],
  ['ソフトウェア', 'ソフトウェア'],
  ['農園', 'ノウエン'],
  ['薬品', 'ヤクヒン'],
  ['印刷', 'インサツ'],
];

const FORMS: readonly { kind: Designation['kind']; before: boolean; text: string }[] = [
  { kind: '301', before: true, text: '株式会社' },
  { kind: '301', before: false, text: '株式会社' },
  { kind: '305', before: false, text: '合同会社' },
  { kind: '302', before: false, text: '有限会社' },
];

const PLACES: readonly Location[] = [
  loc('東京都', '13', '新宿区', '104', '西新宿'),
  loc('東京都', '13', '千代田区', '101', '丸の内'),
  loc('新潟県', '15', '三条市', '204', '旭町'),
  loc('神奈川県', '14', '横浜市中区', '104', '本町'),
  loc('大阪府', '27', '大阪市北区', '127', '梅田'),
  loc('北海道', '01', '札幌市中央区', '101', '大通西'),
  loc('愛知県', '23', '名古屋市中区', '106', '栄'),
  loc('福岡県', '40', '福岡市博多区', '132', '博多駅前'),
];

/**
 * `count` synthetic companies, the same for the same `seed`: invented names (stem + trade + form),
 * フリガナ, a place among the demo's, and registry numbers 9900-01-nnnnnn (an office code no real
 * registry office has), so they never collide with a real one.
 */
export function syntheticCorporations(count: number, seed = 1): Designation[] {
  const random = seededRandom(seed);
  const byte = () => {
    const b = new Uint8Array(1);
    random(b);
    return b[0] ?? 0;
  };
  const pick = <T>(list: readonly T[]): T => list[byte() % list.length] as T;
  const out: Designation[] = [];
  for (let i = 0; i < count; i++) {
    const [stem, stemKana] = pick(STEMS);
    const [trade, tradeKana] = pick(TRADES);
    const form = pick(FORMS);
    const place = pick(PLACES);
    const serial = String(i + 1).padStart(6, '0');
    out.push({
      kind: form.kind,
      name: form.before ? `${form.text}${stem}${trade}${i + 1}` : `${stem}${trade}${i + 1}${form.text}`,
      furigana: `${stemKana}${tradeKana}`,
      location: { ...place, street: `${place.street}${(i % 9) + 1}丁目${(i % 30) + 1}番${(i % 12) + 1}号` },
      base: `9900${form.kind === '305' ? '03' : form.kind === '302' ? '02' : '01'}${serial}`,
      changeDate: `20${String(10 + (i % 15)).padStart(2, '0')}-0${(i % 9) + 1}-1${i % 10}`,
    });
  }
  return out;
}

/**
 * Seed an empty register: the real bodies, the demo world's local governments, and `synthetic`
 * invented companies. Does nothing when the register holds anyone already.
 */
export async function seedCorporations(service: CorporateNumberService, synthetic: number): Promise<number> {
  if ((await service.count()) > 0) return 0;
  const all = [...REAL_CORPORATIONS, ...DEMO_LOCAL_GOVERNMENTS, ...syntheticCorporations(synthetic)];
  for (const designation of all) await service.designate(designation);
  return all.length;
}
