/**
 * The demo world (BRIEF.md "The demo world"): a small but real network of institutions with real
 * local-government codes (全国地方公共団体コード) and national institutions, synthetic residents, and
 * the copies (副本) each institution's business systems hold. Used by `npm start`, `renkei demo`, the
 * scenario tests and the benchmark; nothing here is personal data of a real person.
 */
import type { InstitutionId, InstitutionKind, ItemNo } from '../protocol/identifiers.ts';

export interface WorldInstitution {
  id: InstitutionId;
  name: string;
  nameEn: string;
  kind: InstitutionKind;
  /** The role the seeds' examples give it, e.g. `A市`. */
  role?: string;
}

export interface WorldResident {
  /** A stable handle for the demo and tests; never sent anywhere. */
  key: string;
  name: string;
  nameKana: string;
  address: string;
  dateOfBirth: string;
  sex: 'male' | 'female' | 'other';
  /** Institutions that know this person (register them in their addressee systems). */
  knownAt: InstitutionId[];
  /**
   * Addressee numbers an institution brings from its own systems (others are allocated at random):
   * fixed for the residents that `examples/` files name, so that those files load into any fresh
   * demo network as the README shows.
   */
  addresseeNumbers?: Partial<Record<InstitutionId, string>>;
  /** Copies held for this person: institution → item → data (merged over the layout's example). */
  copies: Partial<Record<InstitutionId, Partial<Record<ItemNo, Record<string, unknown>>>>>;
}

export interface World {
  institutions: WorldInstitution[];
  residents: WorldResident[];
}

export const DEMO_INSTITUTIONS: WorldInstitution[] = [
  {
    id: '131041',
    name: '新宿区',
    nameEn: 'Shinjuku City',
    kind: 'municipality',
    role: 'A市 (former residence)',
  },
  { id: '152048', name: '三条市', nameEn: 'Sanjo City', kind: 'municipality', role: 'X市 (new residence)' },
  {
    id: '141003',
    name: '横浜市',
    nameEn: 'Yokohama City',
    kind: 'municipality',
    role: 'B市 (former residence)',
  },
  { id: '271004', name: '大阪市', nameEn: 'Osaka City', kind: 'municipality', role: 'C市 (new residence)' },
  { id: '011002', name: '札幌市', nameEn: 'Sapporo City', kind: 'municipality' },
  { id: '130001', name: '東京都', nameEn: 'Tokyo Metropolis', kind: 'prefecture' },
  { id: 'jps', name: '日本年金機構', nameEn: 'Japan Pension Service', kind: 'pension_service' },
  {
    id: 'kyokai-kenpo',
    name: '全国健康保険協会',
    nameEn: 'Japan Health Insurance Association',
    kind: 'health_insurer',
  },
  {
    id: 'hellowork',
    name: '厚生労働省職業安定局（ハローワーク）',
    nameEn: 'Public Employment Security Office (Hello Work)',
    kind: 'public_employment_security',
  },
  {
    id: 'jasso',
    name: '日本学生支援機構',
    nameEn: 'Japan Student Services Organization',
    kind: 'student_support',
  },
  // Boards of education are institutions of their own on the network (seed 000 p.10 counts 47 and
  // 1,737 of them), apart from their prefecture and municipality: clauses 37 and 27 name them as
  // requesters. Their ids are the local government's code with `-boe`, since they have none of their own.
  {
    id: '130001-boe',
    name: '東京都教育委員会',
    nameEn: 'Tokyo Metropolitan Board of Education',
    kind: 'prefectural_board_of_education',
  },
  {
    id: '152048-boe',
    name: '三条市教育委員会',
    nameEn: 'Sanjo City Board of Education',
    kind: 'municipal_board_of_education',
  },
];

/**
 * Synthetic residents. Each copy starts from the item's layout example (legal/items.yaml) so the demo
 * follows the layout in force; the seeds' stories decide who is known where and who holds what.
 */
export const DEMO_RESIDENTS: WorldResident[] = [
  {
    // (a) 児童手当: moved from A市 (新宿区) to X市 (三条市); A市 taxed them on 1 January.
    key: 'yamada-taro',
    name: '山田 太郎',
    nameKana: 'ヤマダ タロウ',
    address: '新潟県三条市旭町二丁目3番1号',
    dateOfBirth: '1988-05-14',
    sex: 'male',
    knownAt: ['152048', '131041', 'kyokai-kenpo'],
    addresseeNumbers: { '131041': '131041000000101' },
    copies: { '131041': { 2: {} } },
  },
  {
    key: 'yamada-hanako',
    name: '山田 花子',
    nameKana: 'ヤマダ ハナコ',
    address: '新潟県三条市旭町二丁目3番1号',
    dateOfBirth: '1990-11-02',
    sex: 'female',
    knownAt: ['152048', '131041'],
    addresseeNumbers: { '131041': '131041000000102' },
    copies: { '131041': { 2: {} } },
  },
  {
    // (b) 児童扶養手当: moved from B市 (横浜市) to C市 (大阪市).
    key: 'sato-misaki',
    name: '佐藤 美咲',
    nameKana: 'サトウ ミサキ',
    address: '大阪府大阪市北区中之島一丁目3番20号',
    dateOfBirth: '1992-03-08',
    sex: 'female',
    knownAt: ['271004', '141003'],
    copies: { '141003': { 1: {}, 2: {} } },
  },
  {
    // (c) 傷病手当金: a 協会けんぽ member who also receives a pension.
    key: 'suzuki-ichiro',
    name: '鈴木 一郎',
    nameKana: 'スズキ イチロウ',
    address: '東京都千代田区霞が関一丁目2番2号',
    dateOfBirth: '1961-08-30',
    sex: 'male',
    knownAt: ['kyokai-kenpo', 'jps'],
    copies: { jps: { 53: {} } },
  },
  {
    // (d) 国民年金保険料の免除: applies to 日本年金機構; 札幌市 holds the tax information.
    key: 'takahashi-kenta',
    name: '高橋 健太',
    nameKana: 'タカハシ ケンタ',
    address: '北海道札幌市中央区北1条西2丁目',
    dateOfBirth: '2001-01-20',
    sex: 'male',
    knownAt: ['jps', '011002'],
    copies: { '011002': { 1: {}, 2: {} } },
  },
  {
    // (f) known at A市 (新宿区), which holds no copy of her tax information.
    key: 'ito-sakura',
    name: '伊藤 さくら',
    nameKana: 'イトウ サクラ',
    address: '新潟県三条市元町5番10号',
    dateOfBirth: '1995-07-07',
    sex: 'female',
    knownAt: ['152048', '131041'],
    copies: {},
  },
  {
    // (g) Every procedure of legal/: known at every institution, with a copy of every item at one
    // provider of each kind, so that a demo clerk anywhere can try any procedure
    // (src/network/procedure-plan.ts; test/procedures.test.ts). 横浜市 holds the municipal items.
    key: 'nakamura-yumi',
    name: '中村 由美',
    nameKana: 'ナカムラ ユミ',
    address: '神奈川県横浜市中区港町1丁目1番地',
    dateOfBirth: '1984-12-03',
    sex: 'female',
    knownAt: DEMO_INSTITUTIONS.map((i) => i.id),
    copies: {
      '141003': { 1: {}, 2: {}, 11: {}, 12: {}, 13: {}, 14: {}, 16: {} },
      '130001': { 12: {}, 13: {}, 14: {} },
      jps: { 53: {} },
      'kyokai-kenpo': { 31: {} },
      hellowork: { 15: {} },
    },
  },
];

/**
 * The demo's clerk at each institution's console (窓口端末): login id `clerk-<institution id>`, one
 * password for all, printed by `renkei start`. For the demo only.
 */
export const DEMO_CLERK_PASSWORD = 'renkei-demo-clerk';

export function demoClerk(institution: WorldInstitution): {
  accountId: string;
  displayName: string;
  password: string;
} {
  return {
    accountId: `clerk-${institution.id}`,
    displayName: `${institution.name} 窓口担当（デモ）`,
    password: DEMO_CLERK_PASSWORD,
  };
}

/**
 * The demo's staff at the core's console: an operator (運用者) and the oversight commission's
 * (個人情報保護委員会) inspector, each with the one role. Printed by `renkei start`. For the demo only.
 */
export const DEMO_OPERATOR_PASSWORD = 'renkei-demo-operator';
export const DEMO_OVERSIGHT_PASSWORD = 'renkei-demo-oversight';

export const DEMO_CORE_ACCOUNTS: readonly {
  accountId: string;
  displayName: string;
  role: 'operator' | 'oversight';
  password: string;
}[] = [
  {
    accountId: 'operator',
    displayName: '運用担当（デモ）',
    role: 'operator',
    password: DEMO_OPERATOR_PASSWORD,
  },
  {
    accountId: 'oversight',
    displayName: '個人情報保護委員会 監視担当（デモ）',
    role: 'oversight',
    password: DEMO_OVERSIGHT_PASSWORD,
  },
];

/** What a demo console offers as providers: every institution of the world with its name. */
export function demoDirectory(
  world: World,
): { id: InstitutionId; name: string; nameEn: string; kind: InstitutionKind }[] {
  return world.institutions.map((i) => ({ id: i.id, name: i.name, nameEn: i.nameEn, kind: i.kind }));
}

export const DEMO_WORLD: World = { institutions: DEMO_INSTITUTIONS, residents: DEMO_RESIDENTS };
