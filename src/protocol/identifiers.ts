/**
 * The identifiers every party of the network uses on the wire, as zod schemas with a type of the same
 * name. This file is the bottom of the protocol layer: it imports nothing but zod, so that the domain
 * (the legal table names institutions, clauses and items) can use the same definitions.
 */
import { z } from 'zod';

/** An institution's id in the registry: a local-government code (`131016`) or a short name (`jps`). */
export const InstitutionId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{1,31}$/, 'must be 2-32 lower-case letters, digits or hyphens');
export type InstitutionId = z.infer<typeof InstitutionId>;

export const InstitutionKind = z.enum([
  'municipality', // 市区町村
  'prefecture', // 都道府県
  'prefectural_board_of_education', // 教育委員会（都道府県）
  'municipal_board_of_education', // 教育委員会（市区町村）
  'pension_service', // 日本年金機構
  'health_insurer', // 全国健康保険協会・健康保険組合
  'public_employment_security', // 厚生労働省職業安定局（ハローワーク）
  'student_support', // 日本学生支援機構
  'mutual_aid_association', // 共済組合
  'portal', // マイナポータル
  'tax_agency', // 国税庁: sends notices to residents (お知らせ); the legal table gives it no inquiry (seed 000)
]);
export type InstitutionKind = z.infer<typeof InstitutionKind>;

/**
 * An institution-specific code (機関別符号): 44 base64url characters. Its inner structure (key
 * version, authenticated ciphertext of the linking code) belongs to the core; everyone else treats it
 * as an opaque string.
 */
export const PersonCode = z
  .string()
  .regex(/^[A-Za-z0-9_-]{44}$/, 'must be a 44-character institution-specific code');
export type PersonCode = z.infer<typeof PersonCode>;

/** A processing number (処理通番): a UUIDv7 assigned by the core, time-ordered. */
export const ProcessingNumber = z
  .string()
  .regex(
    /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    'must be a processing number (UUIDv7)',
  );
export type ProcessingNumber = z.infer<typeof ProcessingNumber>;

/** An acquisition number (取得番号): one-time, made by the institution, 32 hex characters. */
export const AcquisitionNumber = z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lower-case hex characters');
export type AcquisitionNumber = z.infer<typeof AcquisitionNumber>;

/** A clause (項) of Appended Table 2, e.g. `74`, or `35-2` for a numbered sub-clause. */
export const ClauseNo = z.string().regex(/^[0-9]{1,3}(-[0-9]{1,2})?$/, 'must be a clause number such as 74');
export type ClauseNo = z.infer<typeof ClauseNo>;

export const ProcedureId = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be a procedure id such as 074-01');
export type ProcedureId = z.infer<typeof ProcedureId>;

/** An item number (特定個人情報番号), e.g. 2 for 地方税関係情報. */
export const ItemNo = z.number().int().min(1).max(999);
export type ItemNo = z.infer<typeof ItemNo>;

export const Outcome = z.enum(['provided', 'not_held', 'refused', 'failed']);
export type Outcome = z.infer<typeof Outcome>;

/** Why an inquiry was refused or failed: an error code or a named rule of the legal table. */
export const OutcomeReason = z.string().max(64);

/** Versions of the core's master key an institution's codes can be under (the code's first byte). */
export const MAX_KEY_VERSION = 255;
export const KeyVersion = z.number().int().min(1).max(MAX_KEY_VERSION);

/**
 * An internal addressee number (団体内統合宛名番号): an institution's own person number, the link
 * between its business systems, its addressee system and its intermediate server. It never leaves
 * the institution (it is on the business API, never on the network between nodes), and it is not
 * derived from the Individual Number. An institution allocates 15 random digits, or a business system
 * that already numbers its persons supplies its own: 1–32 letters, digits, `-` or `_`.
 */
export const AddresseeNumber = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be 1-32 letters, digits, hyphens or underscores');
export type AddresseeNumber = z.infer<typeof AddresseeNumber>;
