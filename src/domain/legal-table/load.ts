/**
 * Load the legal table from `legal/*.yaml`, validate it whole, and build the indexes `authorize`
 * uses on the hot path. A wrong file fails start-up with `ERR_CONFIG_INVALID` naming the file and
 * the entry, so the operator knows what to fix.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { ClauseNo, InstitutionId, InstitutionKind, ItemNo, ProcedureId } from '../../network/messages.ts';
import { jstDate } from '../../shared/clock.ts';
import { RenkeiError } from '../../shared/errors.ts';
import type {
  Authorization,
  Clause,
  InfoItem,
  InquiryToAuthorize,
  InstitutionSelector,
  LayoutCheck,
  LayoutField,
  LayoutVersion,
  LegalTable,
  Procedure,
  RefusalRule,
} from './types.ts';

const DateText = z.iso.date();

/**
 * A layout field that would carry an Individual Number, by its name or its Japanese label. The
 * exchange layer never holds one (BRIEF: decisions), so the loader refuses such a layout outright.
 */
const INDIVIDUAL_NUMBER_NAME = /individual_?number|my_?number|kojin_?bang/i;
const INDIVIDUAL_NUMBER_LABEL = /個人番号|マイナンバー/;

const Selector = z
  .object({
    kinds: z.array(InstitutionKind).default([]),
    institutions: z.array(InstitutionId).default([]),
  })
  .strict()
  .refine((s) => s.kinds.length + s.institutions.length > 0, 'must name at least one kind or institution');

const ClauseFile = z.array(
  z
    .object({
      clauseNo: ClauseNo,
      business: z.string().min(1),
      businessEn: z.string().min(1),
      law: z.string().min(1),
      requester: Selector,
      provisions: z.array(z.object({ provider: Selector, itemNos: z.array(ItemNo).min(1) }).strict()).min(1),
      effectiveFrom: DateText,
      effectiveTo: DateText.optional(),
      modelled: z.boolean(),
      source: z.string().optional(),
    })
    .strict(),
);

const ProcedureFile = z.array(
  z
    .object({
      procedureId: ProcedureId,
      clauseNo: ClauseNo,
      name: z.string().min(1),
      nameEn: z.string().min(1),
      appliedTo: z.string().min(1),
      itemNos: z.array(ItemNo).min(1),
      attachmentsOmitted: z.array(z.string().min(1)),
      effectiveFrom: DateText,
      effectiveTo: DateText.optional(),
      modelled: z.boolean(),
      source: z.string().optional(),
    })
    .strict(),
);

const Field = z
  .object({
    name: z.string().regex(/^[a-z][A-Za-z0-9]*$/, 'must be a camelCase name'),
    label: z.string().min(1),
    type: z.enum(['string', 'integer', 'boolean', 'date', 'enum']),
    required: z.boolean(),
    maxLength: z.number().int().positive().optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    values: z.array(z.string()).min(1).optional(),
  })
  .strict();

const ItemFile = z.array(
  z
    .object({
      itemNo: ItemNo,
      name: z.string().min(1),
      nameEn: z.string().min(1),
      modelled: z.boolean(),
      layouts: z
        .array(
          z
            .object({
              version: z.string().min(1).max(32),
              effectiveFrom: DateText,
              effectiveTo: DateText.optional(),
              fields: z.array(Field).min(1),
              example: z.record(z.string(), z.unknown()),
            })
            .strict(),
        )
        .min(1),
    })
    .strict(),
);

export interface LegalSource {
  clauses: unknown;
  procedures: unknown;
  items: unknown;
}

const FILES = { clauses: 'clauses.yaml', procedures: 'procedures.yaml', items: 'items.yaml' } as const;

/** The repository's `legal/` directory. */
export const DEFAULT_LEGAL_DIR = join(import.meta.dirname, '..', '..', '..', 'legal');

/** Read and build the legal table from a directory (start-up only; never on a request path). */
export function loadLegalTable(dir: string = DEFAULT_LEGAL_DIR): LegalTable {
  const hash = createHash('sha256');
  const source: Record<string, unknown> = {};
  for (const [key, file] of Object.entries(FILES)) {
    const path = join(dir, file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      throw invalid(`legal/${file}`, `cannot be read from ${path}`);
    }
    hash.update(file).update('\0').update(text).update('\0');
    try {
      source[key] = parse(text);
    } catch (error) {
      throw invalid(
        `legal/${file}`,
        `is not valid YAML: ${error instanceof Error ? error.message : 'parse error'}`,
      );
    }
  }
  return buildLegalTable(source as unknown as LegalSource, hash.digest('hex'));
}

/** Build a legal table from parsed data (tests build small ones this way). */
export function buildLegalTable(source: LegalSource, digest?: string): LegalTable {
  const items = parseFile(ItemFile, source.items, 'items', 'itemNo', 'item');
  const clauses = parseFile(ClauseFile, source.clauses, 'clauses', 'clauseNo', 'clause');
  const procedures = parseFile(ProcedureFile, source.procedures, 'procedures', 'procedureId', 'procedure');

  const itemByNo = new Map<number, InfoItem>();
  const layoutSchemas = new Map<LayoutVersion, z.ZodType>();
  for (const item of items) {
    const where = `legal/items.yaml: item ${item.itemNo}`;
    if (itemByNo.has(item.itemNo)) throw invalid(where, 'is defined twice');
    const layouts = [...item.layouts].sort((a, b) => a.effectiveFrom.localeCompare(b.effectiveFrom));
    layouts.forEach((layout, i) => {
      const at = `${where}: layout ${layout.version}`;
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
        (f) => INDIVIDUAL_NUMBER_NAME.test(f.name) || INDIVIDUAL_NUMBER_LABEL.test(f.label),
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
        if (field.type === 'enum' && !field.values)
          throw invalid(at, `enum field ${field.name} has no values`);
      }
      const schema = layoutSchema(layout.fields);
      const check = schema.safeParse(layout.example);
      if (!check.success) throw invalid(at, `its example is invalid: ${problemsOf(check.error)[0] ?? ''}`);
      layoutSchemas.set(layout, schema);
    });
    itemByNo.set(item.itemNo, { ...item, layouts: layouts });
  }

  const clauseByNo = new Map<string, Clause>();
  for (const clause of clauses) {
    const where = `legal/clauses.yaml: clause ${clause.clauseNo}`;
    if (clauseByNo.has(clause.clauseNo)) throw invalid(where, 'is defined twice');
    if (clause.effectiveTo !== undefined && clause.effectiveTo < clause.effectiveFrom) {
      throw invalid(where, 'effectiveTo is before effectiveFrom');
    }
    clause.provisions.forEach((provision, i) => {
      for (const itemNo of provision.itemNos) {
        if (!itemByNo.has(itemNo)) {
          throw invalid(`${where}: provisions[${i}]`, `item ${itemNo} is not defined in legal/items.yaml`);
        }
      }
    });
    clauseByNo.set(clause.clauseNo, clause);
  }

  const procedureById = new Map<string, Procedure>();
  for (const procedure of procedures) {
    const where = `legal/procedures.yaml: procedure ${procedure.procedureId}`;
    if (procedureById.has(procedure.procedureId)) throw invalid(where, 'is defined twice');
    if (procedure.effectiveTo !== undefined && procedure.effectiveTo < procedure.effectiveFrom) {
      throw invalid(where, 'effectiveTo is before effectiveFrom');
    }
    const clause = clauseByNo.get(procedure.clauseNo);
    if (!clause) throw invalid(where, `clause ${procedure.clauseNo} is not defined in legal/clauses.yaml`);
    procedure.itemNos.forEach((itemNo, i) => {
      if (!itemByNo.has(itemNo)) {
        throw invalid(`${where}: itemNos[${i}]`, `item ${itemNo} is not defined in legal/items.yaml`);
      }
      if (!clause.provisions.some((p) => p.itemNos.includes(itemNo))) {
        throw invalid(
          `${where}: itemNos[${i}]`,
          `no provider of clause ${clause.clauseNo} may give item ${itemNo}`,
        );
      }
    });
    procedureById.set(procedure.procedureId, procedure);
  }

  const frozen = {
    digest: digest ?? createHash('sha256').update(JSON.stringify(source)).digest('hex'),
    clauses: [...clauseByNo.values()],
    procedures: [...procedureById.values()],
    items: [...itemByNo.values()],
  };

  function layoutFor(itemNo: ItemNo, on: Date): LayoutVersion | undefined {
    const day = jstDate(on);
    return itemByNo.get(itemNo)?.layouts.find((l) => inForce(day, l.effectiveFrom, l.effectiveTo));
  }

  return {
    ...frozen,
    findClause: (clauseNo) => clauseByNo.get(clauseNo),
    findProcedure: (procedureId) => procedureById.get(procedureId),
    findItem: (itemNo) => itemByNo.get(itemNo),
    layoutFor,
    authorize: (inquiry) => authorize(inquiry, clauseByNo, procedureById, itemByNo),
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
      return { ok: false, version: layout.version, problems: problemsOf(result.error) };
    },
  };
}

function authorize(
  inquiry: InquiryToAuthorize,
  clauses: Map<string, Clause>,
  procedures: Map<string, Procedure>,
  items: Map<number, InfoItem>,
): Authorization {
  const day = jstDate(inquiry.on);
  const clause = clauses.get(inquiry.clauseNo);
  if (!clause) return refuse('unknown_clause', `Appended Table 2 has no clause ${inquiry.clauseNo}.`);
  if (!inForce(day, clause.effectiveFrom, clause.effectiveTo)) {
    return refuse(
      'clause_not_in_force',
      `Clause ${clause.clauseNo} is not in force on ${day} (in force from ${clause.effectiveFrom}${clause.effectiveTo ? ` to ${clause.effectiveTo}` : ''}).`,
    );
  }
  const procedure = procedures.get(inquiry.procedureId);
  if (!procedure) return refuse('unknown_procedure', `No procedure ${inquiry.procedureId} is defined.`);
  if (procedure.clauseNo !== clause.clauseNo) {
    return refuse(
      'procedure_not_under_clause',
      `Procedure ${procedure.procedureId} falls under clause ${procedure.clauseNo}, not clause ${clause.clauseNo}.`,
    );
  }
  if (!inForce(day, procedure.effectiveFrom, procedure.effectiveTo)) {
    return refuse('procedure_not_in_force', `Procedure ${procedure.procedureId} is not in force on ${day}.`);
  }
  if (!selects(clause.requester, inquiry.requester)) {
    return refuse(
      'requester_not_allowed',
      `Clause ${clause.clauseNo} does not let a ${inquiry.requester.kind} (${inquiry.requester.id}) make inquiries; see legal/clauses.yaml.`,
    );
  }
  const provisions = clause.provisions.filter((p) => selects(p.provider, inquiry.provider));
  if (provisions.length === 0) {
    return refuse(
      'provider_not_allowed',
      `Clause ${clause.clauseNo} names no ${inquiry.provider.kind} (${inquiry.provider.id}) as a provider; see legal/clauses.yaml.`,
    );
  }
  for (const itemNo of inquiry.itemNos) {
    if (!items.has(itemNo)) return refuse('unknown_item', `No item [${itemNo}] is defined.`);
    if (!provisions.some((p) => p.itemNos.includes(itemNo))) {
      return refuse(
        'item_not_allowed',
        `Clause ${clause.clauseNo} does not let ${inquiry.provider.id} provide item [${itemNo}].`,
      );
    }
    if (!procedure.itemNos.includes(itemNo)) {
      return refuse(
        'item_not_in_procedure',
        `Procedure ${procedure.procedureId} does not ask for item [${itemNo}]; it asks for ${procedure.itemNos.map((n) => `[${n}]`).join(' ')}.`,
      );
    }
  }
  return { allowed: true, clause, procedure };
}

function refuse(rule: RefusalRule, message: string): Authorization {
  return { allowed: false, rule, message };
}

function selects(selector: InstitutionSelector, institution: { id: string; kind: string }): boolean {
  return (
    selector.institutions.includes(institution.id) || (selector.kinds as string[]).includes(institution.kind)
  );
}

function inForce(day: string, from: string, to: string | undefined): boolean {
  return day >= from && (to === undefined || day <= to);
}

function layoutSchema(fields: LayoutField[]): z.ZodType {
  const shape: Record<string, z.ZodType> = {};
  for (const field of fields) {
    let schema: z.ZodType;
    switch (field.type) {
      case 'string': {
        let s = z.string();
        if (field.maxLength !== undefined) s = s.max(field.maxLength);
        schema = s;
        break;
      }
      case 'integer': {
        let n = z.number().int();
        if (field.min !== undefined) n = n.min(field.min);
        if (field.max !== undefined) n = n.max(field.max);
        schema = n;
        break;
      }
      case 'boolean':
        schema = z.boolean();
        break;
      case 'date':
        schema = z.iso.date();
        break;
      case 'enum':
        schema = z.enum((field.values ?? ['']) as [string, ...string[]]);
        break;
    }
    shape[field.name] = field.required ? schema : schema.optional();
  }
  return z.object(shape).strict();
}

/** `path: message` for each problem; zod's messages do not echo the rejected value. */
function problemsOf(error: z.ZodError): string[] {
  return error.issues.map((i) => {
    const where = i.path.join('.') || '(record)';
    // zod says "expected number, received undefined" for a missing field; a clerk reads "required".
    if (i.code === 'invalid_type' && i.message.endsWith('received undefined')) {
      return `${where}: is required (${i.expected})`;
    }
    return `${where}: ${i.message}`;
  });
}

function parseFile<T>(schema: z.ZodType<T[]>, data: unknown, file: string, key: string, noun: string): T[] {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const index = typeof issue?.path[0] === 'number' ? issue.path[0] : undefined;
  const entry =
    index !== undefined && Array.isArray(data) ? `: ${entryName(data[index], index, key, noun)}` : '';
  const path = issue?.path.slice(1).join('.') ?? '';
  return fail(`legal/${file}.yaml${entry}${path ? `: ${path}` : ''}`, issue?.message ?? 'is invalid');
}

/**
 * `procedure 074-01` by the entry's own id, or `procedure #3` (1-based) when it has none: an empty
 * list item (`-`) parses as null, and naming it must not itself throw.
 */
function entryName(entry: unknown, index: number, key: string, noun: string): string {
  const id: unknown =
    typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>)[key] : undefined;
  return typeof id === 'string' || typeof id === 'number' ? `${noun} ${id}` : `${noun} #${index + 1}`;
}

function fail(where: string, message: string): never {
  throw invalid(where, message);
}

function invalid(where: string, message: string): RenkeiError {
  return new RenkeiError('ERR_CONFIG_INVALID', `${where}: ${message}`, { where });
}
