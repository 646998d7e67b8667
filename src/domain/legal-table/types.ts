/**
 * The legal table (別表第二), its procedures (事務手続) and the data standard layouts (データ標準
 * レイアウト), as the rest of the system sees them once loaded. The files under `legal/` are the
 * source; `load.ts` validates them and builds a `LegalTable`.
 */
import type {
  ClauseNo,
  InstitutionId,
  InstitutionKind,
  ItemNo,
  ProcedureId,
} from '../../protocol/identifiers.ts';

/** Who may ask, or be asked: institution kinds and/or named institutions. */
export interface InstitutionSelector {
  kinds: InstitutionKind[];
  institutions: InstitutionId[];
}

/** One provider of a clause and the items it may be asked for under that clause. */
export interface Provision {
  provider: InstitutionSelector;
  itemNos: ItemNo[];
}

/** A clause (項) of Appended Table 2. */
export interface Clause {
  clauseNo: ClauseNo;
  /** 事務: the business the requester carries out, in Japanese as the law words it. */
  business: string;
  /** The business in English, shortened as a resident reads it (the English pages show it). */
  businessEn: string;
  law: string;
  /** The law's title in English, after the Japanese Law Translation database's titles (unofficial, as those are). */
  lawEn: string;
  requester: InstitutionSelector;
  provisions: Provision[];
  /** JST calendar dates, `YYYY-MM-DD`; `effectiveTo` is the last day in force. */
  effectiveFrom: string;
  effectiveTo?: string;
  /** True where the seeds do not give the detail and it was modelled plausibly. */
  modelled: boolean;
  /** Where in the seeds the clause comes from, e.g. `seed 000 p.7`. */
  source?: string;
}

/** An attachment (添付書類) a procedure makes unnecessary, and the items that replace it. */
export interface OmittedAttachment {
  /** The seeds' document name, one spelling per document (e.g. 課税証明書). */
  name: string;
  /** Its English name: one per document too (the loader refuses two English names for one document). */
  nameEn: string;
  itemNos: ItemNo[];
}

/** A procedure (事務手続) under a clause's business. */
export interface Procedure {
  procedureId: ProcedureId;
  clauseNo: ClauseNo;
  name: string;
  nameEn: string;
  /** 申請先, as the seeds' tables give it. */
  appliedTo: string;
  appliedToEn: string;
  /** The items the procedure asks for; an inquiry under it may ask for these only. */
  itemNos: ItemNo[];
  /**
   * 省略可能な書類: the attachments the applicant no longer brings, each with the items that replace it
   * (it is unnecessary once every one of them has been provided).
   */
  attachmentsOmitted: OmittedAttachment[];
  /**
   * Items the procedure asks for that replace no attachment (e.g. an inquiry that replaces a paper
   * inquiry between institutions, not a document the applicant brings). Every item of the procedure
   * is in exactly one of these and `attachmentsOmitted`.
   */
  itemNosWithoutAttachment: ItemNo[];
  effectiveFrom: string;
  effectiveTo?: string;
  modelled: boolean;
  source?: string;
}

export type FieldType = 'string' | 'integer' | 'boolean' | 'date' | 'enum';

export interface LayoutField {
  name: string;
  /** Japanese label, as the layout documents name it. */
  label: string;
  /** The label in English, for the pages shown in English (the Japanese stays the primary name). */
  labelEn: string;
  type: FieldType;
  required: boolean;
  maxLength?: number;
  min?: number;
  max?: number;
  values?: string[];
}

/** One version (改版) of an item's data standard layout. */
export interface LayoutVersion {
  version: string;
  effectiveFrom: string;
  effectiveTo?: string;
  fields: LayoutField[];
  /** A record valid against this version: documentation, and the base of the demo's copies. */
  example: Record<string, unknown>;
}

/** An item of specific personal information (特定個人情報) with its layout versions. */
export interface InfoItem {
  itemNo: ItemNo;
  name: string;
  nameEn: string;
  layouts: LayoutVersion[];
  modelled: boolean;
}

/** Why the legal table refuses an inquiry: a named rule, recorded with the refusal. */
export type RefusalRule =
  | 'unknown_clause'
  | 'clause_not_in_force'
  | 'unknown_procedure'
  | 'procedure_not_under_clause'
  | 'procedure_not_in_force'
  | 'requester_not_allowed'
  | 'provider_not_allowed'
  | 'no_items'
  | 'unknown_item'
  | 'item_not_allowed'
  | 'item_not_in_procedure';

export interface InquiryToAuthorize {
  requester: { id: InstitutionId; kind: InstitutionKind };
  provider: { id: InstitutionId; kind: InstitutionKind };
  clauseNo: ClauseNo;
  procedureId: ProcedureId;
  itemNos: ItemNo[];
  /** When the inquiry is made; effective dates are compared as JST calendar days. */
  on: Date;
}

export type Authorization =
  | { allowed: true; clause: Clause; procedure: Procedure }
  | { allowed: false; rule: RefusalRule; message: string };

export type LayoutCheck = { ok: true; version: string } | { ok: false; version?: string; problems: string[] };

export interface LegalTable {
  /** A digest of the loaded files, recorded so an auditor knows which table decided. */
  readonly digest: string;
  readonly clauses: readonly Clause[];
  readonly procedures: readonly Procedure[];
  readonly items: readonly InfoItem[];
  /**
   * What loaded but cannot be used, one `legal/<file>: <entry>: <problem>` line each (e.g. an item
   * no clause provision lists). Not errors: an operator may stage such an edit.
   */
  readonly warnings: readonly string[];
  /** The files' text when the table was built from files (`legalTableFromFiles`), for storing the version. */
  readonly files?: Readonly<Record<'clauses' | 'procedures' | 'items', string>>;
  findClause(clauseNo: ClauseNo): Clause | undefined;
  findProcedure(procedureId: ProcedureId): Procedure | undefined;
  findItem(itemNo: ItemNo): InfoItem | undefined;
  /** Decide an inquiry against the table on its date. Pure; never throws for bad input. */
  authorize(inquiry: InquiryToAuthorize): Authorization;
  /** The layout version of an item in force on a date, if any. */
  layoutFor(itemNo: ItemNo, on: Date): LayoutVersion | undefined;
  /** Validate an item's data against the layout version in force on a date. */
  checkLayout(itemNo: ItemNo, on: Date, data: Record<string, unknown>): LayoutCheck;
}
