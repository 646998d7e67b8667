/**
 * Load the legal table from `legal/*.yaml`, validate it whole, and build what the hot paths use:
 * the indexes `authorize` decides on and one zod schema per layout version. A wrong file fails
 * start-up with `ERR_CONFIG_INVALID` naming the file and the entry, so the operator knows what to fix.
 *
 * Each file is checked on its own by its schema (`legal-files.ts`); the rules across files are here:
 * ids defined once, every clause and item a procedure or clause names defined, every item of a
 * procedure givable by some provider of its clause, every procedure in force only while its clause
 * is, every attachment a procedure omits mapped to items it asks for and every item it asks for mapped
 * (or marked as replacing none), layout versions that do not overlap, examples valid against their own layout, and no layout
 * field that would carry an Individual Number.
 *
 * What is consistent but cannot be used (an item no clause provision lists, or one a clause provides
 * but no procedure under that clause asks for: no inquiry can ask for either) is not an error, since an
 * operator may stage such an edit; it is returned in `warnings`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseDocument } from 'yaml';
import type { z } from 'zod';
import type { ClauseNo, ItemNo, ProcedureId } from '../../protocol/identifiers.ts';
import { jstDate } from '../../shared/clock.ts';
import { buildAuthorizer, inForce } from './authorize.ts';
import {
  ClauseFile,
  ItemFile,
  LEGAL_FILES,
  ProcedureFile,
  invalidLegalFile as invalid,
  parseLegalFile,
  type LegalSource,
} from './legal-files.ts';
import { layoutProblems, layoutSchema } from './layout-schema.ts';
import { DEFAULT_PARSE_CACHE_DIR, readParsedSource, writeParsedSource } from './parse-cache.ts';
import type { Clause, InfoItem, LayoutCheck, LayoutVersion, LegalTable, Procedure } from './types.ts';

export type { LegalSource } from './legal-files.ts';

/** The text of the three files of a version of the legal table, by part. */
export type LegalFiles = Record<keyof LegalSource, string>;

export interface LegalLoadOptions {
  /**
   * A directory where the files' parsed YAML is kept by their digest (`parse-cache.ts`), or `false`
   * to parse every time. Only the parse is kept: the table is validated and built in full regardless.
   */
  parseCache?: string | false;
}

/**
 * A layout field that would carry an Individual Number, by its name or its Japanese label. The
 * exchange layer never holds one (BRIEF: decisions), so the loader refuses such a layout outright.
 */
const INDIVIDUAL_NUMBER_NAME = /individual_?number|my_?number|kojin_?bang/i;
const INDIVIDUAL_NUMBER_LABEL = /個人番号|マイナンバー/;

/** The repository's `legal/`, found from this module's own location (not the working directory). */
export const DEFAULT_LEGAL_DIR = join(import.meta.dirname, '..', '..', '..', 'legal');

/**
 * Read and build the legal table from a directory holding `clauses.yaml`, `procedures.yaml` and
 * `items.yaml` (start-up only; never on a request path). The digest is the sha-256 of the three
 * files' bytes, each preceded by its name, so a provision record can name the table that decided.
 * The parsed YAML is kept in the checkout's parse cache unless `options.parseCache` says otherwise.
 *
 * @throws RenkeiError ERR_CONFIG_INVALID: a file is missing, is not YAML, or breaks a rule; the
 *   message names the file, the entry and the problem.
 */
export function loadLegalTable(dir: string = DEFAULT_LEGAL_DIR, options: LegalLoadOptions = {}): LegalTable {
  return legalTableFromFiles(readLegalFiles(dir), {
    parseCache: options.parseCache ?? DEFAULT_PARSE_CACHE_DIR,
  });
}

/**
 * The three files' text, read from a directory (a version as the core stores it and the operator
 * sends it: `POST /admin/v1/legal-versions`).
 *
 * @throws RenkeiError ERR_CONFIG_INVALID: a file is missing or unreadable.
 */
export function readLegalFiles(dir: string = DEFAULT_LEGAL_DIR): LegalFiles {
  const files: Partial<LegalFiles> = {};
  for (const [key, file] of Object.entries(LEGAL_FILES) as [keyof LegalFiles, string][]) {
    const path = join(dir, file);
    try {
      files[key] = readFileSync(path, 'utf8');
    } catch {
      throw invalid(`legal/${file}`, `cannot be read from ${path}`);
    }
  }
  return files as LegalFiles;
}

/** The digest of a version: sha-256 over each file's name, a NUL, its UTF-8 bytes and a NUL. */
export function legalFilesDigest(files: LegalFiles): string {
  const hash = createHash('sha256');
  for (const [key, file] of Object.entries(LEGAL_FILES) as [keyof LegalFiles, string][]) {
    hash.update(file).update('\0').update(Buffer.from(files[key], 'utf8')).update('\0');
  }
  return hash.digest('hex');
}

/**
 * Parse and validate a version from its files' text, whole, as at start-up; the table keeps the
 * files (`files`) so the core can store the version it runs. Without `options.parseCache` (the
 * default here: versions sent to the core are not kept) the files are parsed every time.
 *
 * @throws RenkeiError ERR_CONFIG_INVALID: a file is not YAML or breaks a rule, as `loadLegalTable`.
 */
export function legalTableFromFiles(files: LegalFiles, options: LegalLoadOptions = {}): LegalTable {
  const digest = legalFilesDigest(files);
  const cache = options.parseCache;
  let source = cache ? readParsedSource(cache, digest) : undefined;
  if (!source) {
    const parsed: Record<string, unknown> = {};
    let keep = true;
    for (const [key, file] of Object.entries(LEGAL_FILES) as [keyof LegalFiles, string][]) {
      const { value, plain } = parseYaml(files[key], file);
      parsed[key] = value;
      keep &&= plain;
    }
    source = parsed as unknown as LegalSource;
    // Kept before it is validated: a file that breaks a rule fails the same way from the cache.
    if (cache && keep) writeParsedSource(cache, digest, source);
  }
  return { ...buildLegalTable(source, digest), files };
}

/**
 * One file's YAML as `yaml`'s `parse` reads it. `plain` is false when the parser had anything to
 * say (then it is `parse` that runs, so its warnings are shown and its error thrown as they always
 * were): such a file is not kept in the parse cache, whose hits would say nothing.
 *
 * @throws RenkeiError ERR_CONFIG_INVALID: the file is not valid YAML.
 */
function parseYaml(text: string, file: string): { value: unknown; plain: boolean } {
  try {
    const doc = parseDocument(text);
    if (doc.errors.length === 0 && doc.warnings.length === 0) return { value: doc.toJS(), plain: true };
    return { value: parse(text), plain: false };
  } catch (error) {
    throw invalid(
      `legal/${file}`,
      `is not valid YAML: ${error instanceof Error ? error.message : 'parse error'}`,
    );
  }
}

/**
 * Build a legal table from parsed data (tests build small ones this way). Without a digest, the
 * digest is the sha-256 of the source as JSON.
 *
 * @throws RenkeiError ERR_CONFIG_INVALID, as `loadLegalTable`.
 */
export function buildLegalTable(source: LegalSource, digest?: string): LegalTable {
  const items = parseLegalFile(ItemFile, source.items, 'items', 'itemNo', 'item');
  const clauses = parseLegalFile(ClauseFile, source.clauses, 'clauses', 'clauseNo', 'clause');
  const procedures = parseLegalFile(
    ProcedureFile,
    source.procedures,
    'procedures',
    'procedureId',
    'procedure',
  );

  const { itemByNo, layoutSchemas } = checkItems(items);
  const clauseByNo = checkClauses(clauses, itemByNo);
  const procedureById = checkProcedures(procedures, clauseByNo, itemByNo);
  const warnings = [
    ...unprovidedItemWarnings(itemByNo, clauseByNo),
    ...unaskedItemWarnings(clauseByNo, procedureById),
  ];
  const authorize = buildAuthorizer([...clauseByNo.values()], [...procedureById.values()], itemByNo.keys());

  function layoutFor(itemNo: ItemNo, on: Date): LayoutVersion | undefined {
    const day = jstDate(on);
    return itemByNo.get(itemNo)?.layouts.find((l) => inForce(day, l.effectiveFrom, l.effectiveTo));
  }

  return {
    digest: digest ?? createHash('sha256').update(JSON.stringify(source)).digest('hex'),
    clauses: [...clauseByNo.values()],
    procedures: [...procedureById.values()],
    items: [...itemByNo.values()],
    warnings,
    findClause: (clauseNo) => clauseByNo.get(clauseNo),
    findProcedure: (procedureId) => procedureById.get(procedureId),
    findItem: (itemNo) => itemByNo.get(itemNo),
    layoutFor,
    authorize,
    checkLayout(itemNo, on, data): LayoutCheck {
      const layout = layoutFor(itemNo, on);
      if (!layout) {
        return { ok: false, problems: [`item ${itemNo} has no data layout in force on ${jstDate(on)}`] };
      }
      const schema = layoutSchemas.get(layout);
      // Fail closed: a layout without a schema is a bug here, never a licence to pass any data.
      if (!schema) return { ok: false, version: layout.version, problems: ['(record): no schema'] };
      const result = schema.safeParse(data);
      if (result.success) return { ok: true, version: layout.version };
      return { ok: false, version: layout.version, problems: layoutProblems(result.error) };
    },
  };
}

function checkItems(items: ItemFile): {
  itemByNo: Map<ItemNo, InfoItem>;
  layoutSchemas: Map<LayoutVersion, z.ZodType>;
} {
  const itemByNo = new Map<ItemNo, InfoItem>();
  const layoutSchemas = new Map<LayoutVersion, z.ZodType>();
  for (const item of items) {
    const where = `legal/items.yaml: item ${item.itemNo}`;
    if (itemByNo.has(item.itemNo)) throw invalid(where, 'is defined twice');
    const layouts = [...item.layouts].sort((a, b) => a.effectiveFrom.localeCompare(b.effectiveFrom));
    const versions = new Set<string>();
    layouts.forEach((layout, i) => {
      const at = `${where}: layout ${layout.version}`;
      if (versions.has(layout.version)) throw invalid(at, 'is defined twice');
      versions.add(layout.version);
      if (layout.effectiveTo !== undefined && layout.effectiveTo < layout.effectiveFrom) {
        throw invalid(at, 'effectiveTo is before effectiveFrom');
      }
      const next = layouts[i + 1];
      if (next && (layout.effectiveTo === undefined || layout.effectiveTo >= next.effectiveFrom)) {
        throw invalid(
          at,
          `overlaps layout ${next.version}: give it an effectiveTo before ${next.effectiveFrom}`,
        );
      }
      const numberField = layout.fields.find(
        (f) =>
          INDIVIDUAL_NUMBER_NAME.test(f.name) ||
          INDIVIDUAL_NUMBER_LABEL.test(f.label) ||
          INDIVIDUAL_NUMBER_NAME.test(f.labelEn.replace(/\s+/g, '')),
      );
      if (numberField) {
        throw invalid(
          at,
          `field ${numberField.name} looks like an Individual Number: a layout must never carry one`,
        );
      }
      const names = new Set<string>();
      for (const field of layout.fields) {
        if (names.has(field.name)) throw invalid(at, `field ${field.name} is defined twice`);
        names.add(field.name);
        if (field.type === 'enum' && !field.values) {
          throw invalid(at, `enum field ${field.name} has no values`);
        }
      }
      const schema = layoutSchema(layout.fields);
      // Without zod's compiled fast path: `checkLayout` compiles it on a layout's first answer, so
      // a process compiles only the layouts it checks answers against (about 10 ms less at start).
      const check = schema.safeParse(layout.example, { jitless: true });
      if (!check.success) {
        throw invalid(at, `its example is invalid: ${layoutProblems(check.error)[0] ?? ''}`);
      }
      layoutSchemas.set(layout, schema);
    });
    itemByNo.set(item.itemNo, { ...item, layouts });
  }
  return { itemByNo, layoutSchemas };
}

function checkClauses(clauses: ClauseFile, itemByNo: ReadonlyMap<ItemNo, InfoItem>): Map<ClauseNo, Clause> {
  const clauseByNo = new Map<ClauseNo, Clause>();
  for (const clause of clauses) {
    const where = `legal/clauses.yaml: clause ${clause.clauseNo}`;
    if (clauseByNo.has(clause.clauseNo)) throw invalid(where, 'is defined twice');
    if (clause.effectiveTo !== undefined && clause.effectiveTo < clause.effectiveFrom) {
      throw invalid(where, 'effectiveTo is before effectiveFrom');
    }
    clause.provisions.forEach((provision, i) => {
      provision.itemNos.forEach((itemNo, j) => {
        if (!itemByNo.has(itemNo)) {
          throw invalid(
            `${where}: provisions[${i}].itemNos[${j}]`,
            `item ${itemNo} is not defined in legal/items.yaml`,
          );
        }
      });
    });
    clauseByNo.set(clause.clauseNo, clause);
  }
  return clauseByNo;
}

function checkProcedures(
  procedures: ProcedureFile,
  clauseByNo: ReadonlyMap<ClauseNo, Clause>,
  itemByNo: ReadonlyMap<ItemNo, InfoItem>,
): Map<ProcedureId, Procedure> {
  const procedureById = new Map<ProcedureId, Procedure>();
  const englishOf = new Map<string, { nameEn: string; procedureId: ProcedureId }>();
  for (const procedure of procedures) {
    const where = `legal/procedures.yaml: procedure ${procedure.procedureId}`;
    if (procedureById.has(procedure.procedureId)) throw invalid(where, 'is defined twice');
    if (procedure.effectiveTo !== undefined && procedure.effectiveTo < procedure.effectiveFrom) {
      throw invalid(where, 'effectiveTo is before effectiveFrom');
    }
    const clause = clauseByNo.get(procedure.clauseNo);
    if (!clause) throw invalid(where, `clause ${procedure.clauseNo} is not defined in legal/clauses.yaml`);
    checkWithinClause(where, procedure, clause);
    procedure.itemNos.forEach((itemNo, i) => {
      if (!itemByNo.has(itemNo)) {
        throw invalid(`${where}: itemNos[${i}]`, `item ${itemNo} is not defined in legal/items.yaml`);
      }
      if (!clause.provisions.some((p) => p.itemNos.includes(itemNo))) {
        throw invalid(
          `${where}: itemNos[${i}]`,
          `no provider of clause ${clause.clauseNo} may give item ${itemNo}; add it to a provision in legal/clauses.yaml or drop it here`,
        );
      }
    });
    checkAttachmentMap(where, procedure);
    procedure.attachmentsOmitted.forEach((attachment, i) => {
      const seen = englishOf.get(attachment.name);
      if (seen === undefined) {
        englishOf.set(attachment.name, { nameEn: attachment.nameEn, procedureId: procedure.procedureId });
      } else if (seen.nameEn !== attachment.nameEn) {
        throw invalid(
          `${where}: attachmentsOmitted[${i}].nameEn`,
          `${attachment.name} is "${attachment.nameEn}" here but "${seen.nameEn}" in procedure ${seen.procedureId}; one document has one English name`,
        );
      }
    });
    procedureById.set(procedure.procedureId, procedure);
  }
  return procedureById;
}

/**
 * The map from attachments to items is what a clerk's screen turns answers into ("課税証明書: no
 * longer needed"), so it must be whole: an attachment replaced by an item the procedure never asks for
 * would never be marked unnecessary, and an item that replaces nothing without saying so is more
 * likely a forgotten mapping than a choice.
 */
function checkAttachmentMap(where: string, procedure: ProcedureFile[number]): void {
  const names = new Set<string>();
  const replacing = new Set<ItemNo>();
  procedure.attachmentsOmitted.forEach((attachment, i) => {
    const at = `${where}: attachmentsOmitted[${i}]`;
    if (names.has(attachment.name)) throw invalid(at, `${attachment.name} is listed twice`);
    names.add(attachment.name);
    attachment.itemNos.forEach((itemNo, j) => {
      if (!procedure.itemNos.includes(itemNo)) {
        throw invalid(
          `${at}.itemNos[${j}]`,
          `item ${itemNo} replaces ${attachment.name} but the procedure does not ask for it; add it to itemNos or drop it here`,
        );
      }
      replacing.add(itemNo);
    });
  });
  procedure.itemNosWithoutAttachment.forEach((itemNo, i) => {
    const at = `${where}: itemNosWithoutAttachment[${i}]`;
    if (!procedure.itemNos.includes(itemNo)) {
      throw invalid(at, `item ${itemNo} is not among the procedure's itemNos`);
    }
    if (replacing.has(itemNo)) {
      throw invalid(
        at,
        `item ${itemNo} replaces an attachment in attachmentsOmitted; list it in one place only`,
      );
    }
  });
  procedure.itemNos.forEach((itemNo, i) => {
    if (!replacing.has(itemNo) && !procedure.itemNosWithoutAttachment.includes(itemNo)) {
      throw invalid(
        `${where}: itemNos[${i}]`,
        `item ${itemNo} replaces no attachment in attachmentsOmitted; map it to the attachment it replaces or list it in itemNosWithoutAttachment`,
      );
    }
  });
}

/**
 * A procedure is a way of carrying out its clause's business, so it is in force only while the
 * clause is: from the clause's first day at the earliest, and, if the clause ends, no later than its
 * last day. Otherwise `authorize` would refuse on days the file says the procedure is in force.
 */
function checkWithinClause(where: string, procedure: ProcedureFile[number], clause: Clause): void {
  if (procedure.effectiveFrom < clause.effectiveFrom) {
    throw invalid(
      where,
      `effectiveFrom ${procedure.effectiveFrom} is before clause ${clause.clauseNo} takes effect (${clause.effectiveFrom})`,
    );
  }
  if (clause.effectiveTo === undefined) return;
  if (procedure.effectiveTo === undefined) {
    throw invalid(
      where,
      `has no effectiveTo but clause ${clause.clauseNo} ends (${clause.effectiveTo}); give it an effectiveTo on or before ${clause.effectiveTo}`,
    );
  }
  if (procedure.effectiveTo > clause.effectiveTo) {
    throw invalid(
      where,
      `effectiveTo ${procedure.effectiveTo} is after clause ${clause.clauseNo} ends (${clause.effectiveTo})`,
    );
  }
}

/** Items defined in `items.yaml` that no clause provision lists: loadable, but never askable. */
function unprovidedItemWarnings(
  itemByNo: ReadonlyMap<ItemNo, InfoItem>,
  clauseByNo: ReadonlyMap<ClauseNo, Clause>,
): string[] {
  const provided = new Set<ItemNo>();
  for (const clause of clauseByNo.values()) {
    for (const provision of clause.provisions) for (const itemNo of provision.itemNos) provided.add(itemNo);
  }
  return [...itemByNo.keys()]
    .filter((itemNo) => !provided.has(itemNo))
    .map(
      (itemNo) =>
        `legal/items.yaml: item ${itemNo}: no provision in legal/clauses.yaml lists it, so no inquiry can ask for it; add it to a clause provision or remove it`,
    );
}

/**
 * Items a clause's provisions list but no procedure under that clause asks for: an inquiry must name a
 * procedure of its clause and ask only for that procedure's items, so nobody can ask for them under it.
 */
function unaskedItemWarnings(
  clauseByNo: ReadonlyMap<ClauseNo, Clause>,
  procedureById: ReadonlyMap<ProcedureId, Procedure>,
): string[] {
  const asked = new Map<ClauseNo, Set<ItemNo>>();
  for (const procedure of procedureById.values()) {
    const items = asked.get(procedure.clauseNo) ?? new Set<ItemNo>();
    for (const itemNo of procedure.itemNos) items.add(itemNo);
    asked.set(procedure.clauseNo, items);
  }
  const warnings: string[] = [];
  for (const clause of clauseByNo.values()) {
    const provided = new Set(clause.provisions.flatMap((provision) => provision.itemNos));
    for (const itemNo of [...provided].sort((a, b) => a - b)) {
      if (asked.get(clause.clauseNo)?.has(itemNo)) continue;
      warnings.push(
        `legal/clauses.yaml: clause ${clause.clauseNo}: a provision lists item ${itemNo}, but no procedure under clause ${clause.clauseNo} asks for it, so no inquiry can; add it to a procedure in legal/procedures.yaml or remove it from the provision`,
      );
    }
  }
  return warnings;
}
