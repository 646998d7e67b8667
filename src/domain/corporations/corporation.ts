/**
 * A corporation as the National Tax Agency (国税庁) designates and publishes it: the basic three
 * information (基本3情報: Corporate Number, name, location of the head office) with the kind of body,
 * and each change as a dated history entry, in the shape of the NTA's published data (its resource
 * definition, リソース定義書, for the full and the daily-difference downloads and the Web-API).
 *
 * Public by law: anyone may use a Corporate Number and what is published with it, unlike the
 * Individual Number. So nothing here is personal data, and lookups need no credential.
 */
import { z } from 'zod';
import { CorporateNumber } from '../identifiers/corporate-number.ts';

/** 法人種別 (kind of body), as the NTA codes it. */
export const CORPORATION_KINDS = {
  '101': '国の機関',
  '201': '地方公共団体',
  '301': '株式会社',
  '302': '有限会社',
  '303': '合名会社',
  '304': '合資会社',
  '305': '合同会社',
  '399': 'その他の設立登記法人',
  '401': '外国会社等',
  '499': 'その他',
} as const;
export type CorporationKind = keyof typeof CORPORATION_KINDS;
export const CorporationKind = z.enum(
  Object.keys(CORPORATION_KINDS) as [CorporationKind, ...CorporationKind[]],
);

/**
 * 処理区分 (what a history entry records), the NTA's codes: 01 新規 (designation), 11 商号又は名称の
 * 変更 (name), 12 国内所在地の変更 (address), 21 登記記録の閉鎖等 (closure), 22 登記記録の復活等
 * (reopening). The NTA's other codes (13 国外所在地, 71/72 吸収合併, 81 商号の登記の抹消, 99 削除)
 * are not built: no seed asks for them.
 */
export const PROCESS_KINDS = {
  '01': '新規',
  '11': '商号又は名称の変更',
  '12': '国内所在地の変更',
  '21': '登記記録の閉鎖等',
  '22': '登記記録の復活等',
} as const;
export type ProcessKind = keyof typeof PROCESS_KINDS;
export const ProcessKind = z.enum(Object.keys(PROCESS_KINDS) as [ProcessKind, ...ProcessKind[]]);

/** 登記記録の閉鎖等の事由 (why a record was closed), the NTA's codes. */
export const CLOSE_CAUSES = {
  '01': '清算の結了等',
  '11': '合併による解散等',
  '21': '登記官による閉鎖',
  '31': 'その他の清算の結了等',
} as const;
export type CloseCause = keyof typeof CLOSE_CAUSES;
export const CloseCause = z.enum(Object.keys(CLOSE_CAUSES) as [CloseCause, ...CloseCause[]]);

const IsoDate = z.iso.date();
const Text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    // No control characters: they would break the CSV and the fixed-width files institutions read.
    .regex(/^[^\p{Cc}]*$/u, { message: 'must not contain control characters' });

/** 国内所在地: prefecture, city, and the rest (丁目番地等), with the codes the NTA publishes. */
export const Location = z.object({
  prefecture: Text(10),
  city: Text(40),
  street: Text(300),
  /** JIS X 0401 prefecture code, 2 digits. */
  prefectureCode: z.string().regex(/^(0[1-9]|[1-3][0-9]|4[0-7])$/, 'must be a prefecture code (01–47)'),
  /** The city's 3-digit code within the prefecture (JIS X 0402 without the prefecture and check digit). */
  cityCode: z.string().regex(/^[0-9]{3}$/, 'must be 3 digits'),
  /** 7 digits, no hyphen. */
  postCode: z
    .string()
    .regex(/^[0-9]{7}$/, 'must be 7 digits')
    .optional(),
});
export type Location = z.infer<typeof Location>;

/** One row of a corporation's history: the information as it stood after the change. */
export const CorporationEntry = z.object({
  /** 一連番号: the order of entries across the whole service (the difference files' order). */
  sequenceNumber: z.number().int().positive(),
  corporateNumber: CorporateNumber,
  process: ProcessKind,
  /** 訂正区分: this entry corrects a mistake in the previous one rather than recording a change. */
  correction: z.boolean(),
  /** 更新年月日: when the NTA recorded it. */
  updateDate: IsoDate,
  /** 変更年月日: when the change took effect (the registration's date). */
  changeDate: IsoDate,
  name: Text(150),
  /** フリガナ, in katakana. */
  furigana: Text(500).optional(),
  enName: Text(300).optional(),
  kind: CorporationKind,
  location: Location,
  closeDate: IsoDate.optional(),
  closeCause: CloseCause.optional(),
  /** 承継先法人番号: the corporation that took over (on a merger). */
  successorCorporateNumber: CorporateNumber.optional(),
  /** 法人番号指定年月日. */
  assignmentDate: IsoDate,
  /** 最新履歴: this entry is the corporation's current state. */
  latest: z.boolean(),
});
export type CorporationEntry = z.infer<typeof CorporationEntry>;

/** A corporation as it stands now, with its history when asked for. */
export const Corporation = CorporationEntry.extend({
  history: z.array(CorporationEntry).optional(),
});
export type Corporation = z.infer<typeof Corporation>;

/**
 * A designation (法人番号の指定). The number comes from the body's registration: a registered
 * corporation's 会社法人等番号 (12 digits, from the Legal Affairs Bureau's register) with the check
 * digit put in front; a local government's is `000020` and its local-government code (the rule the
 * NTA follows, e.g. 東京都 8000020130001); a national organ's is given by the NTA (`base`). Other
 * bodies without either get the next number of the service's own series.
 */
export const Designation = z
  .object({
    kind: CorporationKind,
    name: Text(150),
    furigana: Text(500).optional(),
    enName: Text(300).optional(),
    location: Location,
    /** 会社法人等番号 (registered corporations) or the NTA's own base (national organs). */
    base: z
      .string()
      .regex(/^[0-9]{12}$/, 'must be 12 digits')
      .optional(),
    /** 全国地方公共団体コード, 6 digits (local governments). */
    localGovernmentCode: z
      .string()
      .regex(/^[0-9]{6}$/, 'must be 6 digits')
      .optional(),
    /** When the body came into being (its registration); the designation date when omitted. */
    changeDate: IsoDate.optional(),
  })
  .refine((d) => d.kind !== '201' || d.localGovernmentCode !== undefined, {
    message: 'a local government (kind 201) is designated by its local-government code',
    path: ['localGovernmentCode'],
  })
  .refine((d) => d.base === undefined || d.localGovernmentCode === undefined, {
    message: 'give either base or localGovernmentCode, not both',
    path: ['base'],
  });
export type Designation = z.infer<typeof Designation>;

/** A change to a designated corporation: its name, its address, its closure or reopening. */
export const CorporationChange = z.discriminatedUnion('process', [
  z.object({
    process: z.literal('11'),
    changeDate: IsoDate,
    name: Text(150),
    furigana: Text(500).optional(),
    enName: Text(300).optional(),
    correction: z.boolean().optional(),
  }),
  z.object({
    process: z.literal('12'),
    changeDate: IsoDate,
    location: Location,
    correction: z.boolean().optional(),
  }),
  z.object({
    process: z.literal('21'),
    changeDate: IsoDate,
    closeCause: CloseCause,
    successorCorporateNumber: CorporateNumber.optional(),
    correction: z.boolean().optional(),
  }),
  z.object({ process: z.literal('22'), changeDate: IsoDate, correction: z.boolean().optional() }),
]);
export type CorporationChange = z.infer<typeof CorporationChange>;
