/**
 * The formats of `legal/clauses.yaml`, `legal/procedures.yaml` and `legal/items.yaml`, as zod
 * schemas, and the one way a wrong entry is reported: `ERR_CONFIG_INVALID` naming the file, the entry
 * and the field (`legal/procedures.yaml: procedure 074-01: itemNos.1: …`). Cross-file rules (an item a
 * procedure names must exist…) are `load.ts`'s; these schemas check each file on its own.
 */
import { z } from 'zod';
import { ClauseNo, InstitutionId, InstitutionKind, ItemNo, ProcedureId } from '../../protocol/identifiers.ts';
import { RenkeiError } from '../../shared/errors.ts';

/** A JST calendar day, `YYYY-MM-DD`. */
const DateText = z.iso.date();

/** Who may ask, or be asked: kinds and/or named institutions; at least one of them. */
const Selector = z
  .object({
    kinds: z.array(InstitutionKind).default([]),
    institutions: z.array(InstitutionId).default([]),
  })
  .strict()
  .refine((s) => s.kinds.length + s.institutions.length > 0, 'must name at least one kind or institution');

/** When a clause or procedure is in force, and whether it is modelled where the seeds are silent. */
const InForceAndProvenance = {
  effectiveFrom: DateText,
  effectiveTo: DateText.optional(),
  modelled: z.boolean(),
  source: z.string().optional(),
};

export const ClauseFile = z.array(
  z
    .object({
      clauseNo: ClauseNo,
      business: z.string().min(1),
      businessEn: z.string().min(1),
      law: z.string().min(1),
      lawEn: z.string().min(1),
      requester: Selector,
      provisions: z.array(z.object({ provider: Selector, itemNos: z.array(ItemNo).min(1) }).strict()).min(1),
      ...InForceAndProvenance,
    })
    .strict(),
);
export type ClauseFile = z.infer<typeof ClauseFile>;

/**
 * An attachment the procedure makes unnecessary and the items that replace it. Before issue 10 an entry
 * was the bare name; that shape said which documents go but not which answers make them go, so a clerk
 * could not tell which attachment an answer that did not come still leaves needed. It is refused with
 * a message that shows the new shape rather than read as "replaced by nothing".
 */
const OmittedAttachmentEntry = z
  .object(
    { name: z.string().min(1), nameEn: z.string().min(1), itemNos: z.array(ItemNo).min(1) },
    {
      error: (issue) =>
        typeof issue.input === 'string'
          ? `is a bare name (the old shape); write { name: ${issue.input}, nameEn: ..., itemNos: [...] } with its English name and the items that replace it`
          : 'must be { name, nameEn, itemNos }',
    },
  )
  .strict();

export const ProcedureFile = z.array(
  z
    .object({
      procedureId: ProcedureId,
      clauseNo: ClauseNo,
      name: z.string().min(1),
      nameEn: z.string().min(1),
      appliedTo: z.string().min(1),
      appliedToEn: z.string().min(1),
      itemNos: z.array(ItemNo).min(1),
      attachmentsOmitted: z.array(OmittedAttachmentEntry),
      itemNosWithoutAttachment: z.array(ItemNo).default([]),
      ...InForceAndProvenance,
    })
    .strict(),
);
export type ProcedureFile = z.infer<typeof ProcedureFile>;

const LayoutFieldEntry = z
  .object({
    name: z.string().regex(/^[a-z][A-Za-z0-9]*$/, 'must be a camelCase name'),
    label: z.string().min(1),
    labelEn: z.string().min(1),
    type: z.enum(['string', 'integer', 'boolean', 'date', 'enum']),
    required: z.boolean(),
    maxLength: z.number().int().positive().optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    values: z.array(z.string()).min(1).optional(),
  })
  .strict();

export const ItemFile = z.array(
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
              fields: z.array(LayoutFieldEntry).min(1),
              example: z.record(z.string(), z.unknown()),
            })
            .strict(),
        )
        .min(1),
    })
    .strict(),
);
export type ItemFile = z.infer<typeof ItemFile>;

/** The three files' parsed contents, not yet validated (tests pass small tables this way). */
export interface LegalSource {
  clauses: unknown;
  procedures: unknown;
  items: unknown;
}

/** The file each part of a `LegalSource` is read from, inside the legal directory. */
export const LEGAL_FILES = {
  clauses: 'clauses.yaml',
  procedures: 'procedures.yaml',
  items: 'items.yaml',
} as const satisfies Record<keyof LegalSource, string>;

/**
 * Validate one file's entries against its schema, or throw ERR_CONFIG_INVALID naming the file, the
 * entry (by its id, `key`) and the path of the first problem.
 */
export function parseLegalFile<T>(
  schema: z.ZodType<T[]>,
  data: unknown,
  file: keyof LegalSource,
  key: string,
  noun: string,
): T[] {
  // Once per process: compiling zod's fast path for each object schema costs more than it saves.
  const result = schema.safeParse(data, { jitless: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const index = typeof issue?.path[0] === 'number' ? issue.path[0] : undefined;
  const entry =
    index !== undefined && Array.isArray(data) ? `: ${entryName(data[index], index, key, noun)}` : '';
  const path = issue?.path.slice(1).join('.') ?? '';
  throw invalidLegalFile(
    `legal/${LEGAL_FILES[file]}${entry}${path ? `: ${path}` : ''}`,
    issue?.message ?? 'is invalid',
  );
}

/** `where` is `legal/<file>: <entry>[: <path>]`; the message says what is wrong there. */
export function invalidLegalFile(where: string, message: string): RenkeiError {
  return new RenkeiError('ERR_CONFIG_INVALID', `${where}: ${message}`, { where });
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
